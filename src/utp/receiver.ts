// The receiving half of a uTP connection: the cumulative ack, the reordering buffer, the window we advertise (and
// enforce), the delay echo, and in-order delivery up to the peer's FIN. It sits between the sending half (UtpSender) and the state machine (UtpConnection), which
// decides what delivery means through two hooks.
import { ST_FIN, type UtpPacket, writeU32 } from '../codec/utp-packet.js'
import { usNow } from './host.js'
import type { ResolvedOptions } from './options.js'
import { ReorderBuffer } from './reorder-buffer.js'
import { UtpSender } from './sender.js'
import { seqAdd, seqDiff } from './seq.js'

export abstract class UtpReceiver extends UtpSender {
  abstract readonly opts: ResolvedOptions
  /** Last sequence number received in order. */
  ackNr = 0
  protected readonly reorder = new ReorderBuffer()
  /** The peer's FIN seq once seen (-1 before): nothing past it is accepted. */
  protected eofSeq = -1
  /** Every byte up to the peer's FIN was delivered. */
  protected gotEof = false
  /** Something arrived that the next flush must acknowledge. */
  protected ackDue = false
  /** The delay echo we send: our receive time of the peer's last packet minus its timestamp (µs, mod 2^32). */
  protected replyMicro = 0
  /** The window we last advertised. */
  protected lastWndSent = 0

  /** In-order payload for the application. */
  protected abstract onPayload(payload: Uint8Array): void
  /** The peer's FIN was reached: every byte before it was delivered. */
  protected abstract onEof(now: number): void
  /** Delivered bytes the application has not read yet. */
  protected abstract unreadBytes(): number

  /** The receive window: `recvBufferSize` minus bytes delivered but unread and bytes waiting out of order. */
  advertisedWindow(): number {
    return Math.max(this.opts.recvBufferSize - this.bufferedBytes(), 0)
  }

  private bufferedBytes(): number {
    return this.unreadBytes() + this.reorder.bytes
  }

  /** Re-stamps a packet being re-sent: fresh timestamp, delay echo, window and ack. */
  protected stamp(buf: Uint8Array, now: number): void {
    writeU32(buf, 4, usNow(now))
    writeU32(buf, 8, this.replyMicro)
    const wnd = this.advertisedWindow()
    this.lastWndSent = wnd
    writeU32(buf, 12, wnd)
    buf[18] = (this.ackNr >> 8) & 255
    buf[19] = this.ackNr & 255
    // Re-sent packets carry no SACK: the extension byte stays 0 (data packets are built without one).
  }

  /** An ST_DATA or ST_FIN addressed to us: deliver it in order, or keep it for later, or drop it (counted). */
  protected processData(pkt: UtpPacket, now: number): void {
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
      this.onPayload(payload)
    }
    if (fin) {
      this.gotEof = true
      this.reorder.clear()
      this.onEof(now)
    }
  }
}
