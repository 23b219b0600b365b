// One uTP connection as a state machine: packets and clock ticks in, datagrams and stream events out through a
// `ConnectionHost`. No sockets and no timers of its own (the socket manager ticks every connection from one timer),
// so scripted packet sequences drive it in unit tests with an injected "now".
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
import { type ResolvedOptions, resolveOptions, type UtpConnectionOptions, UtpError } from './options.js'
import { UtpReceiver } from './receiver.js'
import { alloc, type OutPacket } from './sender.js'

export type { ConnectionStats } from './sender.js'

import { seqAdd, seqDiff } from './seq.js'
import { type WriteCallback, WriteQueue } from './write-queue.js'

const HDR = UTP_HEADER_SIZE
/** Most packets we keep in flight (well under half the sequence space). */
const MAX_OUTSTANDING = 16_000

export type ConnState = 'syn-sent' | 'syn-recv' | 'connected' | 'closed'

export class UtpConnection extends UtpReceiver {
  state: ConnState
  readonly recvId: number
  readonly sendId: number
  readonly opts: ResolvedOptions
  /** Set by the socket manager (dirty-list membership, pending-SYN accounting). */
  scheduled = false
  pendingSyn = false
  /** When a gracefully closed connection may be forgotten (it keeps acking a re-sent FIN until then). */
  lingerUntil = 0

  private readonly host: ConnectionHost
  private readonly wq = new WriteQueue()
  private probeAt = 0
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

  private constructor(
    host: ConnectionHost,
    opts: ResolvedOptions,
    recvId: number,
    sendId: number,
    seq: number,
    now: number,
  ) {
    super(opts, seq)
    this.host = host
    this.opts = opts
    this.recvId = recvId
    this.sendId = sendId
    this.state = 'syn-sent'
    this.lastRecvAt = now
    this.lastSendAt = now
  }

  /** The initiator: picks nothing itself — `recvId` and the initial `seq` come from the caller (random). */
  static connect(
    host: ConnectionHost,
    recvId: number,
    seq: number,
    now: number,
    options?: UtpConnectionOptions,
  ): UtpConnection {
    const c = new UtpConnection(host, resolveOptions(options), recvId, seqAdd(recvId, 1), seq, now)
    c.synSeq = seq
    c.seqNr = seqAdd(seq, 1)
    c.lastAckRecv = seqAdd(seq, -1)
    c.recoverSeq = c.lastAckRecv
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
    const c = new UtpConnection(host, resolveOptions(options), seqAdd(syn.connId, 1), syn.connId, seq, now)
    c.state = 'syn-recv'
    c.remoteSynSeq = syn.seq
    c.synAckSeq = seq
    c.ackNr = syn.seq
    c.replyMicro = (usNow(now) - syn.timestamp) >>> 0
    // A SYN's window is not meaningful (libtorrent sends 0): keep the default until the peer's next packet.
    c.synRecvDeadline = now + synRecvTimeout
    c.ackDue = true
    c.flush(now)
    return c
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
    if (this.lastWndSent < this.opts.packetSize * 2 && this.advertisedWindow() > this.lastWndSent) this.ackDue = true
  }

  /** Aborts: sends ST_RESET (unless already closed) and closes with `err` (default: EDESTROYED). */
  destroy(now: number, err: UtpError | null = null): void {
    if (this.state === 'closed') return
    this.sendControl(ST_RESET, now, this.ackNr)
    this.close(err ?? new UtpError('EDESTROYED', 'connection destroyed'), now, false)
  }

  /** Whether the manager should flush this connection (it has something to send). */
  get wantsFlush(): boolean {
    return (
      this.ackDue || this.synAckDue || this.queued > 0 || this.lostCount > 0 || (this.endRequested && !this.finSent)
    )
  }

  // ---- network side ----

