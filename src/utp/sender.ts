// The sending half of a uTP connection: packets in flight, acknowledgements (cumulative and selective), loss
// detection and recovery, retransmission timeout and tail-loss probes, and the windows that limit sending.
// It owns the outgoing sequence numbers. It does not build packets or know what the receiving half acknowledges:
// re-sent packets are re-stamped and put on the wire through a `SenderLink`, and the congestion window lives in a
// `CongestionControl` and the timeouts in an `RttEstimator`, both handed in by the connection that owns them.
import { ST_STATE, type UtpPacket } from '../codec/utp-packet.js'
import type { CongestionControl } from './ledbat.js'
import type { ResolvedOptions } from './options.js'
import { LIBUTP_SURE_SACK_BITS, reorderSlots } from './peer-limits.js'
import { SeqRing } from './ring.js'
import type { RttEstimator } from './rtt.js'
import { seqAdd, seqDiff } from './seq.js'
import { SpuriousDetector } from './spurious.js'
import type { SenderStats } from './stats.js'

/** Window assumed for the peer until it advertises one (libtorrent's SYN carries wnd = 0). */
const DEFAULT_PEER_WINDOW = 1024 * 1024

/** What the sender needs from the rest of the connection. */
export interface SenderLink {
  /** Re-stamps a packet being re-sent with what the receiving half reports now (timestamp, delay echo, window, ack). */
  restamp(buf: Uint8Array, now: number): void
  /** Puts a datagram on the wire. */
  transmit(buf: Uint8Array, now: number): void
}

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

export class UtpSender {
  /** Highest sequence number the peer acknowledged cumulatively. */
  lastAckRecv: number
  /** Bytes of packets in the network (sent, not acked, not SACKed, not presumed lost). */
  inflight = 0
  /** The peer's advertised receive window, bytes. */
  peerWnd = DEFAULT_PEER_WINDOW
  /** The largest window the peer advertised (its receive buffer's capacity, at least). */
  private peerWndMax = 0
  /** Our FIN was acknowledged cumulatively (or the peer's reset said it had everything). */
  finAcked = false
  private seq: number
  private readonly out = new SeqRing<OutPacket>()
  private lostCount = 0
  private dupAcks = 0
  /** Losses before this seq belong to the window already halved for. */
  private recoverSeq: number
  /** The last send was held back by the window (growth is earned only then). */
  private cwndFull = false
  private rtoDeadline = 0
  /** When the current wait for an ACK began (last ACK progress, or the first send into an empty pipe). */
  private progressAt = 0
  /** Reordering window multiplier (grows on spurious re-sends). */
  private reoMult = 1
  /** Tail-loss probes sent since the last ACK progress. */
  private probes = 0
  /**
   * The peer's last ACK said it holds data up to (not including) this seq past a hole (from its SACK), or -1.
   * Holes below it that were not overdue then are re-checked by the reordering timer (`reoTimerAt`).
   */
  private heldTo = -1
  /** When the oldest such hole is overdue (RACK's reordering timer; 0: not armed). */
  private reoTimerAt = 0
  /** When a zero-window probe may go (0: none pending). */
  private probeAt = 0
  /** A peer window below one full packet (plus header) is shut: only a zero-window probe may go out. */
  private readonly shutWindow: number
  private readonly maxTimeouts: number
  private readonly spurious: SpuriousDetector

  /**
   * `nextSeq` is the first sequence number to send; `lastAcked` the one taken as acknowledged before any ACK (the
   * initiator's SYN sits between them until the SYN-ACK, see `onSynAcked`).
   */
  constructor(
    opts: Pick<ResolvedOptions, 'packetSize' | 'maxTimeouts'>,
    nextSeq: number,
    lastAcked: number,
    private readonly cc: CongestionControl,
    private readonly rtt: RttEstimator,
    private readonly stats: SenderStats,
    private readonly link: SenderLink,
  ) {
    this.shutWindow = opts.packetSize + 20
    this.maxTimeouts = opts.maxTimeouts
    this.seq = nextSeq
    this.lastAckRecv = lastAcked
    this.recoverSeq = lastAcked
    this.spurious = new SpuriousDetector(cc)
  }

