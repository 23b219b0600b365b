// Many uTP connections over one DatagramSocket: connection ids, routing by (remote endpoint, receive id), accept
// through SYN cookies (a SYN costs no state until the peer proves it receives our packets; syn-cookie.ts) or with a
// bounded number of half-open connections, ST_RESET matching on either id, optional rate-limited resets to unknown
// connections, one tick timer for every connection and one deferred flush per I/O turn.
import { EventEmitter } from 'node:events'
import { decodeUtpPacket, emptyPacket, ST_RESET, ST_SYN, type UtpPacket } from '../codec/utp-packet.js'
import { cryptoRandom, realClock } from '../net/clock.js'
import type { Clock, DatagramSocket, Endpoint, Random, Timer } from '../net/types.js'
import { UtpConnection } from './connection.js'
import { type UtpConnectionOptions, UtpError } from './options.js'
import { ResetBudget, resetFor } from './reset.js'
import { seqAdd } from './seq.js'
import { type StreamOwner, UtpStream, type UtpStreamOptions } from './stream.js'
import { SynCookies } from './syn-cookie.js'

export interface UtpSocketManagerOptions extends UtpConnectionOptions, UtpStreamOptions {
  /** Time source. @default realClock */
  clock?: Clock
  /** Connection ids and initial sequence numbers. @default cryptoRandom */
  random?: Random
  /**
   * Answer SYNs statelessly and create the connection only when the initiator's first packet acknowledges our
   * SYN-ACK (syn-cookie.ts): spoofed SYNs then hold nothing. Only for protocols where the initiator speaks first,
   * as BitTorrent's does (the handshake): libutp does not acknowledge a SYN-ACK, so with an initiator that waits
   * for us to speak nothing would ever confirm the cookie. `SwarmNode` and `bindUtpPort` turn it on. With false,
   * each SYN creates a half-open connection (bounded by `maxPendingSyns`, expiring after `synRecvTimeout`).
   * @default false
   */
  synCookies?: boolean
  /** Without SYN cookies: half-open accepted connections at once; SYNs beyond this are dropped. @default 1024 */
  maxPendingSyns?: number
  /** Most connections (any state) at once; SYNs and connects beyond it are refused. @default 16384 */
  maxConnections?: number
  /** Without SYN cookies: how long a half-open connection may wait for the initiator's first packet, ms. @default 10000 */
  synRecvTimeout?: number
  /** Answer packets for unknown connections with ST_RESET (as libutp; libtorrent stays silent). @default true */
  resetUnknown?: boolean
  /** Most resets sent to unknown connections per second. @default 100 */
  resetRate?: number
  /** Period of the single timer that drives every connection's timeouts, ms. @default 50 */
  tickInterval?: number
  /**
   * Runs a function after the current batch of datagrams: flushes (ACKs, coalesced writes, deliveries) happen once
   * per batch instead of once per datagram. @default setImmediate with `realClock`, else `clock.setTimeout(fn, 0)`
   */
  defer?: (fn: () => void) => void
}

/** Drops and events, by reason. */
export interface UtpManagerStats {
  received: number
  malformed: number
  /** Non-SYN packets for no known connection. */
  unknown: number
  accepted: number
  /** SYNs refused (no listener, ids in use, too many connections half-open or open). */
  synDropped: number
  /** SYNs answered with a cookie (no state kept). */
  synCookiesSent: number
  /** Connections created by a packet that acknowledged a cookie. */
  synCookiesConfirmed: number
  duplicateSyns: number
  resetsSent: number
  resetsSuppressed: number
  resetsReceived: number
  /** Connections destroyed because code they called (a stream listener, the application) threw. */
  handlerErrors: number
}

interface ManagerEvents {
  connection: [UtpStream]
}

