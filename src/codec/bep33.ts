// BEP 33 scrape bloom filters: 256 bytes (m = 2048 bits), k = 2 bit positions per inserted IP taken from the
// SHA-1 of the address bytes (4 for IPv4, 16 for IPv6), union by OR, and the BEP's population estimate. SHA-1
// is passed in (`HashFunction`): the codec has no crypto.
import type { HashFunction } from './bep44.js'
import { CodecError } from './errors.js'
import { ipToBytes, unmapV4 } from './ip.js'

/** Size of a BEP 33 filter on the wire (`BFsd`, `BFpe`). */
export const BLOOM_FILTER_BYTES = 256
const M = BLOOM_FILTER_BYTES * 8
const K = 2

/** A BEP 33 bloom filter over a set of IP addresses. */
export class ScrapeBloomFilter {
  /** The 256 filter bytes, as sent in `BFsd`/`BFpe`. */
  readonly bytes: Uint8Array

  /** An empty filter, or a copy of received filter bytes (256, else `CodecError('BAD_LENGTH')`). */
  constructor(bytes?: Uint8Array) {
    if (bytes === undefined) {
      this.bytes = new Uint8Array(BLOOM_FILTER_BYTES)
      return
    }
    if (!(bytes instanceof Uint8Array) || bytes.length !== BLOOM_FILTER_BYTES) {
      throw new CodecError('BAD_LENGTH', `a scrape bloom filter is ${BLOOM_FILTER_BYTES} bytes`)
    }
    this.bytes = bytes.slice()
  }

  /** Inserts an address by the SHA-1 of its bytes (BEP 33: the first two little-endian 16-bit words, mod 2048). */
  insertHash(hash: Uint8Array): void {
    if (hash.length < 4) throw new CodecError('BAD_LENGTH', 'a bloom filter hash needs at least 4 bytes')
    const i1 = (hash[0] | (hash[1] << 8)) % M
    const i2 = (hash[2] | (hash[3] << 8)) % M
    this.bytes[i1 >> 3] |= 1 << (i1 & 7)
    this.bytes[i2 >> 3] |= 1 << (i2 & 7)
  }

  /**
   * Inserts an IP address: 4 or 16 bytes, or text. A v4-mapped IPv6 address counts as its IPv4 address, so a
   * peer is the same member whichever socket it announced on.
   */
  insertIP(ip: Uint8Array | string, sha1: HashFunction): void {
    this.insertHash(sha1(addressBytes(ip)))
  }

  /** Whether `ip` may be in the set (false positives possible, false negatives not). */
  mightContain(ip: Uint8Array | string, sha1: HashFunction): boolean {
    const h = sha1(addressBytes(ip))
    const i1 = (h[0] | (h[1] << 8)) % M
    const i2 = (h[2] | (h[3] << 8)) % M
    return (this.bytes[i1 >> 3] & (1 << (i1 & 7))) !== 0 && (this.bytes[i2 >> 3] & (1 << (i2 & 7))) !== 0
  }

  /** Adds every member of `other` (OR of the bits): the filter of the union of the two sets. */
  union(other: ScrapeBloomFilter | Uint8Array): this {
    const o = other instanceof ScrapeBloomFilter ? other.bytes : new ScrapeBloomFilter(other).bytes
    for (let i = 0; i < BLOOM_FILTER_BYTES; i++) this.bytes[i] |= o[i]
    return this
  }

  /** The estimated number of distinct addresses inserted (see `bloomEstimate`). */
  estimate(): number {
    return bloomEstimate(this.bytes)
  }
}

function addressBytes(ip: Uint8Array | string): Uint8Array {
  const b = typeof ip === 'string' ? ipToBytes(ip) : ip
  if (b.length !== 4 && b.length !== 16) throw new CodecError('BAD_LENGTH', 'an IP address is 4 or 16 bytes')
  return unmapV4(b)
}

/**
 * BEP 33's size estimate of a filter: log(c / m) / (k · log(1 - 1/m)) with c = min(m - 1, zero bits). An empty
 * filter is 0 (the formula would give 0.5); a full one (no zero bit) is read as c = 1, about 7,800: the most a
 * filter can tell (BEP 33 keeps sets under 6,000).
 */
export function bloomEstimate(bytes: Uint8Array): number {
  if (bytes.length !== BLOOM_FILTER_BYTES) throw new CodecError('BAD_LENGTH', 'a scrape bloom filter is 256 bytes')
  let zeros = 0
  for (let i = 0; i < BLOOM_FILTER_BYTES; i++) zeros += 8 - popcount8(bytes[i])
  if (zeros === M) return 0
  const c = Math.max(1, Math.min(M - 1, zeros))
  return Math.log(c / M) / (K * Math.log1p(-1 / M))
}

/** The estimated size of the union of several nodes' filters (how a scrape adds up the K closest nodes). */
export function estimateUnion(filters: Iterable<Uint8Array>): number {
  const u = new ScrapeBloomFilter()
  for (const f of filters) u.union(f)
  return u.estimate()
}

function popcount8(x: number): number {
  x = x - ((x >> 1) & 0x55)
  x = (x & 0x33) + ((x >> 2) & 0x33)
  return (x + (x >> 4)) & 0x0f
}
