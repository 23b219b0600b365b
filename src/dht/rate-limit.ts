// Per-source rate limit with temporary bans (libtorrent's dos_blocker does the same: ≥50 packets in 10 s bans an
// IP for 5 minutes). A token bucket per source: `perSecond` sustained, `burst` at once; a source that overdraws
// is banned for `banMs`. Both maps are capped, so a spoofed flood from many addresses costs bounded memory — and
// they are separate, so fresh sources can never push a ban out: active sources are forgotten least recently seen
// first, bans only by other bans (the one that ends soonest), after at least `maxBans` of them.

export interface RateLimitOptions {
  now: () => number
  /** Sustained packets per second per source. Default 50. */
  perSecond?: number
  /** Packets a source may send at once before the sustained rate applies. Default 4 × perSecond. */
  burst?: number
  /** Ban length after a source overdraws. Default 5 minutes. */
  banMs?: number
  /** Sources tracked at once (the least recently seen is forgotten first). Default 10,000. */
  maxEntries?: number
  /** Bans kept at once (the one ending soonest goes first). Default maxEntries. */
  maxBans?: number
}

/**
 * One number per source (GCRA, the token bucket in another form): the time at which its bucket would be full
 * again. A packet adds one interval; a source whose time runs more than `burst` intervals ahead has overdrawn.
 * A number per entry instead of an object: a node talks to hundreds of sources, and this map was a fifth of an
 * idle node's heap.
 */
export class RateLimiter {
  /** Active sources, least recently seen first. */
  private readonly entries = new Map<string, number>()
  /** Banned sources → end of the ban; bans all last `banMs`, so insertion order is ending order. */
  private readonly bansByEnd = new Map<string, number>()
  private readonly now: () => number
  readonly perSecond: number
  readonly burst: number
  readonly banMs: number
  readonly maxEntries: number
  readonly maxBans: number
  /** Milliseconds one packet costs. */
  private readonly interval: number
  /** How far ahead of now a source's time may run. */
  private readonly window: number
  /** Sources banned so far (a counter, for stats). */
  bans = 0

  constructor(opts: RateLimitOptions) {
    this.now = opts.now
    this.perSecond = opts.perSecond ?? 50
    this.burst = opts.burst ?? this.perSecond * 4
    this.banMs = opts.banMs ?? 5 * 60_000
    this.maxEntries = opts.maxEntries ?? 10_000
    this.maxBans = opts.maxBans ?? this.maxEntries
    this.interval = 1000 / this.perSecond
    this.window = this.burst * this.interval
  }

  /** Sources remembered: active and banned. */
  get size(): number {
    return this.entries.size + this.bansByEnd.size
  }

  /** Counts one packet from `key`; false if the source is (now) banned and the packet must be dropped. */
  allow(key: string): boolean {
    const now = this.now()
    const end = this.bansByEnd.get(key)
    if (end !== undefined) {
      if (end > now) return false
      this.bansByEnd.delete(key)
    }
    const v = this.entries.get(key)
    if (v === undefined) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string)
    } else {
      // Least recently seen first: a source that keeps talking stays.
      this.entries.delete(key)
    }
    // A full bucket starts from now.
    const next = (v === undefined || v < now ? now : v) + this.interval
    if (next - now > this.window + 1e-6) {
      this.ban(key, now)
      return false
    }
    this.entries.set(key, next)
    return true
  }

  private ban(key: string, now: number): void {
    if (this.bansByEnd.size >= this.maxBans) this.bansByEnd.delete(this.bansByEnd.keys().next().value as string)
    this.bansByEnd.set(key, now + this.banMs)
    this.bans++
  }

  /** True while `key` is banned. */
  banned(key: string): boolean {
    const end = this.bansByEnd.get(key)
    return end !== undefined && end > this.now()
  }

  /** Forgets sources that are neither banned nor recently active (called from the node's periodic tick). */
  sweep(): void {
    const now = this.now()
    // A source whose bucket is full again is indistinguishable from a new one.
    for (const [k, v] of this.entries) if (v <= now) this.entries.delete(k)
    for (const [k, end] of this.bansByEnd) {
      if (end > now) break
      this.bansByEnd.delete(k)
    }
  }
}
