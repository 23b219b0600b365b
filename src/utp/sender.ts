// The sending half of a uTP connection: packets in flight, acknowledgements (cumulative and selective), loss
// detection and recovery, retransmission timeout and tail-loss probes, and the congestion window they drive.
// `UtpConnection` extends it with the handshake, packetisation, the receiving half and the state machine.
import { ST_STATE, type UtpPacket } from '../codec/utp-packet.js'
import { Ledbat } from './ledbat.js'
import type { ResolvedOptions } from './options.js'
import { SeqRing } from './ring.js'
import { RttEstimator } from './rtt.js'
import { seqAdd, seqDiff } from './seq.js'

/** Window assumed for the peer until it advertises one (libtorrent's SYN carries wnd = 0). */
const DEFAULT_PEER_WINDOW = 1024 * 1024

export interface OutPacket {
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

export abstract class UtpSender {
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
  /** Next sequence number to send. */
  seqNr: number
  /** Highest sequence number the peer acknowledged cumulatively. */
  lastAckRecv: number
  /** Bytes of packets in the network (sent, not acked, not SACKed, not presumed lost). */
  inflight = 0
  /** The peer's advertised receive window, bytes. */
  peerWnd = DEFAULT_PEER_WINDOW
  protected readonly out = new SeqRing<OutPacket>()
  protected lostCount = 0
  protected dupAcks = 0
  /** Losses before this seq belong to the window already halved for. */
  protected recoverSeq: number
  /** The last send was held back by the window (growth is earned only then). */
  protected cwndFull = false
  protected rtoDeadline = 0
  /** When the current wait for an ACK began (last ACK progress, or the first send into an empty pipe). */
  protected progressAt = 0
  /** Reordering window multiplier (grows on spurious re-sends). */
  protected reoMult = 1
  protected undoSeq = -1
  protected undoCwnd = 0
  protected undoSsthresh = 0
  /** Tail-loss probes sent since the last ACK progress. */
  protected probes = 0
  /** Our FIN was acknowledged cumulatively. */
  protected finAcked = false
  /** A peer window below one full packet (plus header) is shut: only a zero-window probe may go out. */
  private readonly shutWindow: number

  constructor(opts: ResolvedOptions, seq: number) {
    this.shutWindow = opts.packetSize + 20
    this.rtt = new RttEstimator(opts)
    this.ledbat = new Ledbat(opts)
    this.seqNr = seq
    this.lastAckRecv = seqAdd(seq, -1)
    this.recoverSeq = this.lastAckRecv
  }

  /** Re-stamps a packet being re-sent (timestamp, delay echo, window, ack). */
  protected abstract stamp(buf: Uint8Array, now: number): void
  /** Puts a datagram on the wire. */
  protected abstract transmit(buf: Uint8Array, now: number): void

  protected window(): number {
    return Math.min(this.ledbat.cwnd, this.peerWnd)
  }

  protected processAck(pkt: UtpPacket, now: number): void {
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
    } else if (d === 0 && this.peerWnd < this.shutWindow && pkt.wnd < this.shutWindow) {
      // The peer answers while its window is shut (our zero-window probes are dropped): it is alive, so probe
      // timeouts must not add up to a dead connection.
      this.rtt.onProgress()
    } else if (d === 0 && pkt.type === ST_STATE && pkt.sack === null && pkt.wnd === this.peerWnd && this.out.size > 0) {
      // Duplicate ACKs count only from ST_STATE (bittorrent/libutp#87), only without a SACK (a SACK says exactly
      // what arrived and is handled, reordering-tolerantly, below) and only with an unchanged window (a window
      // update repeats the ack but reports no loss).
      if (++this.dupAcks === 3) {
        const p = this.out.get(seqAdd(ack, 1))
        if (p !== undefined && !p.sacked) this.markLost(p, now, true)
      }
    }
    if (pkt.sack !== null && this.out.size > 0) acked += this.processSack(ack, pkt.sack, now)
    this.peerWnd = pkt.wnd
    if (acked > 0) {
      this.ledbat.onAck(acked, this.cwndFull)
    }
  }

  /**
   * Forgets an acknowledged packet; returns the bytes it newly acknowledged. Only the packet the ACK names is an
   * RTT sample: older ones covered by a cumulative jump lost their own ACK and would inflate the estimate.
   */
  protected release(p: OutPacket, now: number, ack: number): number {
    // Cumulatively acknowledged: everything up to this packet arrived.
    if (p.fin) this.finAcked = true
    if (p.sacked) return 0
    if (p.transmits > 1) this.checkSpurious(p, now)
    if (p.lost) this.lostCount--
    else this.inflight -= p.size
    if (p.transmits === 1 && p.seq === ack && seqDiff(p.seq, this.recoverSeq) > 0) this.rtt.sample(now - p.sentAt)
    return p.size
  }

  protected processSack(ack: number, mask: Uint8Array, now: number): number {
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
  protected checkSpurious(p: OutPacket, now: number): void {
    if (now - p.sentAt >= this.rtt.rtt / 2) return
    this.stats.spurious++
    if (this.reoMult < 4) this.reoMult++
    if (p.seq === this.undoSeq) {
      this.undoSeq = -1
      if (this.undoCwnd > this.ledbat.cwnd) this.ledbat.cwnd = this.undoCwnd
      this.ledbat.ssthresh = this.undoSsthresh
    }
  }

  protected markLost(p: OutPacket, _now: number, fast: boolean): void {
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

  protected onTimeout(now: number): void {
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
  protected probeTimeout(): number {
    return Math.max(2 * this.rtt.rtt, 10)
  }

  /**
   * Re-sends the newest outstanding packet so that the peer answers with a fresh ACK (RFC 8985's tail-loss probe).
   * Small windows see a timeout for every lost ACK otherwise. The window is left alone.
   */
  protected tailLossProbe(now: number): void {
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

  protected sendResends(now: number): void {
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

  protected resend(p: OutPacket, now: number): void {
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
}

/**
 * Packet buffers come from Node's pooled allocator: no zero-fill and no ArrayBuffer per packet. Every byte is
 * written before a packet is sent (the SACK bitmap is cleared explicitly).
 */
export function alloc(n: number): Uint8Array {
  return Buffer.allocUnsafe(n)
}
