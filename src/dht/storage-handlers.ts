// Serving BEP 44 `get`/`put`, BEP 51 `sample_infohashes` and the BEP 33 part of `get_peers`, as pure functions of
// the query's arguments, its source and a small context (stores, tokens, the closest nodes). They return the
// reply's fields (without `id`) or a refusal with its KRPC code; the query server frames either.
import { checkSaltSize, checkValueSize, mutableTarget } from '../codec/bep44.js'
import type { GetReplyFields } from '../codec/bep44-build.js'
import type { SampleReplyFields } from '../codec/bep51.js'
import {
  type GetArgs,
  type GetPeersArgs,
  KRPC_ERROR_NAMES,
  KRPC_PROTOCOL_ERROR,
  type PutArgs,
  type SampleInfohashesArgs,
} from '../codec/krpc-types.js'
import type { Endpoint } from '../net/types.js'
import { sha1 } from './bep44-crypto.js'
import type { InfohashSampler } from './infohash-sampler.js'
import type { ItemStore } from './item-store.js'
import type { PeerStore } from './peer-store.js'
import { scrapeFilters } from './scrape-filter.js'

/** BEP 32: keep replies below this many bytes (a `get` with a 1,000-byte value cannot, as in libtorrent). */
const MAX_PACKET = 1024
/**
 * What a `sample_infohashes` reply costs besides its node lists and samples, at most: the envelope with a 20-byte
 * transaction id, `v`, an IPv6 `ip`, `id`, `interval`, `num` up to 10 digits and the `samples` key.
 */
const SAMPLE_OVERHEAD = 150

/** A KRPC error to answer with (BEP 44: 203, 205, 206, 207, 301, 302; 202 for a full store). */
export interface Refusal {
  readonly refused: true
  readonly krpcCode: number
  readonly text: string
}

export function refusal(krpcCode: number, text = KRPC_ERROR_NAMES[krpcCode] ?? 'Error'): Refusal {
  return { refused: true, krpcCode, text }
}

export function isRefusal(x: unknown): x is Refusal {
  return typeof x === 'object' && x !== null && (x as Refusal).refused === true
}

/** Compact `nodes`/`nodes6` for a reply about `target`, as `want` asks (BEP 32). */
export type ClosestCompact = (
  target: Uint8Array,
  want: readonly string[] | undefined,
  from: Endpoint,
) => { nodes?: Uint8Array; nodes6?: Uint8Array }

export interface StorageServeContext {
  readonly items: ItemStore
  readonly peers: PeerStore
  readonly sampler: InfohashSampler
  /** Write tokens bound to the requester's IP and the target (tokens.ts). */
  readonly tokens: {
    issue(host: string, target: Uint8Array): Uint8Array
    check(token: Uint8Array, host: string, target: Uint8Array): boolean
  }
  readonly closestCompact: ClosestCompact
  /** Counts a reason for refusing (stats). */
  drop?(reason: string): void
}

/**
 * BEP 44 `get`: always the closest nodes and a write token; the item's `v` (with `k`, `seq`, `sig` for a mutable
 * one) when stored — with `seq` asked, only when the stored `seq` is newer (else `seq` alone).
 */
export function serveGet(ctx: StorageServeContext, a: GetArgs, from: Endpoint): GetReplyFields {
  const out: GetReplyFields = {
    ...ctx.closestCompact(a.target, a.want, from),
    token: ctx.tokens.issue(from.host, a.target),
  }
  const item = ctx.items.get(a.target, a.seq)
  if (item) Object.assign(out, item)
  return out
}

/**
 * BEP 44 `put`: sizes first (205, 207), the shape of a mutable item (203), then the token, which is bound to the
 * item's target (SHA-1 of `v`, or of `k` ‖ salt); the store checks the signature (206), `cas` (301) and `seq`
 * (302) before keeping anything. Success is an empty reply.
 */
export function servePut(ctx: StorageServeContext, a: PutArgs, from: Endpoint): Record<string, never> | Refusal {
  const size = checkValueSize(a.v) ?? checkSaltSize(a.salt)
  if (size) return refused(ctx, size.code, size.message)
  const mutable = a.k !== undefined || a.sig !== undefined || a.seq !== undefined
  let target: Uint8Array
  if (mutable) {
    if (!(a.k instanceof Uint8Array) || a.k.length !== 32)
      return refused(ctx, KRPC_PROTOCOL_ERROR, "invalid value for 'k'")
    if (!(a.sig instanceof Uint8Array) || a.sig.length !== 64) {
      return refused(ctx, KRPC_PROTOCOL_ERROR, "invalid value for 'sig'")
    }
    if (typeof a.seq !== 'bigint') return refused(ctx, KRPC_PROTOCOL_ERROR, "missing 'seq' key")
    target = mutableTarget(a.k, a.salt, sha1)
  } else {
    target = sha1(a.v)
  }
  if (!(a.token instanceof Uint8Array) || !ctx.tokens.check(a.token, from.host, target)) {
    ctx.drop?.('bad_token')
    return refusal(KRPC_PROTOCOL_ERROR, 'invalid token')
  }
  const r = mutable
    ? ctx.items.putMutable(
        {
          v: a.v,
          k: a.k as Uint8Array,
          sig: a.sig as Uint8Array,
          seq: a.seq as bigint,
          ...(a.salt === undefined ? {} : { salt: a.salt }),
          ...(typeof a.cas === 'bigint' ? { cas: a.cas } : {}),
        },
        from.host,
      )
    : ctx.items.putImmutable(a.v, from.host)
  if (!r.ok) return refused(ctx, r.code, r.message)
  return {}
}

/**
 * BEP 51 `sample_infohashes`: `interval`, `num` and a sample of the info hashes in the peer store (random when
 * they do not all fit, drawn once per interval), as many as the room left in the packet allows.
 */
export function serveSampleInfohashes(
  ctx: StorageServeContext,
  a: SampleInfohashesArgs,
  from: Endpoint,
): SampleReplyFields {
  const n = ctx.closestCompact(a.target, a.want, from)
  const lists = (n.nodes ? n.nodes.length + 12 : 0) + (n.nodes6 ? n.nodes6.length + 13 : 0)
  const sample = ctx.sampler.sample(ctx.peers.infoHashList(), MAX_PACKET - SAMPLE_OVERHEAD - lists)
  return { ...n, interval: sample.interval, num: sample.num, samples: sample.samples }
}

/** BEP 33: the `BFsd`/`BFpe` filters a `get_peers` with `scrape: 1` adds to its reply, else undefined. */
export function scrapeFields(
  peers: PeerStore,
  a: Pick<GetPeersArgs, 'info_hash' | 'scrape'>,
): { BFsd: Uint8Array; BFpe: Uint8Array } | undefined {
  if (a.scrape !== 1) return undefined
  return scrapeFilters(peers.scrapePeers(a.info_hash))
}

function refused(ctx: StorageServeContext, code: number, text: string): Refusal {
  ctx.drop?.(`put_${code}`)
  return refusal(code, text)
}
