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
  writeU32,
  writeUtpHeader,
} from '../codec/utp-packet.js'
import { Ledbat } from './ledbat.js'
import { type ResolvedOptions, resolveOptions, type UtpConnectionOptions, UtpError } from './options.js'
import { SeqRing } from './ring.js'
import { RttEstimator } from './rtt.js'
import { seqAdd, seqDiff } from './seq.js'

const HDR = UTP_HEADER_SIZE
/** Largest selective-ACK bitmask we send (bytes; multiple of 4, as libutp expects). */
const MAX_SACK_BYTES = 128
/** Window assumed for the peer until it advertises one (libtorrent's SYN carries wnd = 0). */
const DEFAULT_PEER_WINDOW = 1024 * 1024
/** Most packets we keep in flight (well under half the sequence space). */
const MAX_OUTSTANDING = 16_000

export type ConnState = 'syn-sent' | 'syn-recv' | 'connected' | 'closed'

/** What a connection does to the world. The socket manager implements it over a DatagramSocket and a Duplex. */
export interface ConnectionHost {
  /** Sends one datagram to the peer. The array is not touched again after the call. */
  send(packet: Uint8Array): void
  /** The handshake completed (initiator). */
  onConnect(): void
  /** In-order payload (a view into the received datagram). */
  onData(payload: Uint8Array): void
  /** The peer's FIN arrived and every byte before it was delivered. */
  onEnd(): void
  /** Our FIN was acknowledged: every byte we wrote arrived. */
  onFinished(): void
  /** The connection is over: `null` after a graceful close in both directions, an error otherwise. Called once. */
  onClose(err: UtpError | null): void
  /** Delivered bytes the application has not read yet (they shrink the window we advertise). */
  unreadBytes(): number
  /** Called at the start of every `flush()`: the end of a batch of received packets (optional). */
  onFlush?(): void
}

interface OutPacket {
  seq: number
  buf: Uint8Array
  /** Bytes on the wire (header + payload). */
  size: number
  sentAt: number
  transmits: number
  sacked: boolean
  lost: boolean
  fin: boolean
}

interface InPacket {
  seq: number
  payload: Uint8Array
  fin: boolean
}

type WriteCallback = (err?: Error | null) => void

/** Counters per connection (for tests, stats and debugging). */
export interface ConnectionStats {
  packetsSent: number
  packetsReceived: number
  bytesSent: number
  bytesReceived: number
  resent: number
  fastResent: number
  /** Re-sends found unnecessary (the original arrived): reordering, not loss. */
  spurious: number
  timeouts: number
  duplicates: number
  outOfOrder: number
  dropped: number
}

