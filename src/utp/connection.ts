// One uTP connection as a state machine: packets and clock ticks in, datagrams and stream events out through a
// `ConnectionHost`. No sockets and no timers of its own (the socket manager ticks every connection from one timer),
// so scripted packet sequences drive it in unit tests with an injected "now".
// It owns its parts and wires them: the sending half (sender.ts: in flight, acks, loss, timeouts), the receiving
// half (receiver.ts: ack, reordering, window, delivery), the congestion controller (ledbat.ts) and the RTT
// estimator (rtt.ts). Here live the handshake, packetisation of written bytes, the FIN exchange and the states.
import {
  ST_DATA,
  ST_FIN,
  ST_RESET,
  ST_STATE,
  ST_SYN,
  UTP_HEADER_SIZE,
  type UtpPacket,
  type UtpType,
  writeUtpHeader,
} from '../codec/utp-packet.js'
import { type ConnectionHost, usNow } from './host.js'
import { Ledbat } from './ledbat.js'
import { type ResolvedOptions, resolveOptions, type UtpConnectionOptions, UtpError } from './options.js'
import { UtpReceiver } from './receiver.js'
import { RttEstimator } from './rtt.js'
import { alloc, UtpSender } from './sender.js'
import { seqAdd } from './seq.js'
import { type ConnectionStats, newStats } from './stats.js'
import { type WriteCallback, WriteQueue } from './write-queue.js'

export type { ConnectionStats } from './stats.js'

const HDR = UTP_HEADER_SIZE

export type ConnState = 'syn-sent' | 'syn-recv' | 'connected' | 'closed'

export class UtpConnection {
  state: ConnState
  readonly recvId: number
  readonly sendId: number
  readonly opts: ResolvedOptions
  readonly stats: ConnectionStats = newStats()
  readonly rtt: RttEstimator
  /** The congestion controller. */
  readonly ledbat: Ledbat
  readonly sender: UtpSender
  readonly receiver: UtpReceiver
  /** Set by the socket manager (dirty-list membership, pending-SYN accounting). */
  scheduled = false
  pendingSyn = false
  /** When a gracefully closed connection may be forgotten (it keeps acking a re-sent FIN until then). */
  lingerUntil = 0

  private readonly host: ConnectionHost
  private readonly wq = new WriteQueue()
  private endRequested = false
  private finSent = false
  private finSeq = 0
  private synSeq = 0
  private synSends = 0
  private synDeadline = 0
  private synSentAt = 0
  /** SYN copies sent by `resendSyn` (hole punching): they make the SYN's round trip ambiguous (Karn). */
  private synRepeats = 0
  // Acceptor handshake state.
  /** Peer's SYN seq (acceptor), to recognise a re-sent SYN. */
  private remoteSynSeq = -1
  /** Our SYN-ACK's seq (acceptor): a re-sent SYN-ACK repeats it even if data went out since (ethereum/utp#153). */
  private synAckSeq = -1
  private synAckDue = false
  private lastRecvAt: number
  private lastSendAt: number
  private synRecvDeadline = 0
  private finishedReported = false

  private constructor(
    host: ConnectionHost,
    opts: ResolvedOptions,
    recvId: number,
    sendId: number,
    nextSeq: number,
    lastAcked: number,
    ackNr: number,
    now: number,
  ) {
    this.host = host
    this.opts = opts
    this.recvId = recvId
    this.sendId = sendId
    this.state = 'syn-sent'
    this.lastRecvAt = now
    this.lastSendAt = now
    this.rtt = new RttEstimator(opts)
    this.ledbat = new Ledbat(opts)
    this.receiver = new UtpReceiver(opts, ackNr, this.stats, {
      onPayload: (payload) => host.onData(payload),
      onEof: (t) => {
        host.onEnd()
        this.maybeFinish(t)
      },
      unreadBytes: () => host.unreadBytes(),
    })
    const rx = this.receiver
    this.sender = new UtpSender(opts, nextSeq, lastAcked, this.ledbat, this.rtt, this.stats, {
      restamp: (buf, t) => rx.stamp(buf, t),
      transmit: (buf, t) => this.transmit(buf, t),
    })
  }

