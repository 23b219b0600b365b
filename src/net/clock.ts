import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { Clock, Random, Timer } from './types.js'

/** The process clock. Timers are unref'd so that a forgotten timer never holds the process open. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return { cancel: () => clearTimeout(t) } satisfies Timer
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms)
    t.unref()
    return { cancel: () => clearInterval(t) } satisfies Timer
  },
}

/** Cryptographically strong randomness from node:crypto. */
export const cryptoRandom: Random = {
  bytes: (n) => new Uint8Array(randomBytes(n)),
}
