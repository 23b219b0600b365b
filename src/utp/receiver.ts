// The receiving half of a uTP connection: the cumulative ack, the reordering buffer and its SACK, the window we
// advertise (and enforce), the delay echo, and in-order delivery up to the peer's FIN. It sends nothing: it says
// what our packets must report (`stamp`, `sackLength`/`writeSack`, `ackDue`) and hands payload and the end of the
// stream to a `ReceiverSink`.
import { ST_FIN, type UtpPacket, writeU32 } from '../codec/utp-packet.js'
import { usNow } from './host.js'
import type { ResolvedOptions } from './options.js'
import { ReorderBuffer } from './reorder-buffer.js'
import { seqAdd, seqDiff } from './seq.js'
import type { ReceiverStats } from './stats.js'

/** What the receiver needs from the rest of the connection. */
export interface ReceiverSink {
  /** In-order payload for the application. */
  onPayload(payload: Uint8Array): void
  /** The peer's FIN was reached: every byte before it was delivered. */
  onEof(now: number): void
  /** Delivered bytes the application has not read yet (they shrink the window). */
  unreadBytes(): number
}

export class UtpReceiver {
  /** Last sequence number received in order. */
  ackNr: number
  /** Something arrived that the next packet we send must acknowledge. */
  ackDue = false
  /** Every byte up to the peer's FIN was delivered. */
  gotEof = false
  private readonly reorder = new ReorderBuffer()
  /** The peer's FIN seq once seen (-1 before): nothing past it is accepted. */
  private eofSeq = -1
  /** The delay echo we send: our receive time of the peer's last packet minus its timestamp (µs, mod 2^32). */
  private replyMicro = 0
  /** The window we last advertised. */
  private lastWndSent = 0

  /** `ackNr`: the peer's sequence number taken as received before its first data packet. */
  constructor(
    private readonly opts: Pick<ResolvedOptions, 'recvBufferSize' | 'packetSize' | 'maxReorder'>,
    ackNr: number,
    private readonly stats: ReceiverStats,
    private readonly sink: ReceiverSink,
  ) {
    this.ackNr = ackNr
  }

  /** Out-of-order data is held: an ACK must carry a SACK. */
  get hasGaps(): boolean {
    return this.reorder.size > 0
  }

  /** Notes the peer's timestamp of a packet received `now`: our next packets echo the delay (BEP 29). */
  onTimestamp(timestamp: number, now: number): void {
    this.replyMicro = (usNow(now) - timestamp) >>> 0
  }

  /** The delay echo our packets carry (timestamp_difference), µs. */
  get delayEcho(): number {
    return this.replyMicro
  }

  /** The receive window: `recvBufferSize` minus bytes delivered but unread and bytes waiting out of order. */
  advertisedWindow(): number {
    return Math.max(this.opts.recvBufferSize - this.bufferedBytes(), 0)
  }

  /** The window for a packet about to go out (remembered: `onRead` compares against it). */
  advertise(): number {
    const wnd = this.advertisedWindow()
    this.lastWndSent = wnd
    return wnd
  }

  /** The application read data: if the window we advertised was nearly closed, the peer must hear it reopened. */
  onRead(): void {
    if (this.lastWndSent < this.opts.packetSize * 2 && this.advertisedWindow() > this.lastWndSent) this.ackDue = true
  }

  private bufferedBytes(): number {
    return this.sink.unreadBytes() + this.reorder.bytes
  }

  /** Re-stamps a packet being re-sent: fresh timestamp, delay echo, window and ack. */
  stamp(buf: Uint8Array, now: number): void {
    writeU32(buf, 4, usNow(now))
    writeU32(buf, 8, this.replyMicro)
    writeU32(buf, 12, this.advertise())
    buf[18] = (this.ackNr >> 8) & 255
    buf[19] = this.ackNr & 255
    // Re-sent packets carry no SACK: the extension byte stays 0 (data packets are built without one).
  }

  /** Bytes of the SACK bitmap an ACK of `ackNr` carries now (0: none). */
  sackLength(): number {
    return this.reorder.sackLength(this.ackNr)
  }

  /** Writes that bitmap into `out` at `off` (the bytes must be zero). */
  writeSack(out: Uint8Array, off: number, len: number): void {
    this.reorder.writeSack(this.ackNr, out, off, len)
  }

  /** An ST_DATA or ST_FIN addressed to us: deliver it in order, or keep it for later, or drop it (counted). */
  onData(pkt: UtpPacket, now: number): void {
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
    // The window we advertise is a limit, not a hint: beyond it (and one packet of slack for a zero-window
    // probe) a packet is dropped, still acknowledged, so that a peer ignoring it cannot grow our memory.
    if (payload.length > 0 && this.bufferedBytes() + payload.length > this.opts.recvBufferSize + this.opts.packetSize) {
      this.stats.dropped++
      return
    }
    if (d === 1) {
      if (fin) this.eofSeq = s
      this.deliver(s, payload, fin, now)
      while (this.reorder.size > 0 && !this.gotEof) {
        const e = this.reorder.take(seqAdd(this.ackNr, 1))
        if (e === undefined) break
        this.deliver(e.seq, e.payload, e.fin, now)
      }
      return
    }
    if (d > this.opts.maxReorder || this.reorder.bytes + payload.length > this.opts.recvBufferSize) {
      this.stats.dropped++
      return
    }
    if (this.reorder.has(s)) {
      this.stats.duplicates++
      return
    }
    this.stats.outOfOrder++
    if (fin && this.eofSeq < 0) this.eofSeq = s
    this.reorder.store(s, payload, fin, d)
  }

  private deliver(seq: number, payload: Uint8Array, fin: boolean, now: number): void {
    this.ackNr = seq
    if (payload.length > 0) {
      this.stats.bytesReceived += payload.length
      this.sink.onPayload(payload)
    }
    if (fin) {
      this.gotEof = true
      this.reorder.clear()
      this.sink.onEof(now)
    }
  }

  /** The connection closed: drop what waits out of order. */
  clear(): void {
    this.reorder.clear()
  }
}
