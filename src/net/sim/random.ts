// A fast seeded PRNG for simulations: xoshiro128** (Blackman & Vigna), 128-bit state, seeded through splitmix32
// so that any 32-bit seed (including 0) gives a well-mixed state. Not for cryptography.
import type { Random } from '../types.js'

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0
  let z = state.s
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** Seeded, reproducible randomness implementing `Random`, plus the helpers simulations need. */
export class SeededRandom implements Random {
  private a: number
  private b: number
  private c: number
  private d: number

  /** `seed`: any integer (only the low 32 bits are used) or a string (hashed). Default: 1. */
  constructor(seed: number | string = 1) {
    const st = { s: typeof seed === 'string' ? hashString(seed) : seed | 0 }
    this.a = splitmix32(st)
    this.b = splitmix32(st)
    this.c = splitmix32(st)
    this.d = splitmix32(st)
  }

  /** A generator with the raw xoshiro128** state (not all zero), e.g. to check against the reference vectors. */
  static fromState(a: number, b: number, c: number, d: number): SeededRandom {
    if ((a | b | c | d) === 0) throw new RangeError('xoshiro128** state must not be all zero')
    const r = new SeededRandom(0)
    r.a = a | 0
    r.b = b | 0
    r.c = c | 0
    r.d = d | 0
    return r
  }

  /** Next 32 random bits as an unsigned integer. */
  uint32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return r
  }

  /** A float in [0, 1) with 32 bits of precision. */
  float(): number {
    return this.uint32() / 4294967296
  }

  /** An integer in [min, max) (`max` exclusive). Unbiased for ranges up to 2^32. */
  int(min: number, max: number): number {
    const range = max - min
    if (!(range > 0)) throw new RangeError(`empty range [${min}, ${max})`)
    if (range > 4294967296) return min + Math.floor(this.float() * range)
    // Rejection sampling removes the modulo bias.
    const limit = 4294967296 - (4294967296 % range)
    let x = this.uint32()
    while (x >= limit) x = this.uint32()
    return min + (x % range)
  }

  /** True with probability `p` (0..1). */
  chance(p: number): boolean {
    return p > 0 && (p >= 1 || this.float() < p)
  }

  /** A uniformly chosen element; throws on an empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array')
    return items[this.int(0, items.length)]
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1)
      const x = items[i]
      items[i] = items[j]
      items[j] = x
    }
    return items
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let i = 0
    for (; i + 4 <= n; i += 4) {
      const x = this.uint32()
      out[i] = x
      out[i + 1] = x >>> 8
      out[i + 2] = x >>> 16
      out[i + 3] = x >>> 24
    }
    if (i < n) {
      let x = this.uint32()
      for (; i < n; i++, x >>>= 8) out[i] = x
    }
    return out
  }

  /** An independent generator derived from this one (e.g. one per simulated node), advancing this one. */
  fork(): SeededRandom {
    return new SeededRandom(this.uint32() ^ Math.imul(this.uint32(), 0x27d4eb2d))
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

function hashString(s: string): number {
  // FNV-1a, 32 bits.
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h | 0
}