export class UtpSocketManager extends EventEmitter<ManagerEvents> implements StreamOwner {
  readonly socket: DatagramSocket
  readonly stats: UtpManagerStats = {
    received: 0,
    malformed: 0,
    unknown: 0,
    accepted: 0,
    synDropped: 0,
    synCookiesSent: 0,
    synCookiesConfirmed: 0,
    duplicateSyns: 0,
    resetsSent: 0,
    resetsSuppressed: 0,
    resetsReceived: 0,
    handlerErrors: 0,
  }
  private readonly clock: Clock
  private readonly random: Random
  private readonly opts: UtpSocketManagerOptions
  private readonly defer: (fn: () => void) => void
  /** Routing: receive id → streams with that id (usually one; ids are chosen by remote initiators too). */
  private readonly byId = new Map<number, UtpStream[]>()
  private readonly all = new Set<UtpStream>()
  private readonly lingering = new Set<UtpStream>()
  private pending = 0
  private dirty: UtpConnection[] = []
  private flushQueued = false
  private timer: Timer | null = null
  private readonly pkt = emptyPacket()
  private readonly resets: ResetBudget
  private closed = false
  private randBuf: Uint8Array = new Uint8Array(0)
  private randPos = 0
  private readonly cookies: SynCookies | undefined
  /** Set while a cookie-confirmed connection is built: its SYN-ACK went out already, with the SYN. */
  private muted = false

  constructor(socket: DatagramSocket, opts: UtpSocketManagerOptions = {}) {
    super()
    this.socket = socket
    this.opts = opts
    this.clock = opts.clock ?? realClock
    this.random = opts.random ?? cryptoRandom
    // Real time: after the current I/O turn. Virtual time: an event at the current virtual time, which runs after the
    // datagrams already due at this time (a simulator may run many virtual times per real event-loop turn).
    this.defer =
      opts.defer ?? (this.clock === realClock ? (fn) => setImmediate(fn) : (fn) => void this.clock.setTimeout(fn, 0))
    this.resets = new ResetBudget(opts.resetRate ?? 100)
    this.cookies = opts.synCookies === true ? new SynCookies(this.random) : undefined
    socket.setReceiver((data, from) => this.onDatagram(data, from))
  }

  /** Open connections (including half-open and lingering ones). */
  get size(): number {
    return this.all.size
  }

  /** Pending (accepted, unconfirmed) connections. */
  get pendingSyns(): number {
    return this.pending
  }

  /** Dials `remote`. The stream emits 'connect' when the handshake completes, or 'error' (ETIMEDOUT…). */
  connect(remote: Endpoint): UtpStream {
    if (this.closed) throw new Error('uTP socket manager is closed')
    const max = this.opts.maxConnections ?? 16_384
    if (this.all.size >= max) throw new Error(`too many uTP connections (${max})`)
    let recvId = 0
    for (let tries = 0; ; tries++) {
      recvId = this.rand16()
      // Our send id is recvId + 1; avoid any id this endpoint already uses in either direction (a connection
      // receiving on recvId − 1 sends on recvId, which the peer routes it by).
      if (!this.find(recvId, remote) && !this.find(seqAdd(recvId, 1), remote) && !this.find(seqAdd(recvId, -1), remote))
        break
      if (tries > 100) throw new Error('no free uTP connection id')
    }
    const stream = new UtpStream(this, remote, this.socket.address(), true, this.opts)
    this.register(stream, recvId)
    stream.conn = UtpConnection.connect(stream, recvId, this.rand16(), this.clock.now(), this.opts)
    return stream
  }

