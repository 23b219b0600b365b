// One hole punch towards one endpoint, for one torrent (BEP 55 `connect`, either role). We dial uTP to the
// endpoint from the shared UDP port at once and re-send the SYN on a short schedule (the first one usually dies at
// the other NAT, which has no permission for us yet); meanwhile a uTP connection from that endpoint is accepted
// too. Both usually succeed, since both sides do the same. Exactly one is kept by the rule libtorrent uses
// (`bt_peer_connection.cpp`): the connection initiated by the peer with the greater peer id. Both sides compute
// it the same way once they know the other's id, which the initiator of a connection sends first:
//
//   - an incoming stream's handshake is read before any PeerConnection answers it. If the rule keeps it, it is
//     adopted and our own attempt is dropped; if the rule keeps ours, it is held (unanswered) until ours is open
//     (then closed) or has failed (then adopted).
//   - our outgoing stream gets a PeerConnection at once (it sends our handshake); the other side holds or answers
//     it by the same rule.
//
// A symmetric NAT on either side means no packet of this punch gets through: it ends with reason `timeout`, and
// every stream it made is destroyed (birthday.ts runs beside it when exactly one side is symmetric).
import { EventEmitter } from 'node:events'
import { compareBytes } from '../codec/bytes.js'
import type { Handshake } from '../codec/peer-wire.js'
import type { Clock, Endpoint, Timer } from '../net/types.js'
import type { UtpSocketManager } from '../utp/socket-manager.js'
import type { UtpStream } from '../utp/stream.js'
import { WireError } from '../wire/errors.js'
import type { Direction, PeerConnection } from '../wire/peer-connection.js'
import type { Swarm } from './swarm.js'

/** When to re-send the SYN, ms after the punch starts. */
export const DEFAULT_RESEND_SCHEDULE: readonly number[] = [
  20, 50, 100, 150, 200, 300, 400, 600, 800, 1000, 1300, 1600, 2000, 2500, 3000, 3500, 4000, 4500,
]

export interface PunchOptions {
  /** Give up when no connection is open by then, ms. Default 5000. */
  timeout?: number
  /** SYN re-sends, ms after the start. Default `DEFAULT_RESEND_SCHEDULE` (20 ms … 4.5 s). */
  resendSchedule?: readonly number[]
}

export interface PunchDeps {
  swarm: Swarm
  utp: UtpSocketManager
  clock: Clock
}

export type PunchResult =
  | { ok: true; conn: PeerConnection; direction: Direction; utpMs: number; ms: number }
  | { ok: false; reason: 'timeout' | 'aborted' }

export type PunchEvents = {
  /** The first uTP connection (either direction) is established, `ms` after the start. */
  utp: [direction: Direction, ms: number]
}

export class Punch extends EventEmitter<PunchEvents> {
  readonly endpoint: Endpoint
  readonly startedAt: number
  readonly done: Promise<PunchResult>
  /** When the first uTP connection was established (clock ms), if one was. */
  utpAt: number | undefined
  private settle!: (r: PunchResult) => void
  private settled = false
  private readonly timers: Timer[] = []
  private out: UtpStream | undefined
  private outConn: PeerConnection | undefined
  private outFailed = false
  private held: { stream: UtpStream; handshake: Handshake } | undefined
  private inConn: PeerConnection | undefined

  constructor(
    private readonly deps: PunchDeps,
    endpoint: Endpoint,
    private readonly options: PunchOptions = {},
  ) {
    super()
    this.endpoint = { host: endpoint.host, port: endpoint.port }
    this.startedAt = deps.clock.now()
    this.done = new Promise((resolve) => {
      this.settle = resolve
    })
  }

  get isSettled(): boolean {
    return this.settled
  }

  /** Sends the first SYN and arms the re-send schedule and the deadline. */
  start(): void {
    const { utp, clock } = this.deps
    try {
      this.out = utp.connect(this.endpoint)
    } catch {
      this.outFailed = true // the manager is full or closed: we can still accept theirs
    }
    const out = this.out
    if (out) {
      out.once('connect', () => this.onOutConnected(out))
      out.on('error', () => {}) // reported through 'close'; the swarm's PeerConnection reports its own
      out.once('close', () => {
        if (!this.outConn) this.onOutFailed()
      })
    }
    for (const at of this.options.resendSchedule ?? DEFAULT_RESEND_SCHEDULE) {
      this.timers.push(clock.setTimeout(() => this.out?.connecting && !this.settled && this.out.resendSyn(), at))
    }
    this.timers.push(
      clock.setTimeout(() => this.finish({ ok: false, reason: 'timeout' }), this.options.timeout ?? 5000),
    )
  }

