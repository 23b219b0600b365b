// In-memory test plumbing for the wire layer: a connected pair of Duplex streams (delivery on a later tick, like
// a socket) and a manual clock whose timers run only when the test advances it.
import { Duplex } from 'node:stream'
import type { Clock, Endpoint, Timer } from '../../src/net/types.js'
import { PeerConnection, type PeerConnectionOptions } from '../../src/wire/peer-connection.js'

class End extends Duplex {
  other: End | undefined
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const copy = Uint8Array.from(chunk)
    setImmediate(() => this.other?.push(copy))
    cb()
  }
  override _read(): void {}
  override _final(cb: (err?: Error | null) => void): void {
    setImmediate(() => this.other?.push(null))
    cb()
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const o = this.other
    setImmediate(() => {
      if (o && !o.destroyed) o.push(null)
    })
    cb(err)
  }
}

export function duplexPair(): [Duplex, Duplex] {
  const a = new End()
  const b = new End()
  a.other = b
  b.other = a
  return [a, b]
}

export class ManualClock implements Clock {
  private t = 0
  private timers: { at: number; every: number; fn: () => void; live: boolean }[] = []
  now(): number {
    return this.t
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const e = { at: this.t + ms, every: 0, fn, live: true }
    this.timers.push(e)
    return { cancel: () => void (e.live = false) }
  }
  setInterval(fn: () => void, ms: number): Timer {
    const e = { at: this.t + ms, every: ms, fn, live: true }
    this.timers.push(e)
    return { cancel: () => void (e.live = false) }
  }
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      this.timers = this.timers.filter((e) => e.live)
      const next = this.timers.reduce<(typeof this.timers)[number] | undefined>(
        (m, e) => (!m || e.at < m.at ? e : m),
        undefined,
      )
      if (!next || next.at > end) break
      this.t = next.at
      if (next.every > 0) next.at += next.every
      else next.live = false
      next.fn()
    }
    this.t = end
  }
}

export const INFO_HASH = new Uint8Array(20).fill(0xab)

export function peerId(tag: number): Uint8Array {
  const id = new TextEncoder().encode('-MN0100-000000000000')
  id[19] = tag
  return id
}

type Extra = Partial<Omit<PeerConnectionOptions, 'stream' | 'direction' | 'remote' | 'transport' | 'peerId'>>

/** Two connected PeerConnections: `a` dialed `b`. Resolves when both handshakes (and extended ones) are done. */
export async function connectedPair(
  opts: {
    a?: Extra
    b?: Extra
    aEndpoint?: Endpoint
    bEndpoint?: Endpoint
    aId?: number
    bId?: number
    transport?: 'tcp' | 'utp'
  } = {},
): Promise<[PeerConnection, PeerConnection]> {
  const [sa, sb] = duplexPair()
  const aEp = opts.aEndpoint ?? { host: '127.0.0.1', port: 40001 }
  const bEp = opts.bEndpoint ?? { host: '127.0.0.1', port: 6881 }
  const a = new PeerConnection({
    stream: sa,
    direction: 'outgoing',
    transport: opts.transport ?? 'tcp',
    remote: bEp,
    local: aEp,
    peerId: peerId(opts.aId ?? 1),
    infoHash: INFO_HASH,
    ...opts.a,
  })
  const b = new PeerConnection({
    stream: sb,
    direction: 'incoming',
    transport: opts.transport ?? 'tcp',
    remote: aEp,
    local: bEp,
    peerId: peerId(opts.bId ?? 2),
    infoHash: INFO_HASH,
    ...opts.b,
  })
  await Promise.all([extended(a), extended(b)])
  return [a, b]
}

export function extended(c: PeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    if (c.remoteExtended) return resolve()
    c.once('extended_handshake', () => resolve())
    c.once('close', (r) => reject(r))
  })
}

export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r))
}

export async function ticks(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await tick()
}