  /** The initiator: picks nothing itself — `recvId` and the initial `seq` come from the caller (random). */
  static connect(
    host: ConnectionHost,
    recvId: number,
    seq: number,
    now: number,
    options?: UtpConnectionOptions,
  ): UtpConnection {
    // The SYN takes `seq`; data starts after it. Acks count from the SYN once it is answered.
    const c = new UtpConnection(
      host,
      resolveOptions(options),
      recvId,
      seqAdd(recvId, 1),
      seqAdd(seq, 1),
      seqAdd(seq, -1),
      0,
      now,
    )
    c.synSeq = seq
    c.sendSyn(now)
    return c
  }

  /** The acceptor of a SYN: receives on syn.connId + 1, sends on syn.connId, replies ST_STATE with `seq`. */
  static accept(
    host: ConnectionHost,
    syn: UtpPacket,
    seq: number,
    now: number,
    options?: UtpConnectionOptions,
    synRecvTimeout = 10_000,
  ): UtpConnection {
    const opts = resolveOptions(options)
    const c = new UtpConnection(host, opts, seqAdd(syn.connId, 1), syn.connId, seq, seqAdd(seq, -1), syn.seq, now)
    c.state = 'syn-recv'
    c.remoteSynSeq = syn.seq
    c.synAckSeq = seq
    c.receiver.onTimestamp(syn.timestamp, now)
    // A SYN's window is not meaningful (libtorrent sends 0): keep the default until the peer's next packet.
    c.synRecvDeadline = now + synRecvTimeout
    c.receiver.ackDue = true
    c.flush(now)
    return c
  }

  /** Next sequence number we send. */
  get seqNr(): number {
    return this.sender.seqNr
  }

  /** Last sequence number received in order. */
  get ackNr(): number {
    return this.receiver.ackNr
  }

  /** Bytes of our packets in the network. */
  get inflight(): number {
    return this.sender.inflight
  }

  // ---- application side ----

  /** Queues bytes. `cb` runs once they are copied into packets (the caller may then reuse the buffer). */
  write(chunk: Uint8Array, cb: WriteCallback | null): void {
    if (this.state === 'closed' || this.endRequested) {
      cb?.(new UtpError('ECLOSED', 'write after end'))
      return
    }
    if (chunk.length === 0) {
      cb?.()
      return
    }
    this.wq.push(chunk, cb)
  }

  /** Bytes written and not yet packetised. */
  get queued(): number {
    return this.wq.bytes
  }

  /** No more writes: a FIN follows the queued data. */
  end(): void {
    this.endRequested = true
  }

  /** The application read data: if the window we advertised was nearly closed, tell the peer it reopened. */
  onRead(): void {
    if (this.state === 'closed') return
    this.receiver.onRead()
  }

  /** Aborts: sends ST_RESET (unless already closed) and closes with `err` (default: EDESTROYED). */
  destroy(now: number, err: UtpError | null = null): void {
    if (this.state === 'closed') return
    this.sendControl(ST_RESET, now, this.receiver.ackNr)
    this.close(err ?? new UtpError('EDESTROYED', 'connection destroyed'), now, false)
  }

  /** Whether the manager should flush this connection (it has something to send). */
  get wantsFlush(): boolean {
    return (
      this.receiver.ackDue ||
      this.synAckDue ||
      this.queued > 0 ||
      this.sender.hasLost ||
      (this.endRequested && !this.finSent)
    )
  }

  // ---- network side ----