  /**
   * A uTP stream from our endpoint, accepted while we punch; the peer's handshake has been read (`handshake`) and
   * is still unread on the paused stream.
   */
  offerIncoming(stream: UtpStream, handshake: Handshake): void {
    if (this.settled || this.held || this.inConn) {
      stream.destroy()
      return
    }
    this.markUtp('incoming')
    if (this.winner(handshake.peerId) === 'incoming' || this.outFailed) {
      this.dropOut()
      this.adopt(stream)
    } else if (this.outConn?.isOpen) {
      stream.destroy()
    } else {
      this.held = { stream, handshake }
      stream.on('error', () => {}) // a reset while held just ends it
      stream.once('close', () => {
        if (this.held?.stream === stream) this.held = undefined
      })
    }
  }

  /** A connection to our endpoint made another way (a direct dial that crossed the punch) ends the punch with it. */
  adoptConnected(conn: PeerConnection): void {
    if (this.settled || conn === this.outConn || conn === this.inConn || !conn.isOpen) return
    this.succeed(conn, conn.direction)
  }

  /** Ends the punch now (the node is closing). */
  abort(): void {
    this.finish({ ok: false, reason: 'aborted' })
  }

  /** The direction the rule keeps: the connection the greater peer id initiated. */
  private winner(remoteId: Uint8Array): Direction {
    return compareBytes(this.deps.swarm.peerId, remoteId) > 0 ? 'outgoing' : 'incoming'
  }

  private markUtp(direction: Direction): void {
    if (this.utpAt !== undefined) return
    this.utpAt = this.deps.clock.now()
    this.emit('utp', direction, this.utpAt - this.startedAt)
  }

  private onOutConnected(out: UtpStream): void {
    if (this.settled || this.out !== out) return
    this.markUtp('outgoing')
    const conn = this.deps.swarm.addStream(out, {
      remote: this.endpoint,
      local: this.deps.utp.socket.address(),
      transport: 'utp',
      direction: 'outgoing',
    })
    if (!conn) return this.onOutFailed()
    this.outConn = conn
    conn.once('handshake', (h) => {
      // The swarm's own checks (self, duplicate) ran first and may have closed it.
      if (!conn.isOpen) return
      if (this.inConn?.isOpen) return conn.close(new WireError('DUPLICATE', 'kept the crossing connection'))
      if (this.winner(h.peerId) === 'incoming' && this.inConn) {
        return conn.close(new WireError('DUPLICATE', 'kept the crossing connection'))
      }
      this.held?.stream.destroy()
      this.held = undefined
      this.succeed(conn, 'outgoing')
    })
    conn.once('close', () => {
      if (!this.settled) this.onOutFailed()
    })
  }

  private onOutFailed(): void {
    if (this.outFailed) return
    this.outFailed = true
    this.outConn = undefined
    const held = this.held
    this.held = undefined
    if (held && !this.settled) this.adopt(held.stream)
  }

  /** Drops our own attempt (the rule keeps theirs). */
  private dropOut(): void {
    this.outFailed = true
    if (this.outConn && !this.outConn.isOpen)
      this.outConn.close(new WireError('DUPLICATE', 'kept the crossing connection'))
    else if (!this.outConn) this.out?.destroy()
    this.outConn = undefined
  }

  private adopt(stream: UtpStream): void {
    const conn = this.deps.swarm.addStream(stream, {
      remote: this.endpoint,
      local: this.deps.utp.socket.address(),
      transport: 'utp',
      direction: 'incoming',
    })
    stream.resume()
    if (!conn) return
    this.inConn = conn
    conn.once('handshake', () => {
      if (conn.isOpen) this.succeed(conn, 'incoming')
    })
  }

  private succeed(conn: PeerConnection, direction: Direction): void {
    if (this.settled) return
    const now = this.deps.clock.now()
    this.finish({ ok: true, conn, direction, utpMs: (this.utpAt ?? now) - this.startedAt, ms: now - this.startedAt })
  }

  private finish(result: PunchResult): void {
    if (this.settled) return
    this.settled = true
    for (const t of this.timers) t.cancel()
    this.timers.length = 0
    const kept = result.ok ? result.conn : undefined
    // Nothing but the kept connection survives the punch.
    this.held?.stream.destroy()
    this.held = undefined
    for (const c of [this.outConn, this.inConn]) {
      if (c && c !== kept && !c.isOpen) c.close(new WireError('TIMEOUT', 'hole punch ended'))
    }
    if (!this.outConn && this.out && !result.ok) this.out.destroy()
    if (!this.outConn && this.out?.connecting) this.out.destroy()
    this.settle(result)
  }
}
