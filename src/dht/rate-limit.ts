// Per-source rate limit with temporary bans (libtorrent's dos_blocker does the same: ≥50 packets in 10 s bans an
// IP for 5 minutes). A token bucket per source: `perSecond` sustained, `burst` at once; a source that overdraws
// is banned for `banMs`. The maps are capped, so a spoofed flood from many addresses costs bounded memory.

export interface RateLimitOptions {
  now: () => number
  /** Sustained packets per second per source. Default 50. */
  perSecond?: number
  /** Packets a source may send at once before the sustained rate applies. Default 4 × perSecond. */
  burst?: number
  /** Ban length after a source overdraws. Default 5 minutes. */
  banMs?: number
  /** Most sources tracked at once (the oldest is forgotten first). Default 10,000. */
  maxEntries?: number
}

/**
 * One number per source (GCRA, the token bucket in another form): the time at which its bucket would be full
 * again. A packet adds one interval; a source whose time runs more than `burst` intervals ahead has overdrawn.
 * A banned source maps to minus the end of its ban. A number per entry instead of an object: a node talks to
 * hundreds of sources, and this map was a fifth of an idle node's heap.
 */
export class RateLimiter {
  private readonly entries = new Map<string, number>()
  private readonly now: () => number
  readonly perSecond: number
  readonly burst: number
  readonly banMs: number
  readonly maxEntries: number
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
    this.interval = 1000 / this.perSecond
    this.window = this.burst * this.interval
  }

  get size(): number {
    return this.entries.size
  }

  /** Counts one packet from `key`; false if the source is (now) banned and the packet must be dropped. */
  allow(key: string): boolean {
    const now = this.now()
    const v = this.entries.get(key)
    if (v === undefined) {
      if (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next().value as string
        this.entries.delete(oldest)
      }
    } else if (v < 0) {
      if (-v > now) return false
    }
    // A full bucket (or a ban just over) starts from now.
    const full = v === undefined || v < 0 || v < now ? now : v
    const next = full + this.interval
    if (next - now > this.window + 1e-6) {
      this.entries.set(key, -(now + this.banMs))
      this.bans++
      return false
    }
    this.entries.set(key, next)
    return true
  }

  /** True while `key` is banned. */
  banned(key: string): boolean {
    const v = this.entries.get(key)
    return v !== undefined && v < 0 && -v > this.now()
  }

  /** Forgets sources that are neither banned nor recently active (called from the node's periodic tick). */
  sweep(): void {
    const now = this.now()
    // A source whose bucket is full again is indistinguishable from a new one.
    for (const [k, v] of this.entries) if (v >= 0 ? v <= now : -v <= now) this.entries.delete(k)
  }
}
