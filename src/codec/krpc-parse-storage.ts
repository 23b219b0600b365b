// The BEP 44 / 51 / 33 part of the KRPC parser: typed `put` arguments and the storage keys of a reply, built from
// the scanner's slots once the schema has checked them.
import { type BValue, decodePrefix } from './bencode.js'
import {
  F_BFPE,
  F_BFSD,
  F_CAS,
  F_INTERVAL,
  F_K,
  F_NUM,
  F_SALT,
  F_SAMPLES,
  F_SEQ,
  F_SIG,
  F_TOKEN,
  F_V,
  FIELDS,
  Kind,
  type Slots,
} from './krpc-schema.js'
import type { PutArgs, ReplyValues } from './krpc-types.js'

/** A checked `put`'s arguments from the slot values `v` and presence bits `p`. */
export function putArgs(id: Uint8Array, v: readonly unknown[], p: number): PutArgs {
  const a: PutArgs = { id, token: v[F_TOKEN] as Uint8Array, v: v[F_V] as Uint8Array }
  if (p & (1 << F_K)) a.k = v[F_K] as Uint8Array
  if (p & (1 << F_SIG)) a.sig = v[F_SIG] as Uint8Array
  if (p & (1 << F_SEQ)) a.seq = v[F_SEQ] as bigint
  if (p & (1 << F_CAS)) a.cas = v[F_CAS] as bigint
  if (p & (1 << F_SALT)) a.salt = v[F_SALT] as Uint8Array
  return a
}

/** Slots of the BEP 44/51/33 reply keys. */
export const STORAGE_REPLY_MASK =
  (1 << F_V) |
  (1 << F_K) |
  (1 << F_SIG) |
  (1 << F_SEQ) |
  (1 << F_SAMPLES) |
  (1 << F_INTERVAL) |
  (1 << F_NUM) |
  (1 << F_BFSD) |
  (1 << F_BFPE)

/** Copies the BEP 44, 51 and 33 keys of a reply into `r` (rare: kept off the common path). */
export function storageReply(r: ReplyValues, v: readonly unknown[], p: number): void {
  if (p & (1 << F_V)) r.v = v[F_V] as Uint8Array
  if (p & (1 << F_K)) r.k = v[F_K] as Uint8Array
  if (p & (1 << F_SIG)) r.sig = v[F_SIG] as Uint8Array
  if (p & (1 << F_SEQ)) r.seq = v[F_SEQ] as bigint
  if (p & (1 << F_SAMPLES)) r.samples = v[F_SAMPLES] as Uint8Array
  if (p & (1 << F_INTERVAL)) r.interval = v[F_INTERVAL] as number
  if (p & (1 << F_NUM)) r.num = v[F_NUM] as number
  if (p & (1 << F_BFSD)) r.BFsd = v[F_BFSD] as Uint8Array
  if (p & (1 << F_BFPE)) r.BFpe = v[F_BFPE] as Uint8Array
}

/**
 * A known key's value where the message does not type it (an unknown query's `a`, a key another method owns):
 * as decoded bencode like any other extra key, not the raw span or bigint the typed field would hold.
 */
export function extraValue(f: number, slots: Slots): unknown {
  const v = slots.v[f]
  if ((slots.bad & (1 << f)) !== 0) return v
  const kind = FIELDS[f].kind
  if (kind === Kind.Raw) return decodePrefix(v as Uint8Array, 0, { strict: false }).value as BValue
  if (kind === Kind.Int64) {
    const n = v as bigint
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
  }
  return v
}