  /** Handles one packet addressed to this connection. Sends nothing itself: call `flush()` afterwards. */
  receive(pkt: UtpPacket, now: number): void {
    this.stats.packetsReceived++
    const type = pkt.type
    const rx = this.receiver
    if (this.state === 'closed') {
      // Lingering after a graceful close: re-acknowledge a re-sent FIN or data.
      if (type === ST_DATA || type === ST_FIN) rx.ackDue = true
      return
    }
    if (type === ST_RESET) {
      // Both FINs exchanged and every data packet acknowledged (only our FIN's ACK went missing): the peer has
      // everything and already forgot the connection. That is a close, not an error.
      if (rx.gotEof && this.finSent && this.sender.lastAckRecv === seqAdd(this.finSeq, -1)) {
        this.sender.finAcked = true
        this.maybeFinish(now)
        return
      }
      this.close(new UtpError(this.state === 'syn-sent' ? 'ECONNREFUSED' : 'ECONNRESET', 'reset by peer'), now, false)
      return
    }
    if (type === ST_SYN) {
      // A re-sent SYN whose SYN-ACK was lost: answer with the same seq (ethereum/utp#153). Otherwise ignore.
      if (this.state === 'syn-recv' && pkt.seq === this.remoteSynSeq) this.synAckDue = true
      return
    }
    this.lastRecvAt = now
    rx.onTimestamp(pkt.timestamp, now)
    if (this.state === 'syn-sent') {
      // Only the SYN-ACK (an ST_STATE acking our SYN) says where the peer's sequence starts. Data that overtook it
      // would put ackNr past the peer's first data packet, which would then pass for delivered and be lost; the
      // peer re-sends it once we are connected.
      if (type !== ST_STATE || pkt.ack !== this.synSeq) return
      this.state = 'connected'
      this.sender.onSynAcked(this.synSeq)
      // The acceptor's ST_STATE does not consume its seq: its first data packet reuses it.
      rx.ackNr = seqAdd(pkt.seq, -1)
      if (this.synSends === 1 && this.synRepeats === 0) this.rtt.sample(now - this.synSentAt)
      this.rtt.onProgress()
      rx.ackDue = true
      this.host.onConnect()
      if (this.state !== 'connected') return
    } else if (this.state === 'syn-recv') {
      this.state = 'connected'
    }
    this.sender.onAck(pkt, now)
    if (type === ST_DATA || type === ST_FIN) rx.onData(pkt, now)
    if ((this.state as ConnState) !== 'closed') this.maybeFinish(now)
  }

  /** Timers: SYN re-sends, retransmission timeout, keep-alive, idle and half-open timeouts. Then flushes. */
  tick(now: number): void {
    if (this.state === 'closed') return
    if (this.state === 'syn-sent') {
      if (now >= this.synDeadline) {
        if (this.synSends > this.opts.synRetries) {
          this.close(new UtpError('ETIMEDOUT', 'connect timed out'), now, false)
          return
        }
        this.rtt.onTimeout()
        this.sendSyn(now)
      }
      return
    }
    if (this.state === 'syn-recv' && now >= this.synRecvDeadline) {
      this.close(new UtpError('ETIMEDOUT', 'peer never confirmed the connection'), now, false)
      return
    }
    if (now - this.lastRecvAt >= this.opts.idleTimeout) {
      this.close(new UtpError('ETIMEDOUT', 'peer went silent'), now, false)
      return
    }
    if (!this.sender.tick(now)) {
      this.close(new UtpError('ETIMEDOUT', 'retransmissions timed out'), now, false)
      return
    }
    if (now - this.lastSendAt >= this.opts.keepaliveInterval) {
      // ack − 1 cannot be mistaken for a duplicate ACK by the peer.
      this.sendControl(ST_STATE, now, seqAdd(this.receiver.ackNr, -1))
    }
    this.flush(now)
  }

  /** Sends what is due: re-sends of lost packets, new data as the windows allow, FIN, and a pending ACK. */
  flush(now: number): void {
    this.host.onFlush?.()
    const rx = this.receiver
    if (this.state === 'closed') {
      if (rx.ackDue) this.sendControl(ST_STATE, now, rx.ackNr)
      rx.ackDue = false
      return
    }
    if (this.state === 'syn-sent') return
    if (this.synAckDue) {
      this.synAckDue = false
      this.sendControl(ST_STATE, now, rx.ackNr, this.synAckSeq)
    }
    if (this.sender.hasLost) this.sender.resendLost(now)
    if (this.queued > 0 || (this.endRequested && !this.finSent)) this.sendNewData(now)
    if (rx.ackDue) this.sendControl(ST_STATE, now, rx.ackNr)
  }

  // ---- internals: sending ----

  private sendNewData(now: number): void {
    const tx = this.sender
    const win = tx.window()
    const size = this.opts.packetSize
    while (true) {
      if (this.queued === 0) {
        tx.appLimited()
        if (this.endRequested && !this.finSent) this.sendFin(now)
        return
      }
      const n = Math.min(this.queued, size)
      if (!tx.admit(n + HDR, win, now)) return
      if (n < size && tx.inflight > 0 && this.opts.nagle && !this.endRequested) {
        this.wq.adoptTail()
        return
      }
      if (tx.outstandingFull) return
      this.sendDataPacket(n, now)
    }
  }

