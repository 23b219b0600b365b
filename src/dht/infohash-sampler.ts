// BEP 51 on the serving side: which stored infohashes a `sample_infohashes` reply carries. When they all fit,
// all of them; otherwise a uniformly random subset, drawn once and served unchanged for `interval` seconds (BEP
// 51: an indexer gains nothing by asking again sooner, so it has no reason to).
import { SAMPLE_INTERVAL_MAX, samplesThatFit } from '../codec/bep51.js'
import type { Clock, Random } from '../net/types.js'

export interface SamplerOptions {
  readonly clock: Pick<Clock, 'now'>
  readonly random: Random
  /** Seconds an indexer should wait before asking again, 0-21600. Default 21600 (libtorrent's). */
  readonly intervalSeconds?: number
  /** Most samples in one reply. Default 20 (libtorrent's); the room left in the packet may allow fewer. */
  readonly maxSamples?: number
}

/** What a `sample_infohashes` reply carries (`buildSampleInfohashesReply`'s fields, without the nodes). */
export interface Sample {
  readonly interval: number
  readonly num: number
  /** Concatenated 20-byte infohashes. */
  readonly samples: Uint8Array
}

export class InfohashSampler {
  readonly intervalSeconds: number
  readonly maxSamples: number
  private readonly clock: Pick<Clock, 'now'>
  private readonly random: Random
  private cached: Uint8Array[] = []
  private cachedUntil = Number.NEGATIVE_INFINITY

  constructor(opts: SamplerOptions) {
    const interval = opts.intervalSeconds ?? SAMPLE_INTERVAL_MAX
    if (!Number.isInteger(interval) || interval < 0 || interval > SAMPLE_INTERVAL_MAX) {
      throw new RangeError(`intervalSeconds must be 0-${SAMPLE_INTERVAL_MAX}`)
    }
    this.intervalSeconds = interval
    this.maxSamples = Math.max(0, Math.floor(opts.maxSamples ?? 20))
    this.clock = opts.clock
    this.random = opts.random
  }

  /**
   * The sample for a reply. `stored` is how many infohashes there are and how to list them (`keys()` is only
   * walked when a new subset is drawn); `roomBytes`, when given, is what the packet has left for the samples
   * beyond an empty `samples` string, and caps how many go in.
   */
  sample(stored: { readonly size: number; keys(): Iterable<Uint8Array> }, roomBytes?: number): Sample {
    const fit = roomBytes === undefined ? this.maxSamples : Math.min(this.maxSamples, samplesThatFit(roomBytes))
    const num = stored.size
    let picked: Uint8Array[]
    if (num <= this.maxSamples) {
      picked = [...stored.keys()].slice(0, this.maxSamples)
    } else {
      const now = this.clock.now()
      if (now >= this.cachedUntil || this.cached.length === 0) {
        this.cached = this.reservoir(stored.keys(), this.maxSamples)
        this.cachedUntil = now + this.intervalSeconds * 1000
      }
      picked = this.cached
    }
    const n = Math.min(fit, picked.length)
    const samples = new Uint8Array(n * 20)
    for (let i = 0; i < n; i++) samples.set(picked[i].subarray(0, 20), i * 20)
    return { interval: this.intervalSeconds, num, samples }
  }

  /** Forgets the drawn subset (the next reply draws a new one). */
  reset(): void {
    this.cached = []
    this.cachedUntil = Number.NEGATIVE_INFINITY
  }

  /** A uniform random subset of `k` items (Algorithm R), copied. */
  private reservoir(items: Iterable<Uint8Array>, k: number): Uint8Array[] {
    const out: Uint8Array[] = []
    let i = 0
    for (const x of items) {
      if (x.length !== 20) continue
      if (out.length < k) out.push(x.slice())
      else {
        const j = this.randomBelow(i + 1)
        if (j < k) out[j] = x.slice()
      }
      i++
    }
    return out
  }

  private randomBelow(n: number): number {
    const b = this.random.bytes(4)
    return (((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0) % n
  }
}
