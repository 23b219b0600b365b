// The KRPC envelope for the BEP 44 and BEP 51 builders: opens `a`/`r`, then closes it and writes `ip`, `q`, `ro`,
// `t`, `v`, `y` in canonical order, on the same reused scratch buffer as the BEP 5 builders (krpc-writer.ts).
// The builder writes the body's keys itself, in sorted order, between the two.
import { decode } from './bencode.js'
import { utf8 } from './bytes.js'
import { type CompactNode, type CompactPeer, encodeNodes, encodePeer } from './compact.js'
import { CodecError } from './errors.js'
import { ascii, end, finish, int, raw, reset, str } from './krpc-writer.js'

/** Envelope options of the BEP 44/51 builders (the same meaning as in `KrpcOptions`). */
export interface FrameOptions {
  /** Client version `v`; a string is written as UTF-8. */
  v?: Uint8Array | string
  /** BEP 42 `ip` (replies): the requester's address as we see it. */
  ip?: Uint8Array | CompactPeer
  /** BEP 43 `ro: 1` (queries). */
  ro?: boolean
}

const OPEN_Q = ascii('d1:ad')
const OPEN_R = ascii('1:rd')
const D = ascii('d')
const K_IP = ascii('2:ip')
const K_Q = ascii('1:q')
const K_RO = ascii('2:roi1e')
const K_T = ascii('1:t')
const K_V = ascii('1:v')
const END_Q = ascii('1:y1:qe')
const END_R = ascii('1:y1:re')

export function bytesArg(b: unknown, what: string): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new CodecError('NOT_ENCODABLE', `${what} must be a Uint8Array`)
  return b
}

export function sizedArg(b: unknown, size: number, what: string): Uint8Array {
  const x = bytesArg(b, what)
  if (x.length !== size) throw new CodecError('BAD_LENGTH', `${what} must be ${size} bytes, got ${x.length}`)
  return x
}

function ipBytes(ip: Uint8Array | CompactPeer): Uint8Array {
  if (ip instanceof Uint8Array) {
    if (ip.length !== 6 && ip.length !== 18) throw new CodecError('BAD_LENGTH', 'ip must be 6 or 18 bytes')
    return ip
  }
  return encodePeer(ip)
}

function version(o: FrameOptions | undefined): void {
  if (o?.v === undefined) return
  raw(K_V)
  str(typeof o.v === 'string' ? utf8(o.v) : bytesArg(o.v, 'v'))
}

/** Starts a query: `d1:ad`. Check every argument before: a throw after this leaves a half-written message. */
export function openQuery(): void {
  reset()
  raw(OPEN_Q)
}

/** Closes `a` and writes the rest of a query with method `method` (already `<len>:<name>`). */
export function closeQuery(method: Uint8Array, tid: Uint8Array, o: FrameOptions | undefined): Uint8Array {
  end()
  if (o?.ip !== undefined) {
    raw(K_IP)
    str(ipBytes(o.ip))
  }
  raw(K_Q)
  raw(method)
  if (o?.ro) raw(K_RO)
  raw(K_T)
  str(tid)
  version(o)
  raw(END_Q)
  return finish()
}

/** Starts a reply: `d`, `ip` when given, `1:rd`. */
export function openReply(o: FrameOptions | undefined): void {
  const ip = o?.ip === undefined ? undefined : ipBytes(o.ip)
  reset()
  raw(D)
  if (ip !== undefined) {
    raw(K_IP)
    str(ip)
  }
  raw(OPEN_R)
}

/** Closes `r` and writes `t`, `v`, `y`. */
export function closeReply(tid: Uint8Array, o: FrameOptions | undefined): Uint8Array {
  end()
  raw(K_T)
  str(tid)
  version(o)
  raw(END_R)
  return finish()
}

const K_WANT = ascii('4:wantl')
const WANT_N4 = ascii('2:n4')
const WANT_N6 = ascii('2:n6')

/** BEP 32 `want`: `n4`/`n6` only. */
export function checkWant(w: readonly string[] | undefined): void {
  for (const x of w ?? []) {
    if (x !== 'n4' && x !== 'n6') throw new CodecError('NOT_ENCODABLE', `want must list 'n4' or 'n6', got ${x}`)
  }
}

export function writeWant(w: readonly string[] | undefined): void {
  if (w === undefined) return
  raw(K_WANT)
  for (const x of w) raw(x === 'n4' ? WANT_N4 : WANT_N6)
  end()
}

/** Compact nodes of one family as bytes: given bytes (a multiple of 26 or 38) or a list to encode. */
export function nodesArg(nodes: Uint8Array | readonly CompactNode[], family: 4 | 6): Uint8Array {
  if (nodes instanceof Uint8Array) {
    const size = family === 4 ? 26 : 38
    if (nodes.length % size !== 0) {
      throw new CodecError('BAD_LENGTH', `${family === 4 ? 'nodes' : 'nodes6'} must be a multiple of ${size} bytes`)
    }
    return nodes
  }
  return encodeNodes(nodes, family)
}

export { ascii, end, int, raw, str }

/** Checks that `v` is one canonical bencoded value (what BEP 44 signs and hashes); returns it. */
export function canonicalArg(v: unknown, what: string): Uint8Array {
  const b = bytesArg(v, what)
  try {
    decode(b, { strict: true, maxDepth: 16 })
  } catch (e) {
    if (e instanceof CodecError) throw new CodecError('BAD_VALUE', `${what} must be canonical bencode: ${e.message}`)
    throw e
  }
  return b
}