  private sendDataPacket(n: number, now: number): void {
    const buf = alloc(HDR + n)
    this.wq.copyOut(buf, HDR, n)
    this.pushPacket(buf, ST_DATA, now, false)
  }

  private sendFin(now: number): void {
    this.finSent = true
    this.finSeq = this.sender.seqNr
    this.pushPacket(alloc(HDR), ST_FIN, now, true)
  }

  private pushPacket(buf: Uint8Array, type: UtpType, now: number, fin: boolean): void {
    const seq = this.sender.track(buf, now, fin)
    writeUtpHeader(buf, this.header(type, seq, this.receiver.ackNr, now))
    this.stats.bytesSent += buf.length - HDR
    this.transmit(buf, now)
    // Data carries the ACK; a STATE is still needed when out-of-order data wants a SACK.
    if (!this.receiver.hasGaps) this.receiver.ackDue = false
  }

  /**
   * Sends the SYN again now (same seq and connection id, fresh timestamp), outside the retry schedule and without
   * counting against `synRetries`: a hole punch's first SYNs die at the other NAT until its hole opens. Which copy
   * the SYN-ACK answers is unknown, so the handshake gives no RTT sample. False unless still connecting.
   */
  resendSyn(now: number): boolean {
    if (this.state !== 'syn-sent') return false
    this.synRepeats++
    this.transmitSyn(now)
    return true
  }

  private sendSyn(now: number): void {
    this.synSends++
    this.synSentAt = now
    this.synDeadline = now + this.rtt.rto
    this.transmitSyn(now)
  }

  private transmitSyn(now: number): void {
    const buf = alloc(HDR)
    const h = this.header(ST_SYN, this.synSeq, 0, now)
    h.connId = this.recvId
    writeUtpHeader(buf, h)
    this.transmit(buf, now)
  }

  /** ST_STATE (with a SACK when data arrived out of order) or ST_RESET. */
  private sendControl(type: UtpType, now: number, ack: number, seq = this.sender.seqNr): void {
    const rx = this.receiver
    rx.ackDue = false
    // The SACK bitmap is relative to the ack field: only an ACK of ackNr may carry one (not a keep-alive's ack − 1).
    const sackLen = type === ST_STATE && ack === rx.ackNr ? rx.sackLength() : 0
    const buf = alloc(HDR + (sackLen > 0 ? 2 + sackLen : 0))
    if (sackLen > 0) buf.fill(0, HDR)
    writeUtpHeader(buf, this.header(type, seq, ack, now), sackLen > 0 ? 1 : 0)
    if (sackLen > 0) {
      buf[HDR] = 0
      buf[HDR + 1] = sackLen
      rx.writeSack(buf, HDR + 2, sackLen)
    }
    this.transmit(buf, now)
  }

  private readonly hdr = { type: 0 as UtpType, connId: 0, timestamp: 0, timestampDiff: 0, wnd: 0, seq: 0, ack: 0 }

  private header(type: UtpType, seq: number, ack: number, now: number) {
    const h = this.hdr
    h.type = type
    h.connId = this.sendId
    h.timestamp = usNow(now)
    h.timestampDiff = this.receiver.delayEcho
    h.wnd = this.receiver.advertise()
    h.seq = seq
    h.ack = ack
    return h
  }

  private transmit(buf: Uint8Array, now: number): void {
    this.stats.packetsSent++
    this.lastSendAt = now
    this.host.send(buf)
  }

  // ---- internals: end of the stream ----

  private maybeFinish(now: number): void {
    const finAcked = this.sender.finAcked
    if (finAcked && !this.finishedReported) {
      this.finishedReported = true
      this.host.onFinished()
    }
    if (finAcked && this.receiver.gotEof && this.state !== 'closed') this.close(null, now, true)
  }

  private close(err: UtpError | null, now: number, linger: boolean): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.lingerUntil = linger ? now + Math.min(Math.max(3000, 4 * this.rtt.rto), 60_000) : 0
    // Release queued writers and buffers.
    this.sender.clear()
    this.receiver.clear()
    this.wq.fail(err ?? new UtpError('ECLOSED', 'connection closed'))
    this.host.onClose(err)
  }
}
