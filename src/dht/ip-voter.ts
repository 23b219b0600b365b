// Learns our external IP from the `ip` field other nodes put in their replies (BEP 42), one vote per voter IP,
// as libtorrent's ip_voter does. A new address wins once it has at least `minVotes` voters and more than the
// current one; the window of voters is capped and slides, so a changed address is picked up again.

export interface IpVoterOptions {
  /** Distinct voters needed before an address is believed. Default 4. */
  minVotes?: number
  /** Most recent voters remembered. Default 50. */
  maxVoters?: number
}

export class IpVoter {
  private readonly votes = new Map<string, string>() // voter IP → the address it saw
  private readonly counts = new Map<string, number>()
  private current: string | undefined
  readonly minVotes: number
  readonly maxVoters: number

  constructor(opts: IpVoterOptions = {}) {
    this.minVotes = opts.minVotes ?? 4
    this.maxVoters = opts.maxVoters ?? 50
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
    const cur = this.current === undefined ? 0 : (this.counts.get(this.current) ?? 0)
    if (n <= cur) return undefined
    this.current = seen
    return seen
  }

  private uncount(seen: string): void {
    const n = (this.counts.get(seen) ?? 1) - 1
    if (n <= 0) this.counts.delete(seen)
    else this.counts.set(seen, n)
  }
}
