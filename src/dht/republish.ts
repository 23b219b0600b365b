// Keeps the items this node put alive: BEP 44 lets nodes drop an item 2 hours after its last put and asks
// publishers to put it again once an hour. Each item is re-put (the same signed bytes: no re-signing) an hour
// after its last put, until the user stops it (`unpublish`) or the DHT holds a newer one (every node says 302).
import type { BEncodable } from '../codec/bencode.js'
import type { Clock, Timer } from '../net/types.js'
import type { PutResult } from './storage-client.js'

/** BEP 44: re-announce once an hour. */
export const REPUBLISH_MS = 3600_000

export type RepublishFn = (target: Uint8Array, args: Record<string, BEncodable>) => Promise<PutResult>

interface Entry {
  readonly target: Uint8Array
  args: Record<string, BEncodable>
  timer: Timer | undefined
}

export class Republisher {
  private readonly items = new Map<string, Entry>()
  private closed = false
  /** Republishes done (stats, tests). */
  republished = 0

  constructor(
    private readonly clock: Pick<Clock, 'setTimeout'>,
    private readonly put: RepublishFn,
    private readonly intervalMs = REPUBLISH_MS,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Targets kept alive. */
  get size(): number {
    return this.items.size
  }

  has(target: Uint8Array): boolean {
    return this.items.has(hex(target))
  }

  /** Keeps `target` alive with the put arguments `args` (without token); replaces what was kept under it. */
  keep(target: Uint8Array, args: Record<string, BEncodable>): void {
    if (this.closed) return
    const key = hex(target)
    const old = this.items.get(key)
    old?.timer?.cancel()
    const e: Entry = { target: target.slice(), args, timer: undefined }
    this.items.set(key, e)
    this.schedule(key, e)
  }

  /** Stops republishing `target`; true if it was kept. */
  stop(target: Uint8Array): boolean {
    const key = hex(target)
    const e = this.items.get(key)
    if (!e) return false
    e.timer?.cancel()
    this.items.delete(key)
    return true
  }

  close(): void {
    this.closed = true
    for (const e of this.items.values()) e.timer?.cancel()
    this.items.clear()
  }

  private schedule(key: string, e: Entry): void {
    e.timer = this.clock.setTimeout(() => {
      e.timer = undefined
      if (this.items.get(key) !== e || this.closed) return
      this.put(e.target, e.args).then(
        (res) => {
          this.republished++
          // Superseded: the key's owner (here or elsewhere) put a newer item; ours is refused everywhere.
          if (res.stored === 0 && (res.refused[302] ?? 0) > 0 && this.items.get(key) === e) {
            this.items.delete(key)
            return
          }
          if (this.items.get(key) === e && !this.closed) this.schedule(key, e)
        },
        (err) => {
          this.onError(err)
          if (this.items.get(key) === e && !this.closed) this.schedule(key, e)
        },
      )
    }, this.intervalMs)
  }
}

function hex(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16)
  return s
}
