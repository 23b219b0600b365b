// Virtual time for simulations. Timers live in one heap (heap.ts) ordered by (time, insertion order), so equal
// times fire in the order they were scheduled and a run is reproducible. Nothing here touches real timers except
// the `setImmediate` the drivers use to let promise continuations run between events.
import type { Clock, Timer } from '../types.js'
import { EventHeap } from './heap.js'

/** Something the clock fires at a virtual time. Simulator parts (packets in flight) implement it directly. */
export interface SimEvent {
  /** Virtual time at which it fires; set by `VirtualClock.schedule`. */
  at: number
  /** Tie-breaker: insertion order. Set by `VirtualClock.schedule`. */
  seq: number
  /** A dead event stays in the heap until popped (lazy deletion) and is then skipped. */
  dead: boolean
  fire(): void
}

/** A simulator error with a `code`: `BUSY` (two drivers at once), `TIMEOUT`, `IDLE` (nothing left to run). */
export class SimError extends Error {
  override readonly name = 'SimError'
  constructor(
    readonly code: 'BUSY' | 'TIMEOUT' | 'IDLE',
    message: string,
  ) {
    super(message)
  }
}

/** Minimum period of `setInterval`, so that a zero period cannot freeze virtual time. */
const MIN_INTERVAL = 1e-3

class VirtualTimer implements SimEvent, Timer {
  at = 0
  seq = 0
  dead = false
  constructor(
    private readonly clock: VirtualClock,
    private readonly fn: () => void,
    private readonly period: number,
  ) {}

  fire(): void {
    // A fired one-shot timer is marked dead without counting it as cancelled: a late cancel() is then a no-op.
    if (this.period > 0) this.clock.schedule(this, this.clock.now() + this.period)
    else this.dead = true
    this.fn()
  }

  cancel(): void {
    if (this.dead) return
    this.dead = true
    this.clock.noteCancelled()
  }
}

/** Lets every queued promise continuation (and `process.nextTick`) run: one event-loop turn. */
const drainMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export interface VirtualClockOptions {
  /** Initial virtual time in ms. Default: 0. */
  start?: number
  /**
   * Events less than this many virtual ms after the first one of a batch run back to back, before promise
   * continuations get their turn. Default: 0 (exact: continuations run between any two distinct times). A small
   * value (0.01–0.1 ms in a network with ms latencies) makes large simulations several times faster; the cost is
   * that a continuation may see `now()` and schedule up to `coalesceMs` later than in an exact run (still
   * deterministic).
   */
  coalesceMs?: number
  /**
   * Virtual-time steps per real event-loop turn. Node drains promise continuations and `process.nextTick` between
   * any two `setImmediate` callbacks, so the drivers queue this many step callbacks at once and pay for one
   * event-loop turn (a poll system call) per batch instead of per step. Exact either way for promises and ticks;
   * the difference is only seen by code under test that itself waits on real `setImmediate`, whose callbacks run
   * after the batch. Set 1 for one event-loop turn per virtual time. Default: 64.
   */
  stepsPerTurn?: number
}

export interface RunUntilOptions {
  /** Virtual milliseconds to run before giving up. Default: 3,600,000 (one virtual hour). */
  timeout?: number
}

/**
 * A `Clock` whose time only moves when a driver moves it: `runFor`, `runUntil`, `runUntilIdle`, `step`, `settle`,
 * or `autoAdvance` (advance whenever the real event loop has nothing else to do).
 *
 * Between two distinct virtual times every promise continuation and `process.nextTick` runs, so async code works:
 * a datagram handler resolves a promise, its `await` continuation sends the next query, and that query is
 * scheduled before time moves on. Events at the same virtual time run back to back, in scheduling order.
 *
 * A timer callback that throws makes the current driver reject with that error (under `autoAdvance`, it is
 * rethrown as an uncaught exception, as a real timer would).
 */
export class VirtualClock implements Clock {
  private time: number
  private nextSeq = 0
  private readonly heap = new EventHeap<SimEvent>()
  private cancelled = 0
  private driving = false
  private auto: { wake: (() => void) | null; stopped: boolean } | null = null
  /** Events fired so far (timers and simulator events, not counting cancelled ones). */
  eventsFired = 0