  /** Handles one packet addressed to this connection. Sends nothing itself: call `flush()` afterwards. */
  receive(pkt: UtpPacket, now: number): void {
    this.stats.packetsReceived++
    const type = pkt.type
    if (this.state === 'closed') {
      // Lingering after a graceful close: re-acknowledge a re-sent FIN or data.
      if (type === ST_DATA || type === ST_FIN) this.ackDue = true
      return
    }
    if (type === ST_RESET) {
      // Both FINs exchanged and every data packet acknowledged (only our FIN's ACK went missing): the peer has
      // everything and already forgot the connection. That is a close, not an error.
      if (this.gotEof && this.finSent && this.lastAckRecv === seqAdd(this.finSeq, -1)) {
        this.finAcked = true
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
    this.replyMicro = (usNow(now) - pkt.timestamp) >>> 0
    if (this.state === 'syn-sent') {
      // Only the SYN-ACK (an ST_STATE acking our SYN) says where the peer's sequence starts. Data that overtook it
      // would put ackNr past the peer's first data packet, which would then pass for delivered and be lost; the
      // peer re-sends it once we are connected.
      if (type !== ST_STATE || pkt.ack !== this.synSeq) return
      this.state = 'connected'
      this.lastAckRecv = this.synSeq
      this.recoverSeq = this.synSeq
      // The acceptor's ST_STATE does not consume its seq: its first data packet reuses it.
      this.ackNr = seqAdd(pkt.seq, -1)
      if (this.synSends === 1 && this.synRepeats === 0) this.rtt.sample(now - this.synSentAt)
      this.rtt.onProgress()
      this.ackDue = true
      this.host.onConnect()
      if (this.state !== 'connected') return
    } else if (this.state === 'syn-recv') {
      this.state = 'connected'
    }
    this.processAck(pkt, now)
    if (type === ST_DATA || type === ST_FIN) this.processData(pkt, now)
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
    if (this.lastAckRecv !== seqAdd(this.seqNr, -1)) {
      if (now >= this.rtoDeadline) {
        if (this.rtt.backoff >= this.opts.maxTimeouts) {
          this.close(new UtpError('ETIMEDOUT', 'retransmissions timed out'), now, false)
          return
        }
        this.onTimeout(now)
      } else if (
        this.probes < 2 &&
        this.rtt.rtt > 0 &&
        now >= this.progressAt + this.probeTimeout() * (this.probes + 1)
      ) {
        this.tailLossProbe(now)
      }
    }
    if (now - this.lastSendAt >= this.opts.keepaliveInterval) {
      // ack − 1 cannot be mistaken for a duplicate ACK by the peer.
      this.sendControl(ST_STATE, now, seqAdd(this.ackNr, -1))
    }
    this.flush(now)
  }

  /** Sends what is due: re-sends of lost packets, new data as the windows allow, FIN, and a pending ACK. */
  flush(now: number): void {
    this.host.onFlush?.()
    if (this.state === 'closed') {
      if (this.ackDue) this.sendControl(ST_STATE, now, this.ackNr)
      this.ackDue = false
      return
    }
    if (this.state === 'syn-sent') return
    if (this.synAckDue) {
      this.synAckDue = false
      this.sendControl(ST_STATE, now, this.ackNr, this.synAckSeq)
    }
    if (this.lostCount > 0) this.sendResends(now)
    if (this.queued > 0 || (this.endRequested && !this.finSent)) this.sendNewData(now)
    if (this.ackDue) this.sendControl(ST_STATE, now, this.ackNr)
  }

  // ---- internals: sending ----

  private sendNewData(now: number): void {
    const win = this.window()
    const size = this.opts.packetSize
    while (true) {
      if (this.queued === 0) {
        this.cwndFull = false
        if (this.endRequested && !this.finSent) this.sendFin(now)
        return
      }
      const n = Math.min(this.queued, size)
      if (this.inflight + n + HDR <= win) this.probeAt = 0
      else {
        if (this.inflight > 0) {
          this.cwndFull = true
          return
        }
        // Nothing in flight and the peer's window is shut: probe with one packet after a timeout.
        if (this.peerWnd < n + HDR) {
          if (this.probeAt === 0) this.probeAt = now + this.rtt.rto
          if (now < this.probeAt) return
          this.probeAt = 0
        }
      }
      if (n < size && this.inflight > 0 && this.opts.nagle && !this.endRequested) {
        this.wq.adoptTail()
        return
      }
      if (seqDiff(this.seqNr, this.lastAckRecv) >= MAX_OUTSTANDING) return
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
    this.finSeq = this.seqNr
    this.pushPacket(alloc(HDR), ST_FIN, now, true)
  }

  private pushPacket(buf: Uint8Array, type: UtpType, now: number, fin: boolean): void {
    const seq = this.seqNr
    if (this.out.size === 0) {
      this.rtoDeadline = now + this.rtt.rto
      this.progressAt = now
      this.probes = 0
    }
    const p: OutPacket = { seq, buf, size: buf.length, sentAt: now, transmits: 1, sacked: false, lost: false, fin }
    this.out.put(p, seqDiff(seq, this.lastAckRecv) + 1)
    this.seqNr = seqAdd(seq, 1)
    this.inflight += p.size
    writeUtpHeader(buf, this.header(type, seq, this.ackNr, now))
    this.stats.bytesSent += buf.length - HDR
    this.transmit(buf, now)
    // Data carries the ACK; a STATE is still needed when out-of-order data wants a SACK.
    if (this.reorder.size === 0) this.ackDue = false
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
  private sendControl(type: UtpType, now: number, ack: number, seq = this.seqNr): void {
    this.ackDue = false
    // The SACK bitmap is relative to the ack field: only an ACK of ackNr may carry one (not a keep-alive's ack − 1).
    const sackLen = type === ST_STATE && ack === this.ackNr ? this.reorder.sackLength(this.ackNr) : 0
    const buf = alloc(HDR + (sackLen > 0 ? 2 + sackLen : 0))
    if (sackLen > 0) buf.fill(0, HDR)
    writeUtpHeader(buf, this.header(type, seq, ack, now), sackLen > 0 ? 1 : 0)
    if (sackLen > 0) {
      buf[HDR] = 0
      buf[HDR + 1] = sackLen
      this.reorder.writeSack(this.ackNr, buf, HDR + 2, sackLen)
    }
    this.transmit(buf, now)
  }

  private readonly hdr = { type: 0 as UtpType, connId: 0, timestamp: 0, timestampDiff: 0, wnd: 0, seq: 0, ack: 0 }

  private header(type: UtpType, seq: number, ack: number, now: number) {
    const h = this.hdr
    h.type = type
    h.connId = this.sendId
    h.timestamp = usNow(now)
    h.timestampDiff = this.replyMicro
    h.wnd = this.advertisedWindow()
    this.lastWndSent = h.wnd
    h.seq = seq
    h.ack = ack
    return h
  }

  protected transmit(buf: Uint8Array, now: number): void {
    this.stats.packetsSent++
    this.lastSendAt = now
    this.host.send(buf)
  }

  protected unreadBytes(): number {
    return this.host.unreadBytes()
  }

  // ---- internals: end of the stream ----

  protected onPayload(payload: Uint8Array): void {
    this.host.onData(payload)
  }

  protected onEof(now: number): void {
    this.host.onEnd()
    this.maybeFinish(now)
  }

  private finishedReported = false

  private maybeFinish(now: number): void {
    if (this.finAcked && !this.finishedReported) {
      this.finishedReported = true
      this.host.onFinished()
    }
    if (this.finAcked && this.gotEof && this.state !== 'closed') this.close(null, now, true)
  }

  private close(err: UtpError | null, now: number, linger: boolean): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.lingerUntil = linger ? now + Math.min(Math.max(3000, 4 * this.rtt.rto), 60_000) : 0
    // Release queued writers and buffers.
    this.out.clear()
    this.reorder.clear()
    this.inflight = 0
    this.lostCount = 0
    this.wq.fail(err ?? new UtpError('ECLOSED', 'connection closed'))
    this.host.onClose(err)
  }
}