  /** Next sequence number to send. */
  get seqNr(): number {
    return this.seq
  }

  /** Packets sent and not yet cumulatively acknowledged. */
  get outstanding(): number {
    return this.out.size
  }

  /** Something presumed lost waits to be re-sent. */
  get hasLost(): boolean {
    return this.lostCount > 0
  }

  /** Every packet sent was acknowledged cumulatively. */
  get idle(): boolean {
    return this.lastAckRecv === seqAdd(this.seq, -1)
  }

  /** The initiator's SYN was answered: acknowledgements count from it. */
  onSynAcked(synSeq: number): void {
    this.lastAckRecv = synSeq
    this.recoverSeq = synSeq
  }

  /** Bytes the windows allow in flight. */
  window(): number {
    return Math.min(this.cc.cwnd, this.peerWnd)
  }

  /**
   * May a new packet of `size` bytes go now, given the window `win`? False when the window is full (the growth it
   * earns is noted) or the peer's window is shut and the zero-window probe is not due yet.
   */
  admit(size: number, win: number, now: number): boolean {
    if (this.inflight + size <= win) {
      this.probeAt = 0
      return true
    }
    if (this.inflight > 0) {
      this.cwndFull = true
      return false
    }
    // Nothing in flight and the peer's window is shut: probe with one packet after a timeout.
    if (this.peerWnd < size) {
      if (this.probeAt === 0) this.probeAt = now + this.rtt.rto
      if (now < this.probeAt) return false
      this.probeAt = 0
    }
    return true
  }

  /** The sequence space in flight is at what the peer's reorder buffer can hold (peer-limits.ts). */
  get outstandingFull(): boolean {
    return seqDiff(this.seq, this.lastAckRecv) > this.maxOutstanding
  }

  /** Packets past the peer's ack it is expected to keep: from the largest window it advertised. */
  get maxOutstanding(): number {
    return reorderSlots(this.peerWndMax)
  }

  /** The application has nothing more to send: the window did not hold us back. */
  appLimited(): void {
    this.cwndFull = false
  }

  /** Takes the next sequence number for a new packet and holds `buf` until it is acknowledged. */
  track(buf: Uint8Array, now: number, fin: boolean): number {
    const seq = this.seq
    if (this.out.size === 0) {
      this.rtoDeadline = now + this.rtt.rto
      this.progressAt = now
      this.probes = 0
    }
    const p: OutPacket = { seq, buf, size: buf.length, sentAt: now, transmits: 1, sacked: false, lost: false, fin }
    this.out.put(p, seqDiff(seq, this.lastAckRecv) + 1)
    this.seq = seqAdd(seq, 1)
    this.inflight += p.size
    return seq
  }