  /** See `VirtualClockOptions.coalesceMs`. */
  readonly coalesceMs: number
  /** See `VirtualClockOptions.stepsPerTurn`. */
  readonly stepsPerTurn: number

  constructor(opts: VirtualClockOptions | number = {}) {
    const o = typeof opts === 'number' ? { start: opts } : opts
    this.time = o.start ?? 0
    this.coalesceMs = o.coalesceMs !== undefined && o.coalesceMs > 0 ? o.coalesceMs : 0
    const steps = Math.floor(o.stepsPerTurn ?? 64)
    this.stepsPerTurn = Number.isFinite(steps) && steps > 1 ? Math.min(steps, 4096) : 1
  }

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const t = new VirtualTimer(this, fn, 0)
    this.schedule(t, this.time + delay(ms))
    return t
  }

  setInterval(fn: () => void, ms: number): Timer {
    const period = Math.max(delay(ms), MIN_INTERVAL)
    const t = new VirtualTimer(this, fn, period)
    this.schedule(t, this.time + period)
    return t
  }

  /**
   * Queues `ev` to fire at virtual time `at` (clamped to now; NaN means now). For simulator components; an event
   * must not be queued again before it fired.
   */
  schedule(ev: SimEvent, at: number): void {
    ev.at = Number.isNaN(at) ? this.time : Math.max(at, this.time)
    ev.seq = this.nextSeq++
    ev.dead = false
    this.heap.push(ev, ev.at, ev.seq)
    const a = this.auto
    if (a?.wake) {
      const w = a.wake
      a.wake = null
      w()
    }
  }

  /** Number of live events queued. */
  get pending(): number {
    return this.heap.size - this.cancelled
  }

  /** Virtual time of the next live event, or `undefined` when none is queued. */
  nextTime(): number | undefined {
    this.skipDead()
    return this.heap.size > 0 ? this.heap.topTime() : undefined
  }

  /** @internal Called by a timer when it is cancelled; compacts the heap when mostly dead. */
  noteCancelled(): void {
    this.cancelled++
    if (this.cancelled > 1024 && this.cancelled * 2 > this.heap.size) {
      this.heap.compact()
      this.cancelled = 0
    }
  }

  /** Runs every event at the next virtual time, then lets continuations run. Returns false when nothing is queued. */
  async step(): Promise<boolean> {
    this.enter()
    try {
      const ran = this.runNextTime(Number.POSITIVE_INFINITY)
      await drainMicrotasks()
      return ran
    } finally {
      this.driving = false
    }
  }

  /** Advances virtual time by `ms`, firing everything due on the way (and what those schedule within the window). */
  async runFor(ms: number): Promise<void> {
    this.enter()
    try {
      const end = this.time + delay(ms)
      await this.pump(() => this.runNextTime(end))
      if (this.time < end) this.time = end
    } finally {
      this.driving = false
    }
  }

  /**
   * Runs until `predicate()` is true (checked before starting and after each virtual time). Resolves `true`, or
   * `false` when `timeout` virtual ms passed or nothing was left to run.
   */
  async runUntil(predicate: () => boolean, opts: RunUntilOptions = {}): Promise<boolean> {
    this.enter()
    try {
      const end = this.time + (opts.timeout ?? 3_600_000)
      let met = false
      await this.pump(() => {
        met = predicate()
        return !met && this.runNextTime(end)
      })
      if (met || predicate()) return true
      if (this.pending > 0 && this.time < end) this.time = end
      return false
    } finally {
      this.driving = false
    }
  }

  /** Runs until no event is queued. Resolves `true` when idle, `false` if `timeout` virtual ms passed first. */
  async runUntilIdle(opts: RunUntilOptions = {}): Promise<boolean> {
    return this.runUntil(() => this.pending === 0, opts)
  }

  /**
   * Runs the clock until `promise` settles and returns its outcome. Rejects with `SimError` `TIMEOUT` after
   * `timeout` virtual ms, or `IDLE` when nothing is queued and the promise is still pending (it never will settle).
   */
  async settle<T>(promise: Promise<T>, opts: RunUntilOptions = {}): Promise<T> {
    let done = false
    const watched = promise.then(
      (v) => {
        done = true
        return v
      },
      (e: unknown) => {
        done = true
        throw e
      },
    )
    watched.catch(() => {}) // observed below; avoid an unhandled-rejection warning meanwhile
    const ok = await this.runUntil(() => done, opts)
    if (!ok) {
      throw this.pending === 0
        ? new SimError('IDLE', 'nothing left to run and the promise is still pending')
        : new SimError('TIMEOUT', `promise still pending after ${opts.timeout ?? 3_600_000} virtual ms`)
    }
    return watched
  }

  /**
   * Advances virtual time by itself whenever the real event loop is idle, so ordinary async test code
   * (`await dht.lookup(…)`) runs on virtual time without manual stepping. Returns `stop()`. While no event is
   * queued the clock holds no real handle, so it never keeps the process alive by itself; live intervals do keep
   * it spinning: stop it when done. Other drivers throw `BUSY` while it runs.
   */
  autoAdvance(): () => void {
    this.enter()
    const state: { wake: (() => void) | null; stopped: boolean } = { wake: null, stopped: false }
    this.auto = state
    const loop = async () => {
      try {
        for (;;) {
          await this.pump(() => !state.stopped && this.runNextTime(Number.POSITIVE_INFINITY))
          if (state.stopped) return
          // Something may have been scheduled since the pump stopped (by a continuation that ran first).
          if (this.pending > 0) continue
          // Nothing queued: park without holding any real handle until something is scheduled.
          await new Promise<void>((resolve) => {
            state.wake = resolve
          })
        }
      } catch (err) {
        this.release(state)
        queueMicrotask(() => {
          throw err
        })
      }
    }
    void loop()
    return () => {
      if (state.stopped) return
      state.stopped = true
      this.release(state)
      const w = state.wake
      state.wake = null
      w?.()
    }
  }

  /**
   * Calls `step` from `setImmediate` callbacks until it returns false; Node drains every promise continuation and
   * `process.nextTick` before each call. Queues `stepsPerTurn` callbacks at a time (see the option).
   */
  private pump(step: () => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let queued = 0
      let finished = false
      const tick = () => {
        queued--
        if (finished) return
        let more: boolean
        try {
          more = step()
        } catch (err) {
          finished = true
          reject(err)
          return
        }
        if (!more) {
          finished = true
          resolve()
        } else if (queued === 0) {
          batch()
        }
      }
      const batch = () => {
        for (let i = 0; i < this.stepsPerTurn; i++) {
          queued++
          setImmediate(tick)
        }
      }
      batch()
    })
  }

  private release(state: { stopped: boolean }): void {
    state.stopped = true
    if (this.auto === state) {
      this.auto = null
      this.driving = false
    }
  }

  private enter(): void {
    if (this.driving) throw new SimError('BUSY', 'another driver (runFor/runUntil/step/autoAdvance) is running')
    this.driving = true
  }

  /**
   * Fires all live events at the earliest queued time (and within `coalesceMs` after it) if it is <= `end`.
   * Returns whether it advanced.
   */
  private runNextTime(end: number): boolean {
    this.skipDead()
    const h = this.heap
    if (h.size === 0 || h.topTime() > end) return false
    const limit = Math.min(h.topTime() + this.coalesceMs, end)
    while (h.size > 0 && h.topTime() <= limit) {
      const t = h.topTime()
      const ev = h.pop()
      if (ev.dead) {
        this.cancelled--
        continue
      }
      this.time = t
      this.eventsFired++
      ev.fire()
    }
    return true
  }

  private skipDead(): void {
    const h = this.heap
    while (h.size > 0 && h.top().dead) {
      h.pop()
      this.cancelled--
    }
  }
}

function delay(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.max(ms, 0) // NaN and negatives mean "now", like Node's timers
}
