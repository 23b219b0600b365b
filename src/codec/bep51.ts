// BEP 51 `sample_infohashes`: the query, the reply (`interval`, `num`, `samples` and the usual node lists), and
// the arithmetic of fitting samples into a datagram.
import type { CompactNode } from './compact.js'
import { CodecError } from './errors.js'
import {
  ascii,
  bytesArg,
  checkWant,
  closeQuery,
  closeReply,
  type FrameOptions,
  int,
  nodesArg,
  openQuery,
  openReply,
  raw,
  sizedArg,
  str,
  writeWant,
} from './krpc-frame.js'
import type { KrpcWant } from './krpc-types.js'

/** Longest `interval` BEP 51 permits, in seconds (6 hours; libtorrent's default). */
export const SAMPLE_INTERVAL_MAX = 21600

const M_SAMPLE = ascii('17:sample_infohashes')
const K_ID = ascii('2:id20:')
const K_INTERVAL = ascii('8:interval')
const K_NODES = ascii('5:nodes')
const K_NODES6 = ascii('6:nodes6')
const K_NUM = ascii('3:num')
const K_SAMPLES = ascii('7:samples')
const K_TARGET = ascii('6:target20:')

export interface SampleQueryOptions extends FrameOptions {
  want?: readonly KrpcWant[]
}

/** What a `sample_infohashes` reply carries besides `id`. */
export interface SampleReplyFields {
  /** Seconds (0-21600) before the requester should ask again. */
  interval: number
  /** How many infohashes we store. */
  num: number
  /** The sample: concatenated 20-byte infohashes, or a list of them. Always sent, even empty (BEP 51). */
  samples: Uint8Array | readonly Uint8Array[]
  nodes?: Uint8Array | readonly CompactNode[]
  nodes6?: Uint8Array | readonly CompactNode[]
}

/** `sample_infohashes` query; `target` only steers the nodes returned. */
export function buildSampleInfohashesQuery(
  tid: Uint8Array,
  nid: Uint8Array,
  target: Uint8Array,
  options?: SampleQueryOptions,
): Uint8Array {
  bytesArg(tid, 'transaction id')
  sizedArg(nid, 20, 'node id')
  sizedArg(target, 20, 'target')
  checkWant(options?.want)
  openQuery()
  raw(K_ID)
  raw(nid)
  raw(K_TARGET)
  raw(target)
  writeWant(options?.want)
  return closeQuery(M_SAMPLE, tid, options)
}

/** Reply to `sample_infohashes`. */
export function buildSampleInfohashesReply(
  tid: Uint8Array,
  nid: Uint8Array,
  fields: SampleReplyFields,
  options?: FrameOptions,
): Uint8Array {
  bytesArg(tid, 'transaction id')
  sizedArg(nid, 20, 'node id')
  const { interval, num } = fields
  if (!Number.isInteger(interval) || interval < 0 || interval > SAMPLE_INTERVAL_MAX) {
    throw new CodecError('BAD_VALUE', `interval must be 0-${SAMPLE_INTERVAL_MAX}, got ${interval}`)
  }
  if (!Number.isSafeInteger(num) || num < 0) throw new CodecError('BAD_VALUE', `num must be ≥ 0, got ${num}`)
  const samples = joinSamples(fields.samples)
  const n4 = fields.nodes === undefined ? undefined : nodesArg(fields.nodes, 4)
  const n6 = fields.nodes6 === undefined ? undefined : nodesArg(fields.nodes6, 6)
  openReply(options)
  raw(K_ID)
  raw(nid)
  raw(K_INTERVAL)
  int(interval)
  if (n4 !== undefined) {
    raw(K_NODES)
    str(n4)
  }
  if (n6 !== undefined) {
    raw(K_NODES6)
    str(n6)
  }
  raw(K_NUM)
  int(num)
  raw(K_SAMPLES)
  str(samples)
  return closeReply(tid, options)
}

function joinSamples(samples: Uint8Array | readonly Uint8Array[]): Uint8Array {
  if (samples instanceof Uint8Array) {
    if (samples.length % 20 !== 0) throw new CodecError('BAD_LENGTH', 'samples must be a multiple of 20 bytes')
    return samples
  }
  const out = new Uint8Array(samples.length * 20)
  samples.forEach((s, i) => {
    out.set(sizedArg(s, 20, 'a sample'), i * 20)
  })
  return out
}

/** The infohashes of a reply's `samples` (views into it). */
export function splitSamples(samples: Uint8Array): Uint8Array[] {
  if (samples.length % 20 !== 0) throw new CodecError('BAD_LENGTH', 'samples must be a multiple of 20 bytes')
  const out: Uint8Array[] = []
  for (let i = 0; i < samples.length; i += 20) out.push(samples.subarray(i, i + 20))
  return out
}

/**
 * How many samples fit in `room` bytes of a reply (what is left under the packet limit once the rest of the
 * reply is written with an empty `samples`): each costs 20 bytes, plus the growth of the length prefix.
 */
export function samplesThatFit(room: number): number {
  if (room <= 0) return 0
  // An empty sample is written "0:"; n samples "<digits of 20n>:" + 20n bytes.
  let n = Math.floor(room / 20)
  while (n > 0 && String(20 * n).length - 1 + 20 * n > room) n--
  return n
}