  /** The ack part of any packet from the peer: its ack, SACK, window and delay sample. */
  onAck(pkt: UtpPacket, now: number): void {
    if (pkt.timestampDiff !== 0) this.cc.onDelaySample(pkt.timestampDiff, now)
    this.spurious.onAck(pkt.timestamp, pkt.timestampDiff)
    const ack = pkt.ack
    const d = seqDiff(ack, this.lastAckRecv)
    const lastSent = seqAdd(this.seq, -1)
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
        if (p !== undefined && !p.sacked) this.markLost(p, true)
      }
    }
    if (pkt.sack !== null && this.out.size > 0) acked += this.onSack(ack, pkt.sack, now)
    else if (d >= 0) {
      this.heldTo = -1
      this.reoTimerAt = 0
    }
    this.peerWnd = pkt.wnd
    if (pkt.wnd > this.peerWndMax) this.peerWndMax = pkt.wnd
    if (acked > 0) this.cc.onAck(acked, this.cwndFull)
  }

  /**
   * Forgets an acknowledged packet; returns the bytes it newly acknowledged. Only the packet the ACK names is an
   * RTT sample: older ones covered by a cumulative jump lost their own ACK and would inflate the estimate.
   */
  private release(p: OutPacket, now: number, ack: number): number {
    // Cumulatively acknowledged: everything up to this packet arrived.
    if (p.fin) this.finAcked = true
    if (p.sacked) return 0
    if (p.transmits > 1) this.checkSpurious(p)
    if (p.lost) this.lostCount--
    else this.inflight -= p.size
    if (p.transmits === 1 && p.seq === ack && seqDiff(p.seq, this.recoverSeq) > 0) this.rtt.sample(now - p.sentAt)
    return p.size
  }

  private onSack(ack: number, mask: Uint8Array, now: number): number {
    let acked = 0
    const lastSent = seqAdd(this.seq, -1)
    const bits = mask.length * 8
    // Walk from the highest bit down, counting SACKed packets above each hole: a hole with packets above it
    // may be lost. A SACK says the peer holds data past ack + 1; one with no bit set says that data lies past what
    // the bitmap covers. libutp fills only its first 30 bits (16 while its reorder buffer has not grown), so after
    // a burst of 30 or more losses (its kernel receive buffer overflowing) every ACK it sends looks like that: the
    // packets its first 16 bits cover count as overtaken, or nothing short of a timeout would re-send them.
    const covered = mask.every((b) => b === 0) ? Math.min(bits, LIBUTP_SURE_SACK_BITS) : -1
    let above = 0
    let sampled = false
    const reoDeadline = this.reoDeadline()
    this.heldTo = covered >= 0 ? seqAdd(ack, 2 + covered) : -1
    this.reoTimerAt = 0
    for (let i = bits - 1; i >= -1; i--) {
      if (i === covered - 1) above = 1
      const s = seqAdd(ack, 2 + i)
      if (i >= 0 && seqDiff(s, lastSent) > 0) continue
      const set = i >= 0 && (mask[i >> 3] & (1 << (i & 7))) !== 0
      const p = this.out.get(s)
      if (set) {
        if (above === 0) this.heldTo = seqAdd(s, 1)
        above++
        if (p !== undefined && !p.sacked) {
          // A SACKed FIN is not a finished stream: only the cumulative ACK says every byte before it arrived.
          if (p.transmits > 1) this.checkSpurious(p)
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
        if (!p.lost && above >= 1) this.checkOverdue(p, now, reoDeadline)
      }
    }
    return acked
  }

  /** RACK's reordering window: how long past a round trip a packet overtaken by a later one may still arrive. */
  private reoDeadline(): number {
    const srtt = this.rtt.rtt
    return srtt + Math.min(srtt, Math.max((srtt / 4) * this.reoMult, 1))
  }

  /** A hole below data the peer holds: lost once overdue, else the reordering timer looks at it again then. */
  private checkOverdue(p: OutPacket, now: number, reoDeadline: number): void {
    const due = p.sentAt + reoDeadline
    if (now > due) this.markLost(p, true)
    else if (this.reoTimerAt === 0 || due < this.reoTimerAt) this.reoTimerAt = due
  }

  /**
   * The reordering timer fired: holes below what the peer last said it holds are lost once overdue. Without it
   * they wait for the next ACK, and libutp may send none: it drops a duplicate of a packet it holds out of order
   * without acknowledging it, so a tail-loss probe of our newest packet goes unanswered and only the
   * retransmission timeout was left.
   */
  private onReorderTimer(now: number): void {
    this.reoTimerAt = 0
    if (this.heldTo < 0) return
    const reoDeadline = this.reoDeadline()
    for (let s = seqAdd(this.lastAckRecv, 1); s !== this.seq && seqDiff(s, this.heldTo) < 0; s = seqAdd(s, 1)) {
      const p = this.out.get(s)
      if (p !== undefined && !p.sacked && !p.lost) this.checkOverdue(p, now, reoDeadline)
    }
  }

  /** A re-sent packet was acknowledged: if the ACK answers the original (spurious.ts), widen the reordering window. */
  private checkSpurious(p: OutPacket): void {
    if (!this.spurious.isSpurious(p.seq, p.sentAt)) return
    this.stats.spurious++
    if (this.reoMult < 4) this.reoMult++
  }

  private markLost(p: OutPacket, fast: boolean): void {
    if (p.lost || p.sacked) return
    p.lost = true
    this.inflight -= p.size
    this.lostCount++
    if (fast) {
      this.stats.fastResent++
      // Halve at most once per window of data.
      if (seqDiff(p.seq, this.recoverSeq) > 0) {
        this.spurious.onHalving(p.seq)
        this.cc.onLoss()
        this.recoverSeq = seqAdd(this.seq, -1)
      }
    }
  }

  /**
   * The sender's timers, while something is unacknowledged: the retransmission timeout and tail-loss probes.
   * False when the retransmissions ran out (`maxTimeouts` in a row): the connection is dead.
   */
  tick(now: number): boolean {
    if (this.idle) return true
    if (now >= this.rtoDeadline) {
      if (this.rtt.backoff >= this.maxTimeouts) return false
      this.onTimeout(now)
    } else if (this.reoTimerAt > 0 && now >= this.reoTimerAt) {
      this.onReorderTimer(now)
    } else if (
      this.probes < 2 &&
      this.rtt.rtt > 0 &&
      now >= this.progressAt + this.probeTimeout() * (this.probes + 1)
    ) {
      this.tailLossProbe(now)
    }
    return true
  }

  private onTimeout(now: number): void {
    this.stats.timeouts++
    this.rtt.onTimeout()
    this.cc.onTimeout()
    this.recoverSeq = seqAdd(this.seq, -1)
    // Everything in flight is presumed lost and goes again, oldest first, as the (now minimal) window allows.
    for (let s = seqAdd(this.lastAckRecv, 1); s !== this.seq; s = seqAdd(s, 1)) {
      const p = this.out.get(s)
      if (p !== undefined) this.markLost(p, false)
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
    for (let s = seqAdd(this.seq, -1); s !== this.lastAckRecv; s = seqAdd(s, -1)) {
      const p = this.out.get(s)
      if (p === undefined || p.sacked) continue
      if (p.lost) {
        this.resend(p, now)
        return
      }
      this.retransmit(p, now)
      return
    }
  }

  /** Re-sends packets presumed lost: the oldest hole at once (fast retransmit), the others as the window allows. */
  resendLost(now: number): void {
    const win = this.window()
    for (let s = seqAdd(this.lastAckRecv, 1); s !== this.seq && this.lostCount > 0; s = seqAdd(s, 1)) {
      const p = this.out.get(s)
      if (p === undefined || !p.lost) continue
      if (s !== seqAdd(this.lastAckRecv, 1) && this.inflight + p.size > win) {
        this.cwndFull = true
        return
      }
      this.resend(p, now)
    }
  }

  private resend(p: OutPacket, now: number): void {
    p.lost = false
    this.lostCount--
    this.inflight += p.size
    this.retransmit(p, now)
  }

  private retransmit(p: OutPacket, now: number): void {
    // A fresh copy: the old array may still sit in a send queue (or in a simulated network).
    const buf = alloc(p.size)
    buf.set(p.buf)
    p.buf = buf
    p.transmits++
    p.sentAt = now
    this.stats.resent++
    this.link.restamp(buf, now)
    this.link.transmit(buf, now)
  }

  /** The connection closed: forget everything in flight. */
  clear(): void {
    this.out.clear()
    this.inflight = 0
    this.lostCount = 0
  }
}

/**
 * Packet buffers come from Node's pooled allocator: no zero-fill and no ArrayBuffer per packet. Every byte is
 * written before a packet is sent (the SACK bitmap is cleared explicitly).
 */
export function alloc(n: number): Uint8Array {
  return Buffer.allocUnsafe(n)
}
