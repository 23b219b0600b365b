// Waiting for a condition with a deadline. Every wait in a test has one, so a broken condition fails the test with
// what it was waiting for instead of hanging until the runner's timeout (or forever). In simulations pass the
// virtual clock: the deadline is then virtual time, which a loaded machine does not stretch.
import { realClock } from '../../src/net/clock.js'
import type { Clock } from '../../src/net/types.js'

export interface UntilOptions {
  /** The longest wait, in `clock` milliseconds. */
  within: number
  /** What is awaited, for the error. */
  what: string
  /** The clock the wait and the deadline use. Default the real clock. */
  clock?: Clock
  /** Polling period, ms. Default 10. */
  every?: number
}

/** Resolves once `pred()` holds; rejects when `within` ms of `clock` pass first. */
export async function until(pred: () => boolean, o: UntilOptions): Promise<void> {
  const clock = o.clock ?? realClock
  const end = clock.now() + o.within
  while (!pred()) {
    if (clock.now() >= end) throw new Error(`not within ${o.within} ms: ${o.what}`)
    await new Promise<void>((resolve) => clock.setTimeout(resolve, o.every ?? 10))
  }
}