  /** Dials and waits for the handshake. Rejects on timeout, reset or abort (and destroys the stream). */
  dial(remote: Endpoint, opts: { signal?: AbortSignal } = {}): Promise<UtpStream> {
    return new Promise((resolve, reject) => {
      opts.signal?.throwIfAborted()
      const s = this.connect(remote)
      const onAbort = () => s.destroy(opts.signal?.reason as Error)
      let settled = false
      const done = (err?: Error) => {
        if (settled) return
        settled = true
        s.off('connect', ok)
        s.off('close', onClose)
        s.off('error', done)
        opts.signal?.removeEventListener('abort', onAbort)
        if (err) {
          s.destroy()
          reject(err)
        } else resolve(s)
      }
      const ok = () => done()
      s.once('connect', ok)
      s.once('error', done)
      const onClose = () => done(new Error('uTP connection closed before it connected'))
      s.once('close', onClose)
      opts.signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Destroys every connection (sending ST_RESET) and stops receiving. Does not close the socket. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const s of [...this.all]) s.destroy()
    this.all.clear()
    this.byId.clear()
    this.lingering.clear()
    this.timer?.cancel()
    this.timer = null
    this.socket.setReceiver(null)
  }

  // ---- StreamOwner ----

  now(): number {
    return this.clock.now()
  }

  schedule(conn: UtpConnection): void {
    if (conn.scheduled) return
    conn.scheduled = true
    this.dirty.push(conn)
    if (!this.flushQueued) {
      this.flushQueued = true
      this.defer(this.flushAll)
    }
  }

  sendTo(packet: Uint8Array, to: Endpoint): void {
    if (!this.muted) this.socket.send(packet, to)
  }

  release(stream: UtpStream): void {
    const c = stream.conn
    if (c.pendingSyn) {
      c.pendingSyn = false
      this.pending--
    }
    if (c.lingerUntil > this.clock.now()) this.lingering.add(stream)
    else this.unregister(stream)
  }

  // ---- internals ----

  private readonly flushAll = (): void => {
    this.flushQueued = false
    const list = this.dirty
    this.dirty = []
    const now = this.clock.now()
    for (const c of list) {
      c.scheduled = false
      this.guarded(c, now, () => c.flush(now))
    }
  }

  private readonly tick = (): void => {
    const now = this.clock.now()
    for (const s of this.all) {
      const c = s.conn
      if (c.state === 'closed') {
        if (now >= c.lingerUntil) {
          this.lingering.delete(s)
          this.unregister(s)
        }
        continue
      }
      this.guarded(c, now, () => c.tick(now))
    }
    if (this.all.size === 0 && this.timer) {
      this.timer.cancel()
      this.timer = null
    }
  }

  /**
   * Runs one connection's step. A throw from what it calls (stream listeners run synchronously inside it) would
   * otherwise escape a timer callback and end the process, and stop the batch for every other connection: that
   * connection is destroyed with the error instead.
   */
  private guarded(c: UtpConnection, now: number, step: () => void): void {
    try {
      step()
    } catch (err) {
      this.stats.handlerErrors++
      try {
        c.destroy(now, new UtpError('EDESTROYED', `a handler threw: ${(err as Error)?.message ?? err}`, { cause: err }))
      } catch {
        // The error listener threw too: the connection is closed all the same.
      }
    }
  }

  private register(stream: UtpStream, recvId: number): void {
    const list = this.byId.get(recvId)
    if (list) list.push(stream)
    else this.byId.set(recvId, [stream])
    this.all.add(stream)
    stream.routeId = recvId
    if (this.timer === null) this.timer = this.clock.setInterval(this.tick, this.opts.tickInterval ?? 50)
  }

  private unregister(stream: UtpStream): void {
    if (!this.all.delete(stream)) return
    const id = stream.routeId
    const list = this.byId.get(id)
    if (!list) return
    const i = list.indexOf(stream)
    if (i >= 0) list.splice(i, 1)
    if (list.length === 0) this.byId.delete(id)
  }

  private find(recvId: number, from: Endpoint): UtpStream | undefined {
    const list = this.byId.get(recvId)
    if (list === undefined) return undefined
    for (let i = 0; i < list.length; i++) {
      const r = list[i].remote
      if (r.port === from.port && r.host === from.host) return list[i]
    }
    return undefined
  }

  private onDatagram(data: Uint8Array, from: Endpoint): void {
    this.stats.received++
    const pkt = this.pkt
    try {
      decodeUtpPacket(data, pkt)
    } catch {
      this.stats.malformed++
      return
    }
    const now = this.clock.now()
    if (pkt.type === ST_SYN) {
      this.onSyn(from, now)
      return
    }
    let s = this.find(pkt.connId, from)
    if (s === undefined && pkt.type === ST_RESET) {
      // libutp resets with the id it received (our send id); libtorrent with its send id (our receive id).
      this.stats.resetsReceived++
      for (const id of [seqAdd(pkt.connId, 1), seqAdd(pkt.connId, -1)]) {
        const c = this.find(id, from)
        if (c !== undefined && c.conn.sendId === pkt.connId) s = c
      }
    } else if (pkt.type === ST_RESET) this.stats.resetsReceived++
    const confirmed =
      s === undefined && pkt.type !== ST_RESET && this.cookies ? this.confirmCookie(from, now) : undefined
    if (confirmed === null) return
    s ??= confirmed
    if (s === undefined) {
      this.stats.unknown++
      if (pkt.type !== ST_RESET) this.resetUnknown(from, now)
      return
    }
    const c = s.conn
    this.guarded(c, now, () => c.receive(pkt, now))
    if (c.pendingSyn && c.state !== 'syn-recv') {
      c.pendingSyn = false
      this.pending--
    }
    // Announced once connected: its data so far waits in the stream until the flush after this batch.
    if (confirmed !== undefined && c.state === 'connected') this.emit('connection', confirmed)
    if (c.wantsFlush) this.schedule(c)
  }

  private onSyn(from: Endpoint, now: number): void {
    const pkt = this.pkt
    const existing = this.find(seqAdd(pkt.connId, 1), from)
    if (existing !== undefined) {
      this.stats.duplicateSyns++
      existing.conn.receive(pkt, now)
      if (existing.conn.wantsFlush) this.schedule(existing.conn)
      return
    }
    if (
      this.closed ||
      // Its send id is a receive id we already use with this endpoint: a reset for one would close the other.
      this.find(pkt.connId, from) !== undefined ||
      this.listenerCount('connection') === 0 ||
      (!this.cookies && this.pending >= (this.opts.maxPendingSyns ?? 1024)) ||
      this.all.size >= (this.opts.maxConnections ?? 16_384)
    ) {
      this.stats.synDropped++
      return
    }
    if (this.cookies) {
      // A re-sent SYN gets the same cookie (within a secret's period), as a re-sent SYN-ACK must (ethereum/utp#153).
      this.stats.synCookiesSent++
      this.socket.send(this.cookies.synAck(pkt, from, now, this.opts.recvBufferSize ?? 1024 * 1024), from)
      return
    }
    this.stats.accepted++
    const stream = this.accept(pkt, from, this.rand16(), now)
    stream.conn.pendingSyn = true
    this.pending++
    this.emit('connection', stream)
  }

  private accept(syn: UtpPacket, from: Endpoint, seq: number, now: number): UtpStream {
    const stream = new UtpStream(this, { host: from.host, port: from.port }, this.socket.address(), false, this.opts)
    this.register(stream, seqAdd(syn.connId, 1))
    stream.conn = UtpConnection.accept(stream, syn, seq, now, this.opts, this.opts.synRecvTimeout)
    return stream
  }

  /**
   * A packet on no known connection that acknowledges one of our cookies: the peer receives at the address it
   * claims. The connection is created as if its SYN had just been accepted (the SYN-ACK `accept` sends is muted:
   * it went out already) and the caller then hands it this packet, which completes the handshake. Null: a valid
   * cookie that cannot be honoured now (full, or its ids overlap a newer connection); dropped without a reset, so
   * that the peer's re-send may succeed later.
   */
  private confirmCookie(from: Endpoint, now: number): UtpStream | null | undefined {
    const pkt = this.pkt
    if (this.closed || this.listenerCount('connection') === 0) return undefined
    const ok = (this.cookies as SynCookies).confirm(pkt, from, now)
    if (ok === undefined) return undefined
    if (this.all.size >= (this.opts.maxConnections ?? 16_384)) return null
    if (this.find(seqAdd(pkt.connId, -1), from) !== undefined) return null
    this.stats.accepted++
    this.stats.synCookiesConfirmed++
    const syn = { ...pkt, type: ST_SYN, connId: seqAdd(pkt.connId, -1), seq: ok.synSeq, ack: 0 } as UtpPacket
    this.muted = true
    try {
      return this.accept(syn, from, ok.cookie, now)
    } finally {
      this.muted = false
    }
  }

  private resetUnknown(to: Endpoint, now: number): void {
    if (this.opts.resetUnknown === false) return
    if (!this.resets.take(now)) {
      this.stats.resetsSuppressed++
      return
    }
    this.stats.resetsSent++
    this.socket.send(resetFor(this.pkt, now, this.rand16()), to)
  }

  private rand16(): number {
    if (this.randPos + 2 > this.randBuf.length) {
      this.randBuf = this.random.bytes(256)
      this.randPos = 0
    }
    const v = (this.randBuf[this.randPos] << 8) | this.randBuf[this.randPos + 1]
    this.randPos += 2
    return v
  }
}
