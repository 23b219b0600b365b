// Abuse limits for BEP 55 `connect`: a relay's message makes us send packets to an address the relay chose, so a
// hostile relay could use us to spray SYNs at a victim. Each `connect` names exactly one endpoint and we dial
// only that one; on top, accepted `connect`s are capped per relay connection and overall within a sliding window,
// and the number of punches in flight is bounded.
import type { Clock } from '../net/types.js'

export interface ConnectLimiterOptions {
  /** `connect`s acted on per relay connection per `window`. Default 5. */
  perRelay?: number
  /** `connect`s acted on from all relays together per `window`. Default 20. */
  overall?: number
  /** The sliding window, ms. Default 10 s. */
  window?: number
  /** Punches in flight at once. Default 8. */
  maxInFlight?: number
}

export type ConnectRefusal = 'relay_rate' | 'overall_rate' | 'in_flight'

export class ConnectLimiter<Relay extends object = object> {
  readonly stats = { admitted: 0, refused: { relay_rate: 0, overall_rate: 0, in_flight: 0 } }
  private readonly perRelay: number
  private readonly overall: number
  private readonly window: number
  private readonly maxInFlight: number
  private readonly byRelay = new WeakMap<Relay, number[]>()
  private readonly all: number[] = []
  private inFlight = 0

  constructor(
    private readonly clock: Clock,
    options: ConnectLimiterOptions = {},
  ) {
    this.perRelay = options.perRelay ?? 5
    this.overall = options.overall ?? 20
    this.window = options.window ?? 10_000
    this.maxInFlight = options.maxInFlight ?? 8
  }

  /**
   * Whether a `connect` from `relay` may start a punch now. On success the punch counts as in flight until
   * `release()` is called; on refusal the reason is returned (and counted).
   */
  admit(relay: Relay): true | ConnectRefusal {
    const now = this.clock.now()
    prune(this.all, now, this.window)
    let mine = this.byRelay.get(relay)
    if (!mine) {
      mine = []
      this.byRelay.set(relay, mine)
    }
    prune(mine, now, this.window)
    let refusal: ConnectRefusal | undefined
    if (mine.length >= this.perRelay) refusal = 'relay_rate'
    else if (this.all.length >= this.overall) refusal = 'overall_rate'
    else if (this.inFlight >= this.maxInFlight) refusal = 'in_flight'
    if (refusal) {
      this.stats.refused[refusal]++
      return refusal
    }
    mine.push(now)
    this.all.push(now)
    this.inFlight++
    this.stats.admitted++
    return true
  }

  /** A punch admitted earlier finished (either way). */
  release(): void {
    if (this.inFlight > 0) this.inFlight--
  }

  get punchesInFlight(): number {
    return this.inFlight
  }
}

function prune(times: number[], now: number, window: number): void {
  let i = 0
  while (i < times.length && now - times[i] >= window) i++
  if (i > 0) times.splice(0, i)
}
