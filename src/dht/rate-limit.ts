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

interface Entry {
  tokens: number
  last: number
  bannedUntil: number
}

export class RateLimiter {
  private readonly entries = new Map<string, Entry>()
  private readonly now: () => number
  readonly perSecond: number
  readonly burst: number
  readonly banMs: number
  readonly maxEntries: number
  /** Sources banned so far (a counter, for stats). */
  bans = 0

  constructor(opts: RateLimitOptions) {
    this.now = opts.now
    this.perSecond = opts.perSecond ?? 50
    this.burst = opts.burst ?? this.perSecond * 4
    this.banMs = opts.banMs ?? 5 * 60_000
    this.maxEntries = opts.maxEntries ?? 10_000
  }

  get size(): number {
    return this.entries.size
  }

  /** Counts one packet from `key`; false if the source is (now) banned and the packet must be dropped. */
  allow(key: string): boolean {
    const now = this.now()
    let e = this.entries.get(key)
    if (!e) {
      if (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next().value as string
        this.entries.delete(oldest)
      }
      e = { tokens: this.burst, last: now, bannedUntil: 0 }
      this.entries.set(key, e)
    }
    if (e.bannedUntil > now) return false
    e.tokens = Math.min(this.burst, e.tokens + ((now - e.last) * this.perSecond) / 1000)
    e.last = now
    if (e.tokens < 1) {
      e.bannedUntil = now + this.banMs
      e.tokens = this.burst
      this.bans++
      return false
    }
    e.tokens -= 1
    return true
  }

  /** True while `key` is banned. */
  banned(key: string): boolean {
    const e = this.entries.get(key)
    return e !== undefined && e.bannedUntil > this.now()
  }

  /** Forgets sources that are neither banned nor recently active (called from the node's periodic tick). */
  sweep(): void {
    const now = this.now()
    const idle = (this.burst / this.perSecond) * 1000
    for (const [k, e] of this.entries) if (e.bannedUntil <= now && now - e.last > idle) this.entries.delete(k)
  }
}
