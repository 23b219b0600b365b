// Per-network accounting for a store that strangers fill (the peer store; the BEP 44 item store can use it too).
// It knows how many entries each network (/24, /64: net/prefix.ts) and each address holds, which network holds the
// most, and each network's entries oldest first. A full store asks it whom to take room from: only from a network
// that holds more than the newcomer's would — max-min fairness — so no network can evict more than its share, and
// the many small holders (legitimate peers, one entry each) are the last to go.
import { networkPrefix } from '../net/prefix.js'

export interface PrefixQuotaOptions {
  /** Entries one network may hold at most. */
  maxPerPrefix: number
  /** Entries one address may hold at most. */
  maxPerAddress: number
}

/** The accounting identity of a stored entry: the address it came from and that address's network. */
export interface Held {
  readonly host: string
  readonly prefix: string
}

export class PrefixQuota<T extends Held> {
  readonly maxPerPrefix: number
  readonly maxPerAddress: number
  /** Each network's entries, oldest first (a Set keeps insertion order; `touch` re-inserts). */
  private readonly byPrefix = new Map<string, Set<T>>()
  private readonly byAddress = new Map<string, number>()
  /** byCount[n]: the networks holding exactly n entries; `max` is the highest n in use. */
  private readonly byCount: Array<Set<string> | undefined> = []
  private max = 0

  constructor(opts: PrefixQuotaOptions) {
    this.maxPerPrefix = Math.max(1, opts.maxPerPrefix)
    this.maxPerAddress = Math.max(1, opts.maxPerAddress)
  }

  /** The network key of `host` (for building a `Held`). */
  static prefixOf(host: string): string {
    return networkPrefix(host)
  }

  /** Networks holding anything. */
  get prefixes(): number {
    return this.byPrefix.size
  }

  /** Addresses holding anything. */
  get addresses(): number {
    return this.byAddress.size
  }

  /** Entries `prefix` holds. */
  count(prefix: string): number {
    return this.byPrefix.get(prefix)?.size ?? 0
  }

  /** Entries the address `host` holds. */
  addressCount(host: string): number {
    return this.byAddress.get(host) ?? 0
  }

  /** True when one more entry from `h` stays within the per-network and per-address caps. */
  fits(h: Held): boolean {
    return this.count(h.prefix) < this.maxPerPrefix && this.addressCount(h.host) < this.maxPerAddress
  }

  add(entry: T): void {
    let set = this.byPrefix.get(entry.prefix)
    if (!set) {
      set = new Set()
      this.byPrefix.set(entry.prefix, set)
    }
    if (set.has(entry)) return
    this.move(entry.prefix, set.size, set.size + 1)
    set.add(entry)
    this.byAddress.set(entry.host, (this.byAddress.get(entry.host) ?? 0) + 1)
  }

  delete(entry: T): void {
    const set = this.byPrefix.get(entry.prefix)
    if (!set?.delete(entry)) return
    this.move(entry.prefix, set.size + 1, set.size)
    if (set.size === 0) this.byPrefix.delete(entry.prefix)
    const a = (this.byAddress.get(entry.host) ?? 1) - 1
    if (a === 0) this.byAddress.delete(entry.host)
    else this.byAddress.set(entry.host, a)
  }

  /** Marks `entry` as the newest of its network (a refresh). */
  touch(entry: T): void {
    const set = this.byPrefix.get(entry.prefix)
    if (set?.delete(entry)) set.add(entry)
  }

  /** `prefix`'s entries, oldest first. Do not add or delete while iterating. */
  entries(prefix: string): IterableIterator<T> {
    return (this.byPrefix.get(prefix) ?? new Set<T>()).values()
  }

  /** The oldest entry of `h`'s address (when it is at its cap), else of its network. */
  oldestOwn(h: Held): T | undefined {
    const byAddress = this.addressCount(h.host) >= this.maxPerAddress
    for (const e of this.entries(h.prefix)) if (!byAddress || e.host === h.host) return e
    return undefined
  }

  /** A network holding the most entries (undefined when empty). */
  heaviest(): string | undefined {
    const set = this.byCount[this.max]
    if (!set) return undefined
    for (const p of set) return p
    return undefined
  }

  /**
   * The network a full store may take one entry from to admit one from `newcomer`: the heaviest, when it holds at
   * least two more than the newcomer (after the swap it still holds as many); the newcomer's own when it is itself
   * among the heaviest (it replaces its own oldest); otherwise none — the store refuses rather than evict a network
   * that holds no more than its share.
   */
  victimFor(newcomer: string): string | undefined {
    const q = this.heaviest()
    if (q === undefined) return undefined
    const mine = this.count(newcomer)
    if (this.max > mine + 1) return q
    if (mine === this.max && mine > 0) return newcomer
    return undefined
  }

  private move(prefix: string, from: number, to: number): void {
    // The sets stay allocated once made: a flood moves networks between the same few levels.
    if (from > 0) this.byCount[from]?.delete(prefix)
    if (to > 0) {
      let s = this.byCount[to]
      if (!s) {
        s = new Set()
        this.byCount[to] = s
      }
      s.add(prefix)
    }
    if (to > this.max) this.max = to
    while (this.max > 0 && !this.byCount[this.max]?.size) this.max--
  }
}
