// LEDBAT congestion control as BEP 29 describes it: a delay-based window that grows while the one-way queueing
// delay is under the 100 ms target and shrinks above it, halves on loss, and falls to one packet on a timeout.
// Slow start (as libtorrent does) doubles the window each round trip until the first loss or until the delay
// reaches the target, so fast, clean links fill quickly.

export interface LedbatOptions {
  /** Queueing-delay target, microseconds. @default 100000 */
  targetUs?: number
  /** Window growth at zero delay, bytes per round trip. @default 3000 */
  gain?: number
  /** Smallest congestion window, bytes. @default 2 × packet size floor (3000) */
  minWindow?: number
  /** Largest congestion window, bytes. @default 16 MiB */
  maxWindow?: number
  /** Initial window, bytes. @default 2 packets (2 × 1400) */
  initialWindow?: number
  /** Base-delay history: how long a minimum is remembered, ms. @default 120000 (BEP 29: two minutes) */
  baseHistoryMs?: number
}

/** A sliding minimum over time buckets of one-way delay samples (u32 microseconds, compared with wrap-around). */
export class DelayHistory {
  private readonly buckets: number[] = []
  private bucketStart = -1
  private readonly bucketMs: number
  private readonly count: number
  /** Current minimum, or -1 with no samples. */
  base = -1

  constructor(historyMs: number, buckets = 4) {
    this.count = buckets
    this.bucketMs = historyMs / buckets
  }

  /** Adds a sample; returns it relative to the base (the queueing delay), µs. */
  add(sample: number, nowMs: number): number {
    if (this.bucketStart < 0 || nowMs - this.bucketStart >= this.bucketMs) {
      this.bucketStart = nowMs
      this.buckets.push(sample)
      if (this.buckets.length > this.count) this.buckets.shift()
      this.recompute()
    } else {
      const last = this.buckets.length - 1
      if (lessU32(sample, this.buckets[last])) this.buckets[last] = sample
      if (lessU32(sample, this.base)) this.base = sample
    }
    return (sample - this.base) >>> 0
  }

  private recompute(): void {
    let m = this.buckets[0]
    for (let i = 1; i < this.buckets.length; i++) if (lessU32(this.buckets[i], m)) m = this.buckets[i]
    this.base = m
  }
}

/** a < b on u32 values that may wrap. */
function lessU32(a: number, b: number): boolean {
  return ((a - b) | 0) < 0
}

/**
 * What the sending half needs of a congestion controller: a window, and the events that move it. `Ledbat` is the
 * one we ship; tests drive the sender with a scripted one.
 */
export interface CongestionControl {
  /** Congestion window, bytes. */
  readonly cwnd: number
  readonly ssthresh: number
  /** A one-way delay sample (the peer's timestamp_difference of our packets), µs. 0 means "no sample". */
  onDelaySample(sampleUs: number, nowMs: number): void
  /** Newly acknowledged bytes; `windowLimited` says the window, not the application, held the sender back. */
  onAck(bytes: number, windowLimited: boolean): void
  /** A lost packet: the caller applies this at most once per window. */
  onLoss(): void
  /** A retransmission timeout. */
  onTimeout(): void
  /** A loss turned out spurious: take back the reduction (`cwnd`, `ssthresh` as they were before it). */
  undoLoss(cwnd: number, ssthresh: number): void
}

export class Ledbat implements CongestionControl {
  /** Congestion window, bytes. */
  cwnd: number
  ssthresh = Number.POSITIVE_INFINITY
  slowStart = true
  /** Latest queueing delay, µs. */
  ourDelay = 0
  readonly history: DelayHistory
  private readonly target: number
  private readonly gain: number
  readonly minWindow: number
  readonly maxWindow: number

  constructor(opts: LedbatOptions = {}) {
    this.target = opts.targetUs ?? 100_000
    this.gain = opts.gain ?? 3000
    this.minWindow = opts.minWindow ?? 3000
    this.maxWindow = opts.maxWindow ?? 16 * 1024 * 1024
    this.cwnd = Math.max(opts.initialWindow ?? 2800, this.minWindow)
    this.history = new DelayHistory(opts.baseHistoryMs ?? 120_000)
  }

  /** A one-way delay sample (the peer's timestamp_difference of our packets), µs. 0 means "no sample". */
  onDelaySample(sampleUs: number, nowMs: number): void {
    if (sampleUs === 0) return
    let d = this.history.add(sampleUs, nowMs)
    // A delay this large is a clock jump, not queueing; do not let it collapse the window.
    if (d > 10_000_000) d = 0
    this.ourDelay = d
  }

  /**
   * Newly acknowledged bytes. `windowLimited` says the sender was using (most of) the window, so growth is earned;
   * an application-limited sender does not inflate a window it never tested.
   */
  onAck(bytes: number, windowLimited: boolean): void {
    if (bytes <= 0 || !windowLimited) return
    const offTarget = (this.target - this.ourDelay) / this.target
    if (this.slowStart) {
      if (offTarget < 0.1 || this.cwnd >= this.ssthresh) this.slowStart = false
      else {
        this.cwnd = Math.min(this.cwnd + bytes, this.maxWindow)
        return
      }
    }
    const factor = Math.min(bytes, this.cwnd) / Math.max(this.cwnd, bytes)
    const next = this.cwnd + this.gain * offTarget * factor
    this.cwnd = Math.min(Math.max(next, this.minWindow), this.maxWindow)
  }

  /** A lost packet (duplicate ACKs or a SACK hole): halve. The caller applies this at most once per window. */
  onLoss(): void {
    this.cwnd = Math.max(this.cwnd / 2, this.minWindow)
    this.ssthresh = this.cwnd
    this.slowStart = false
  }

  /** The halving was for reordering, not loss (Eifel): restore the window if it was larger, and ssthresh. */
  undoLoss(cwnd: number, ssthresh: number): void {
    if (cwnd > this.cwnd) this.cwnd = cwnd
    this.ssthresh = ssthresh
  }

  /** A retransmission timeout: back to the minimum window. */
  onTimeout(): void {
    this.ssthresh = Math.max(this.cwnd / 2, this.minWindow)
    this.cwnd = this.minWindow
    // Like TCP, climb back to half the old window in slow start.
    this.slowStart = true
  }
}
