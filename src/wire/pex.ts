// BEP 11 on one connection (`conn.pex`). Sending: at most one message per `interval`, a full list first and diffs
// after, at most `maxAdded` added entries each (the rest wait for the next round), as libtorrent does. Receiving,
// with libtorrent's limits: more than `maxMessagesPerWindow` messages in `interval`, or one over `maxPayload`
// bytes, closes the connection; a malformed payload is dropped and counted; at most `maxPeersKept` peers of a
// message are reported.
import { EventEmitter } from 'node:events'
import type { CompactPeer } from '../codec/compact.js'
import { CodecError } from '../codec/errors.js'
import { isLocalNetwork, isUnicastAddress } from '../codec/ip.js'
import { decodePex, encodePex, type PexPeer } from '../codec/pex.js'
import type { Clock, Timer } from '../net/types.js'
import { WireError } from './errors.js'
import type { ExtensionHost } from './extensions.js'

export const PEX_EXTENSION = 'ut_pex'

export interface PexOptions {
  /** Least time between two messages we send, and the window for counting received ones. Default 60 s. */
  interval?: number
  /** Most added entries per message we send. Default 100 (libtorrent's). */
  maxAdded?: number
  /** Most dropped entries per message we send. Default 100. */
  maxDropped?: number
  /** Received messages allowed per `interval` before we close. Default 6 (libtorrent's). */
  maxMessagesPerWindow?: number
  /** Largest received payload before we close. Default 500 KiB (libtorrent's). */
  maxPayload?: number
  /** Most added peers of one received message we report. Default 50 (libtorrent's). */
  maxPeersKept?: number
}

export type PexEvents = {
  /** Each valid message: peers the remote told us about (validated, de-duplicated, capped); may be empty. */
  peers: [added: PexPeer[], dropped: CompactPeer[]]
}

/** The peers this connection may advertise right now (the swarm supplies it; excludes the remote itself). */
export type PexSource = () => PexPeer[]

function key(p: CompactPeer): string {
  return `${p.host}|${p.port}`
}

export class Pex extends EventEmitter<PexEvents> {
  /** Set by the swarm. Without a source nothing is sent. */
  source: PexSource | undefined
  readonly stats = { sent: 0, received: 0, malformed: 0, ignoredFields: 0, filtered: 0 }

  private readonly interval: number
  private readonly opts: Required<PexOptions>
  private readonly advertised = new Map<string, PexPeer>()
  private lastSentAt = Number.NEGATIVE_INFINITY
  private readonly receivedAt: number[] = []
  private timer: Timer | undefined

  constructor(
    private readonly conn: ExtensionHost,
    private readonly clock: Clock,
    options: PexOptions = {},
  ) {
    super()
    this.opts = {
      interval: options.interval ?? 60_000,
      maxAdded: options.maxAdded ?? 100,
      maxDropped: options.maxDropped ?? 100,
      maxMessagesPerWindow: options.maxMessagesPerWindow ?? 6,
      maxPayload: options.maxPayload ?? 500 * 1024,
      maxPeersKept: options.maxPeersKept ?? 50,
    }
    this.interval = this.opts.interval
    conn.handleExtension(PEX_EXTENSION, (payload) => this.onPayload(payload))
    conn.on('extended_handshake', () => {
      if (this.supported && !this.timer && !conn.isClosed) {
        this.timer = clock.setInterval(() => this.flush(), this.interval)
        this.flush()
      }
    })
  }

  /** Both sides take part: the remote advertised ut_pex and so did we (an unadvertised extension stays silent). */
  get supported(): boolean {
    return (
      this.conn.extensions.remoteSupports(PEX_EXTENSION) && this.conn.extensions.localId(PEX_EXTENSION) !== undefined
    )
  }

  stop(): void {
    this.timer?.cancel()
    this.timer = undefined
  }

  /**
   * Sends the diff between what we advertised and `source()` now, unless a message went out less than `interval`
   * ago. Returns whether a message was sent. The first message is sent even when empty (as libtorrent does).
   */
  flush(): boolean {
    if (!this.source || !this.supported || !this.conn.isOpen) return false
    const now = this.clock.now()
    if (now - this.lastSentAt < this.interval) return false
    const current = new Map<string, PexPeer>()
    for (const p of this.source()) current.set(key(p), p)
    const added: PexPeer[] = []
    const dropped: CompactPeer[] = []
    for (const [k, p] of current) {
      if (added.length >= this.opts.maxAdded) break
      if (!this.advertised.has(k)) added.push(p)
    }
    for (const [k, p] of this.advertised) {
      if (dropped.length >= this.opts.maxDropped) break
      if (!current.has(k)) dropped.push({ host: p.host, port: p.port })
    }
    const first = this.lastSentAt === Number.NEGATIVE_INFINITY
    if (!first && added.length === 0 && dropped.length === 0) return false
    this.conn.sendExtended(PEX_EXTENSION, encodePex({ added, dropped }))
    for (const p of added) this.advertised.set(key(p), p)
    for (const p of dropped) this.advertised.delete(key(p))
    this.lastSentAt = now
    this.stats.sent++
    return true
  }

  private onPayload(payload: Uint8Array): void {
    const now = this.clock.now()
    while (this.receivedAt.length > 0 && now - this.receivedAt[0] >= this.interval) this.receivedAt.shift()
    this.receivedAt.push(now)
    if (this.receivedAt.length > this.opts.maxMessagesPerWindow) {
      throw new WireError(
        'PEX_FLOOD',
        `more than ${this.opts.maxMessagesPerWindow} ut_pex messages in ${this.interval} ms`,
      )
    }
    if (payload.length > this.opts.maxPayload) {
      throw new WireError('PEX_OVERSIZE', `ut_pex message of ${payload.length} bytes (limit ${this.opts.maxPayload})`)
    }
    let msg: ReturnType<typeof decodePex>
    try {
      msg = decodePex(payload)
    } catch (err) {
      if (!(err instanceof CodecError)) throw err
      this.stats.malformed++
      this.conn.countDrop('pex_malformed')
      return
    }
    this.stats.received++
    if (msg.ignored.length > 0) {
      this.stats.ignoredFields += msg.ignored.length
      this.conn.countDrop('pex_ignored_field')
    }
    // libtorrent drops LAN addresses from a non-LAN peer: they would point into someone else's network.
    const remoteLocal = isLocalNetwork(this.conn.remote.host)
    const seen = new Set<string>()
    const added: PexPeer[] = []
    for (const p of msg.added) {
      const k = key(p)
      if (added.length >= this.opts.maxPeersKept || seen.has(k) || !usable(p, remoteLocal)) {
        this.stats.filtered++
        continue
      }
      seen.add(k)
      added.push({ host: p.host, port: p.port, flags: p.flags & 0x7f })
    }
    const dropped = msg.dropped.slice(0, this.opts.maxPeersKept)
    this.emit('peers', added, dropped)
  }
}

function usable(p: CompactPeer, fromLocalPeer: boolean): boolean {
  if (p.port === 0 || !isUnicastAddress(p.host)) return false
  return fromLocalPeer || !isLocalNetwork(p.host)
}
