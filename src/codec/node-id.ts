// Node ids, XOR distance and transaction ids (BEP 5). The codec layer is pure, so randomness comes in as an
// argument: anything with `bytes(n)` (the `Random` seam from net/types, a seeded generator in simulations) or a
// plain `(n) => bytes` function.

import { copyBytes } from './bytes.js'
import { CodecError } from './errors.js'

export const NODE_ID_LENGTH = 20
/** Bits in a node id: bucket indices run 0..160 (160 = the id itself). */
export const NODE_ID_BITS = 160

/** Where random bytes come from: structurally the same as `Random` in net/types, or a bare function. */
export type ByteSource = { bytes(n: number): Uint8Array } | ((n: number) => Uint8Array)

/** `n` bytes from a source, checked: a source returning fewer bytes is a bug worth failing loudly on. */
export function randomBytesFrom(source: ByteSource, n: number): Uint8Array {
  const b = typeof source === 'function' ? source(n) : source.bytes(n)
  if (!(b instanceof Uint8Array) || b.length < n) {
    throw new CodecError('BAD_LENGTH', `random source returned ${b?.length} bytes, wanted ${n}`)
  }
  return b.length === n ? b : b.subarray(0, n)
}

/** True for a 20-byte `Uint8Array`. */
export function isNodeId(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === NODE_ID_LENGTH
}

function checkId(id: Uint8Array, what: string): void {
  if (!isNodeId(id)) {
    throw new CodecError('BAD_LENGTH', `${what} must be ${NODE_ID_LENGTH} bytes, got ${(id as Uint8Array)?.length}`)
  }
}

/** A fresh random 20-byte node id (a copy, so the source's buffer can be reused). */
export function randomNodeId(source: ByteSource): Uint8Array {
  return copyBytes(randomBytesFrom(source, NODE_ID_LENGTH))
}

/** `a XOR b`, the Kademlia distance, as 20 bytes (compare results with `compareBytes`). */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  checkId(a, 'id')
  checkId(b, 'id')
  const out = new Uint8Array(NODE_ID_LENGTH)
  for (let i = 0; i < NODE_ID_LENGTH; i++) out[i] = a[i] ^ b[i]
  return out
}

/**
 * Which of `a` and `b` is closer to `target`: negative if `a`, positive if `b`, 0 if they are equal. Allocation
 * free, so it can sort thousands of candidates.
 */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < NODE_ID_LENGTH; i++) {
    const da = a[i] ^ target[i]
    const db = b[i] ^ target[i]
    if (da !== db) return da - db
  }
  return 0
}

/** Sorts (a copy of) `items` by XOR distance of `idOf(item)` to `target`, closest first. */
export function sortByDistance<T>(target: Uint8Array, items: readonly T[], idOf: (item: T) => Uint8Array): T[] {
  checkId(target, 'target')
  return [...items].sort((x, y) => compareDistance(target, idOf(x), idOf(y)))
}

/** Number of leading bits `a` and `b` share (0..160). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] ^ b[i]
    if (x !== 0) return i * 8 + Math.clz32(x) - 24
  }
  return n * 8
}

/**
 * Bucket index of `other` in the routing table of `own`: the common prefix length, 0 (farthest half of the id
 * space) to 159 (differs only in the last bit); 160 means `other` is `own`.
 */
export function bucketIndex(own: Uint8Array, other: Uint8Array): number {
  checkId(own, 'own id')
  checkId(other, 'id')
  return commonPrefixLength(own, other)
}

/**
 * A random id that shares exactly `prefix` leading bits with `own` (so it falls in bucket `prefix`): used to
 * refresh a bucket with a lookup. `prefix` = 160 returns a copy of `own`.
 */
export function randomIdInBucket(own: Uint8Array, prefix: number, source: ByteSource): Uint8Array {
  checkId(own, 'own id')
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > NODE_ID_BITS) {
    throw new CodecError('BAD_VALUE', `bucket prefix must be 0..160, got ${prefix}`)
  }
  const id = randomNodeId(source)
  if (prefix === NODE_ID_BITS) return copyBytes(own)
  const whole = prefix >> 3
  for (let i = 0; i < whole; i++) id[i] = own[i]
  const bit = 0x80 >> (prefix & 7) // the first differing bit
  const keep = (0xff00 >> (prefix & 7)) & 0xff // bits above it come from `own`
  id[whole] = (own[whole] & keep) | (~own[whole] & bit) | (id[whole] & ~(keep | bit) & 0xff)
  return id
}

/** Default transaction id length: 2 bytes, as libtorrent sends (and matches on). */
export const TRANSACTION_ID_LENGTH = 2

/** A random transaction id (`length` bytes, default 2). */
export function randomTransactionId(source: ByteSource, length = TRANSACTION_ID_LENGTH): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 20) {
    throw new CodecError('BAD_VALUE', `transaction id length must be 1..20, got ${length}`)
  }
  return copyBytes(randomBytesFrom(source, length))
}
