// Small deterministic helpers for DHT tests: a seeded byte source and a hand-cranked clock.
import type { Clock, Random, Timer } from '../../src/net/types.js'

/** xorshift32 random bytes: reproducible runs. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0 || 1
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) {
        s ^= s << 13
        s >>>= 0
        s ^= s >>> 17
        s ^= s << 5
        s >>>= 0
        out[i] = s & 0xff
      }
      return out
    },
  }
}

/** A clock that only moves when told to; timers fire in order inside `advance()`. */
export class ManualClock implements Clock {
  private t = 0
  private seq = 0
  private timers = new Map<number, { at: number; fn: () => void; every: number }>()
  now(): number {
    return this.t
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.seq
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, every: 0 })
    return { cancel: () => this.timers.delete(id) }
  }
  setInterval(fn: () => void, ms: number): Timer {
    const id = ++this.seq
    this.timers.set(id, { at: this.t + Math.max(1, ms), fn, every: Math.max(1, ms) })
    return { cancel: () => this.timers.delete(id) }
  }
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      let next: [number, { at: number; fn: () => void; every: number }] | undefined
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e
      if (!next) break
      const [id, tm] = next
      this.t = tm.at
      if (tm.every > 0) tm.at += tm.every
      else this.timers.delete(id)
      tm.fn()
    }
    this.t = end
  }
}

/** An id whose first byte is `first` and the rest `fill`. */
export function idOf(first: number, fill = 0): Uint8Array {
  const id = new Uint8Array(20).fill(fill)
  id[0] = first
  return id
}
