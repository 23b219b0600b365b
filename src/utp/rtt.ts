// Round-trip time and retransmission timeout (BEP 29 "timeouts"): smoothed rtt and variance from packets sent
// once (Karn), RTO = max(rtt + 4·var, min), doubled for each consecutive timeout and capped.

export interface RttOptions {
  /** Lower bound of the retransmission timeout, ms. @default 500 (BEP 29; libutp uses 1000) */
  minRto?: number
  /** Upper bound of the backed-off timeout, ms. @default 60000 */
  maxRto?: number
  /** Timeout before the first sample, ms. @default 1000 */
  initialRto?: number
}

export class RttEstimator {
  /** Smoothed round-trip time, ms (0 until the first sample). */
  rtt = 0
  rttVar = 0
  /** Consecutive timeouts since the last acknowledged progress. */
  backoff = 0
  private base: number
  private readonly minRto: number
  private readonly maxRto: number
  private hasSample = false

  constructor(opts: RttOptions = {}) {
    this.minRto = opts.minRto ?? 500
    this.maxRto = opts.maxRto ?? 60_000
    this.base = opts.initialRto ?? 1000
  }

  /** Feeds the round trip of one packet that was sent only once. */
  sample(ms: number): void {
    if (ms < 0) ms = 0
    if (!this.hasSample) {
      this.hasSample = true
      this.rtt = ms
      this.rttVar = ms / 2
    } else {
      const delta = this.rtt - ms
      this.rttVar += (Math.abs(delta) - this.rttVar) / 4
      this.rtt += (ms - this.rtt) / 8
    }
    this.base = Math.max(this.rtt + 4 * this.rttVar, this.minRto)
  }

  /** The current timeout including back-off, ms. */
  get rto(): number {
    return Math.min(this.base * 2 ** this.backoff, this.maxRto)
  }

  onTimeout(): void {
    if (this.backoff < 30) this.backoff++
  }

  /** Acknowledged progress ends a run of timeouts. */
  onProgress(): void {
    this.backoff = 0
  }
}
