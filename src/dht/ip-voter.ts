// Learns our external IP from the `ip` field other nodes put in their replies (BEP 42), one vote per voter IP,
// as libtorrent's ip_voter does. The first address is believed once it has `minVotes` voters. Replacing it takes
// twice its votes and `minChangeMs` since the last change: each change gives us a new BEP 42 id, so votes split
// between two addresses (a NAT with two egress IPs, or a few liars) must not flip it back and forth. The window
// of voters is capped and slides, so a real change of address is still picked up.

export interface IpVoterOptions {
  /** Distinct voters needed before an address is believed. Default 4. */
  minVotes?: number
  /** Most recent voters remembered. Default 50. */
  maxVoters?: number
  /** Least time between two changes of address, ms. Default 5 minutes. */
  minChangeMs?: number
  /** The clock for `minChangeMs`. Default: none (no time rule). */
  now?: () => number
}

export class IpVoter {
  private readonly votes = new Map<string, string>() // voter IP → the address it saw
  private readonly counts = new Map<string, number>()
  private current: string | undefined
  readonly minVotes: number
  readonly maxVoters: number
  private readonly minChangeMs: number
  private readonly now: (() => number) | undefined
  private changedAt = Number.NEGATIVE_INFINITY

  constructor(opts: IpVoterOptions = {}) {
    this.minVotes = opts.minVotes ?? 4
    this.maxVoters = opts.maxVoters ?? 50
    this.minChangeMs = opts.minChangeMs ?? 5 * 60_000
    this.now = opts.now
  }

  /** Our external IP as far as we know. */
  get external(): string | undefined {
    return this.current
  }

  /** Records `voter`'s view of our address; returns the new external IP when this vote changed it. */
  vote(voter: string, seen: string): string | undefined {
    const prev = this.votes.get(voter)
    if (prev === seen) return undefined
    if (prev !== undefined) this.uncount(prev)
    this.votes.delete(voter)
    if (this.votes.size >= this.maxVoters) {
      const [oldVoter, oldSeen] = this.votes.entries().next().value as [string, string]
      this.votes.delete(oldVoter)
      this.uncount(oldSeen)
    }
    this.votes.set(voter, seen)
    const n = (this.counts.get(seen) ?? 0) + 1
    this.counts.set(seen, n)
    if (seen === this.current || n < this.minVotes) return undefined
    if (this.current !== undefined) {
      const cur = this.counts.get(this.current) ?? 0
      if (n < 2 * cur || n === cur) return undefined
      if (this.now && this.now() - this.changedAt < this.minChangeMs) return undefined
    }
    this.current = seen
    if (this.now) this.changedAt = this.now()
    return seen
  }

  private uncount(seen: string): void {
    const n = (this.counts.get(seen) ?? 1) - 1
    if (n <= 0) this.counts.delete(seen)
    else this.counts.set(seen, n)
  }
}