export class UtpConnection {
  state: ConnState
  readonly recvId: number
  readonly sendId: number
  readonly opts: ResolvedOptions
  readonly rtt: RttEstimator
  readonly ledbat: Ledbat
  readonly stats: ConnectionStats = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    resent: 0,
    fastResent: 0,
    spurious: 0,
    timeouts: 0,
    duplicates: 0,
    outOfOrder: 0,
    dropped: 0,
  }
  /** Set by the socket manager (dirty-list membership, pending-SYN accounting). */
  scheduled = false
  pendingSyn = false
  /** When a gracefully closed connection may be forgotten (it keeps acking a re-sent FIN until then). */
  lingerUntil = 0

  private readonly host: ConnectionHost
  // Send side.
  /** Next sequence number to send. */
  seqNr: number
  /** Highest sequence number the peer acknowledged cumulatively. */
  lastAckRecv: number
  private readonly out = new SeqRing<OutPacket>()
  /** Bytes of packets in the network (sent, not acked, not SACKed, not presumed lost). */
  inflight = 0
  private lostCount = 0
  private readonly queue: Uint8Array[] = []
  private readonly queueCbs: (WriteCallback | null)[] = []
  private queueHead = 0
  private queueOffset = 0
  /** Bytes written and not yet packetised. */
  queued = 0
  peerWnd = DEFAULT_PEER_WINDOW
  private dupAcks = 0
  /** Losses before this seq belong to the window already halved for. */
  private recoverSeq: number
  private cwndFull = false
  private rtoDeadline = 0
  /** When the current wait for an ACK began (last ACK progress, or the first send into an empty pipe). */
  private progressAt = 0
  /** Reordering window multiplier (grows on spurious re-sends). */
  private reoMult = 1
  private undoSeq = -1
  private undoCwnd = 0
  private undoSsthresh = 0
  /** Tail-loss probes sent since the last ACK progress. */
  private probes = 0
  private probeAt = 0
  private endRequested = false
  private finSent = false
  private finAcked = false
  private finSeq = 0
  private synSeq = 0
  private synSends = 0
  private synDeadline = 0
  private synSentAt = 0
  // Receive side.
  /** Last sequence number received in order. */
  ackNr = 0
  private readonly inbuf = new SeqRing<InPacket>()
  private reorderBytes = 0
  private recvHighest = 0
  private eofSeq = -1
  private gotEof = false
  private ackDue = false
  /** Peer's SYN seq (acceptor), to recognise a re-sent SYN. */
  private remoteSynSeq = -1
  private replyMicro = 0
  private lastRecvAt: number
  private lastSendAt: number
  private lastWndSent = 0
  private synRecvDeadline = 0

  private constructor(
    host: ConnectionHost,
    opts: ResolvedOptions,
    recvId: number,
    sendId: number,
    seq: number,
    now: number,
  ) {
    this.host = host
    this.opts = opts
    this.recvId = recvId
    this.sendId = sendId
    this.seqNr = seq
    this.lastAckRecv = seqAdd(seq, -1)
    this.recoverSeq = this.lastAckRecv
    this.rtt = new RttEstimator(opts)
    this.ledbat = new Ledbat(opts)
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
    c.ackNr = syn.seq
    c.recvHighest = syn.seq
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
    this.queue.push(chunk)
    this.queueCbs.push(cb)
    this.queued += chunk.length
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
    return this.ackDue || this.queued > 0 || this.lostCount > 0 || (this.endRequested && !this.finSent)
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
      if (this.state === 'syn-recv' && pkt.seq === this.remoteSynSeq) this.ackDue = true
      return
    }
    this.lastRecvAt = now
    this.replyMicro = (usNow(now) - pkt.timestamp) >>> 0
    if (this.state === 'syn-sent') {
      if (pkt.ack !== this.synSeq) return
      this.state = 'connected'
      this.lastAckRecv = this.synSeq
      this.recoverSeq = this.synSeq
      // The acceptor's ST_STATE does not consume its seq: its first data packet reuses it.
      this.ackNr = seqAdd(pkt.seq, -1)
      this.recvHighest = this.ackNr
      if (this.synSends === 1) this.rtt.sample(now - this.synSentAt)
      this.rtt.onProgress()
      this.ackDue = true
      this.host.onConnect()
      if (this.state !== 'connected') return
    } else if (this.state === 'syn-recv') {
      this.state = 'connected'
    }
    this.peerWnd = pkt.wnd
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
    if (this.lostCount > 0) this.sendResends(now)
    if (this.queued > 0 || (this.endRequested && !this.finSent)) this.sendNewData(now)
    if (this.ackDue) this.sendControl(ST_STATE, now, this.ackNr)
  }

  // ---- internals: acknowledgements and loss ----

  private processAck(pkt: UtpPacket, now: number): void {
    if (pkt.timestampDiff !== 0) this.ledbat.onDelaySample(pkt.timestampDiff, now)
    const ack = pkt.ack
    const d = seqDiff(ack, this.lastAckRecv)
    const lastSent = seqAdd(this.seqNr, -1)
    // An ack of something never sent is forged or stale: ignore the ack part.
    if (seqDiff(ack, lastSent) > 0) return
    let acked = 0
    if (d > 0) {
      for (let s = seqAdd(this.lastAckRecv, 1), i = 0; i < d; s = seqAdd(s, 1), i++) {
        const p = this.out.take(s)
        if (p === undefined) continue
        acked += this.release(p, now, ack)
      }
      this.lastAckRecv = ack
      this.dupAcks = 0
      this.probes = 0
      this.progressAt = now
      this.rtt.onProgress()
      this.rtoDeadline = now + this.rtt.rto
    } else if (d === 0 && pkt.type === ST_STATE && pkt.sack === null && this.out.size > 0) {
      // Duplicate ACKs count only from ST_STATE (bittorrent/libutp#87), and only without a SACK: a SACK says
      // exactly what arrived and is handled (reordering-tolerantly) below.
      if (++this.dupAcks === 3) {
        const p = this.out.get(seqAdd(ack, 1))
        if (p !== undefined && !p.sacked) this.markLost(p, now, true)
      }
    }
    if (pkt.sack !== null && this.out.size > 0) acked += this.processSack(ack, pkt.sack, now)
    if (acked > 0) {
      this.ledbat.onAck(acked, this.cwndFull)
    }
  }

  /**
   * Forgets an acknowledged packet; returns the bytes it newly acknowledged. Only the packet the ACK names is an
   * RTT sample: older ones covered by a cumulative jump lost their own ACK and would inflate the estimate.
   */
  private release(p: OutPacket, now: number, ack: number): number {
    // Cumulatively acknowledged: everything up to this packet arrived.
    if (p.fin) this.finAcked = true
    if (p.sacked) return 0
    if (p.transmits > 1) this.checkSpurious(p, now)
    if (p.lost) this.lostCount--
    else this.inflight -= p.size
    if (p.transmits === 1 && p.seq === ack && seqDiff(p.seq, this.recoverSeq) > 0) this.rtt.sample(now - p.sentAt)
    return p.size
  }

  private processSack(ack: number, mask: Uint8Array, now: number): number {
    let acked = 0
    const lastSent = seqAdd(this.seqNr, -1)
    const bits = mask.length * 8
    // Walk from the highest bit down, counting SACKed packets above each hole: a hole with packets above it
    // may be lost.
    let above = 0
    let sampled = false
    const srtt = this.rtt.rtt
    const reoDeadline = srtt + Math.min(srtt, Math.max((srtt / 4) * this.reoMult, 1))
    for (let i = bits - 1; i >= -1; i--) {
      const s = seqAdd(ack, 2 + i)
      if (i >= 0 && seqDiff(s, lastSent) > 0) continue
      const set = i >= 0 && (mask[i >> 3] & (1 << (i & 7))) !== 0
      const p = this.out.get(s)
      if (set) {
        above++
        if (p !== undefined && !p.sacked) {
          // A SACKed FIN is not a finished stream: only the cumulative ACK says every byte before it arrived.
          if (p.transmits > 1) this.checkSpurious(p, now)
          if (p.lost) this.lostCount--
          else this.inflight -= p.size
          // The highest newly SACKed packet is the one that made the peer send this ACK.
          if (p.transmits === 1 && !sampled && seqDiff(p.seq, this.recoverSeq) > 0) this.rtt.sample(now - p.sentAt)
          sampled = true
          p.sacked = true
          p.lost = false
          acked += p.size
        }
      } else if (p !== undefined && !p.sacked) {
        // A packet sent before one that arrived is lost once it is overdue by more than a reordering window
        // (RACK, RFC 8985): time-based, so jitter and reordering do not trigger spurious re-sends, and small
        // windows (fewer than 3 packets above a hole) still recover without a timeout.
        if (!p.lost && above >= 1 && now - p.sentAt > reoDeadline) this.markLost(p, now, true)
      }
    }
    return acked
  }

  /**
   * An ACK for a re-sent packet that comes back much sooner than a round trip answers the original: the re-send
   * was spurious (reordering, not loss). Widen the reordering window (RACK's reo_wnd_mult) and, if that loss halved
   * the window, undo the halving (as Eifel does).
   */
  private checkSpurious(p: OutPacket, now: number): void {
    if (now - p.sentAt >= this.rtt.rtt / 2) return
    this.stats.spurious++
    if (this.reoMult < 4) this.reoMult++
    if (p.seq === this.undoSeq) {
      this.undoSeq = -1
      if (this.undoCwnd > this.ledbat.cwnd) this.ledbat.cwnd = this.undoCwnd
      this.ledbat.ssthresh = this.undoSsthresh
    }
  }

  private markLost(p: OutPacket, _now: number, fast: boolean): void {
    if (p.lost || p.sacked) return
    p.lost = true
    this.inflight -= p.size
    this.lostCount++
    if (fast) {
      this.stats.fastResent++
      // Halve at most once per window of data.
      if (seqDiff(p.seq, this.recoverSeq) > 0) {
        this.undoSeq = p.seq
        this.undoCwnd = this.ledbat.cwnd
        this.undoSsthresh = this.ledbat.ssthresh
        this.ledbat.onLoss()
        this.recoverSeq = seqAdd(this.seqNr, -1)
      }
    }
  }

  private onTimeout(now: number): void {
    this.stats.timeouts++
    this.rtt.onTimeout()
    this.ledbat.onTimeout()
    this.recoverSeq = seqAdd(this.seqNr, -1)
    // Everything in flight is presumed lost and goes again, oldest first, as the (now minimal) window allows.
    for (let s = seqAdd(this.lastAckRecv, 1); s !== this.seqNr; s = seqAdd(s, 1)) {
      const p = this.out.get(s)
      if (p !== undefined) this.markLost(p, now, false)
    }
    this.rtoDeadline = now + this.rtt.rto
    // The oldest packet goes at once even if the window is exhausted.
    const first = this.out.get(seqAdd(this.lastAckRecv, 1))
    if (first?.lost) this.resend(first, now)
  }

  /** Tail-loss probe timeout: a lost ACK (or a lost last packet) is found after ~2 RTT instead of a full RTO. */
  private probeTimeout(): number {
    return Math.max(2 * this.rtt.rtt, 10)
  }

  /**
   * Re-sends the newest outstanding packet so that the peer answers with a fresh ACK (RFC 8985's tail-loss probe).
   * Small windows see a timeout for every lost ACK otherwise. The window is left alone.
   */
  private tailLossProbe(now: number): void {
    this.probes++
    for (let s = seqAdd(this.seqNr, -1); s !== this.lastAckRecv; s = seqAdd(s, -1)) {
      const p = this.out.get(s)
      if (p === undefined || p.sacked) continue
      if (p.lost) {
        this.resend(p, now)
        return
      }
      const buf = alloc(p.size)
      buf.set(p.buf)
      p.buf = buf
      p.transmits++
      p.sentAt = now
      this.stats.resent++
      this.stamp(buf, now)
      this.transmit(buf, now)
      return
    }
  }

  private sendResends(now: number): void {
    const win = this.window()
    for (let s = seqAdd(this.lastAckRecv, 1); s !== this.seqNr && this.lostCount > 0; s = seqAdd(s, 1)) {
      const p = this.out.get(s)
      if (p === undefined || !p.lost) continue
      // The oldest hole is re-sent regardless of the window (fast retransmit); others wait for room.
      if (s !== seqAdd(this.lastAckRecv, 1) && this.inflight + p.size > win) {
        this.cwndFull = true
        return
      }
      this.resend(p, now)
    }
  }

  private resend(p: OutPacket, now: number): void {
    // A fresh copy: the old array may still sit in a send queue (or in a simulated network).
    const buf = alloc(p.size)
    buf.set(p.buf)
    p.buf = buf
    p.lost = false
    this.lostCount--
    this.inflight += p.size
    p.transmits++
    p.sentAt = now
    this.stats.resent++
    this.stamp(buf, now)
    this.transmit(buf, now)
  }

  // ---- internals: sending ----

  private window(): number {
    return Math.min(this.ledbat.cwnd, this.peerWnd)
  }

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
      if (this.inflight + n + HDR > win) {
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
        this.adoptTail()
        return
      }
      if (seqDiff(this.seqNr, this.lastAckRecv) >= MAX_OUTSTANDING) return
      this.sendDataPacket(n, now)
    }
  }

  /**
   * Nagle holds a partial packet. Its bytes may belong to a write whose callback is still pending, and the stream
   * sends nothing more until that callback runs: copy the tail (under one packet) and release the writers, so the
   * next writes can fill the packet instead of waiting for every byte in flight to be acknowledged.
   */
  private adoptTail(): void {
    let pending = false
    for (let i = this.queueHead; i < this.queueCbs.length; i++) if (this.queueCbs[i] !== null) pending = true
    if (!pending) return
    const tail = new Uint8Array(this.queued)
    let off = 0
    const cbs: WriteCallback[] = []
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const c = i === this.queueHead ? this.queue[i].subarray(this.queueOffset) : this.queue[i]
      tail.set(c, off)
      off += c.length
      const cb = this.queueCbs[i]
      if (cb !== null) cbs.push(cb)
    }
    this.queue.length = 0
    this.queueCbs.length = 0
    this.queue.push(tail)
    this.queueCbs.push(null)
    this.queueHead = 0
    this.queueOffset = 0
    for (const cb of cbs) cb()
  }

  private sendDataPacket(n: number, now: number): void {
    const buf = alloc(HDR + n)
    let off = HDR
    let left = n
    while (left > 0) {
      const chunk = this.queue[this.queueHead]
      const avail = chunk.length - this.queueOffset
      const take = Math.min(avail, left)
      buf.set(take === chunk.length ? chunk : chunk.subarray(this.queueOffset, this.queueOffset + take), off)
      off += take
      left -= take
      this.queueOffset += take
      if (this.queueOffset === chunk.length) {
        const cb = this.queueCbs[this.queueHead]
        this.queue[this.queueHead] = EMPTY
        this.queueCbs[this.queueHead] = null
        this.queueHead++
        this.queueOffset = 0
        if (cb !== null) cb()
      }
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0
      this.queueCbs.length = 0
      this.queueHead = 0
    } else if (this.queueHead > 1024) {
      this.queue.splice(0, this.queueHead)
      this.queueCbs.splice(0, this.queueHead)
      this.queueHead = 0
    }
    this.queued -= n
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
    if (this.inbuf.size === 0) this.ackDue = false
  }

  /** Re-stamps a packet being re-sent: fresh timestamp, delay echo, window and ack. */
  private stamp(buf: Uint8Array, now: number): void {
    writeU32(buf, 4, usNow(now))
    writeU32(buf, 8, this.replyMicro)
    const wnd = this.advertisedWindow()
    this.lastWndSent = wnd
    writeU32(buf, 12, wnd)
    buf[18] = (this.ackNr >> 8) & 255
    buf[19] = this.ackNr & 255
    // Re-sent packets carry no SACK: the extension byte stays 0 (data packets are built without one).
  }

  private sendSyn(now: number): void {
    this.synSends++
    this.synSentAt = now
    this.synDeadline = now + this.rtt.rto
    const buf = alloc(HDR)
    const h = this.header(ST_SYN, this.synSeq, 0, now)
    h.connId = this.recvId
    writeUtpHeader(buf, h)
    this.transmit(buf, now)
  }

  /** ST_STATE (with a SACK when data arrived out of order) or ST_RESET. */
  private sendControl(type: UtpType, now: number, ack: number): void {
    this.ackDue = false
    // The SACK bitmap is relative to the ack field: only an ACK of ackNr may carry one (not a keep-alive's ack − 1).
    const sackLen = type === ST_STATE && ack === this.ackNr && this.inbuf.size > 0 ? this.sackLength() : 0
    const buf = alloc(HDR + (sackLen > 0 ? 2 + sackLen : 0))
    if (sackLen > 0) buf.fill(0, HDR)
    writeUtpHeader(buf, this.header(type, this.seqNr, ack, now), sackLen > 0 ? 1 : 0)
    if (sackLen > 0) {
      buf[HDR] = 0
      buf[HDR + 1] = sackLen
      const base = seqAdd(this.ackNr, 2)
      for (let i = 0; i < sackLen * 8; i++) {
        if (this.inbuf.get(seqAdd(base, i)) !== undefined) buf[HDR + 2 + (i >> 3)] |= 1 << (i & 7)
      }
    }
    this.transmit(buf, now)
  }

  private sackLength(): number {
    const span = seqDiff(this.recvHighest, this.ackNr) - 1
    if (span <= 0) return 0
    const len = Math.ceil(span / 32) * 4
    return Math.min(len, MAX_SACK_BYTES)
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

  private transmit(buf: Uint8Array, now: number): void {
    this.stats.packetsSent++
    this.lastSendAt = now
    this.host.send(buf)
  }

  advertisedWindow(): number {
    const w = this.opts.recvBufferSize - this.host.unreadBytes() - this.reorderBytes
    return Math.max(w, 0)
  }

  // ---- internals: receiving ----

  private processData(pkt: UtpPacket, now: number): void {
    const s = pkt.seq
    const fin = pkt.type === ST_FIN
    if (this.eofSeq >= 0 && seqDiff(s, this.eofSeq) > 0) return
    const d = seqDiff(s, this.ackNr)
    this.ackDue = true
    if (d <= 0) {
      this.stats.duplicates++
      return
    }
    const payload = pkt.payload
    if (fin && this.eofSeq < 0) this.eofSeq = s
    if (d === 1) {
      this.deliver(s, payload, fin, now)
      while (this.inbuf.size > 0 && !this.gotEof) {
        const e = this.inbuf.take(seqAdd(this.ackNr, 1))
        if (e === undefined) break
        this.reorderBytes -= e.payload.length
        this.deliver(e.seq, e.payload, e.fin, now)
      }
      if (this.inbuf.size === 0) this.recvHighest = this.ackNr
      return
    }
    if (d > this.opts.maxReorder || this.reorderBytes + payload.length > this.opts.recvBufferSize) {
      this.stats.dropped++
      return
    }
    if (this.inbuf.get(s) !== undefined) {
      this.stats.duplicates++
      return
    }
    this.stats.outOfOrder++
    this.inbuf.put({ seq: s, payload, fin }, d)
    this.reorderBytes += payload.length
    if (seqDiff(s, this.recvHighest) > 0) this.recvHighest = s
  }

  private deliver(seq: number, payload: Uint8Array, fin: boolean, now: number): void {
    this.ackNr = seq
    if (payload.length > 0) {
      this.stats.bytesReceived += payload.length
      this.host.onData(payload)
    }
    if (fin) {
      this.gotEof = true
      this.inbuf.clear()
      this.reorderBytes = 0
      this.host.onEnd()
      this.maybeFinish(now)
    }
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
    const cbs = this.queueCbs.slice(this.queueHead)
    this.queue.length = 0
    this.queueCbs.length = 0
    this.queueHead = 0
    this.queued = 0
    this.out.clear()
    this.inbuf.clear()
    this.inflight = 0
    this.lostCount = 0
    this.reorderBytes = 0
    const werr = err ?? new UtpError('ECLOSED', 'connection closed')
    for (const cb of cbs) cb?.(werr)
    this.host.onClose(err)
  }
}

const EMPTY = new Uint8Array(0)

/**
 * Packet buffers come from Node's pooled allocator: no zero-fill and no ArrayBuffer per packet. Every byte is
 * written before a packet is sent (the SACK bitmap is cleared explicitly).
 */
function alloc(n: number): Uint8Array {
  return Buffer.allocUnsafe(n)
}

/** Microseconds of the (ms, fractional) clock, mod 2^32, as uTP timestamps are. */
export function usNow(nowMs: number): number {
  return (nowMs * 1000) >>> 0
}
