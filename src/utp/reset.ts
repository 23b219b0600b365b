// Replies to packets on no known connection: one ST_RESET each, within a per-second budget for the whole socket,
// so that spoofed packets cannot turn us into a reflector (docs/security.md).
import { ST_RESET, UTP_HEADER_SIZE, type UtpPacket, writeUtpHeader } from '../codec/utp-packet.js'
import { usNow } from './host.js'

/** The ST_RESET answering `pkt` (on its connection id, acking its seq). */
export function resetFor(pkt: UtpPacket, now: number, seq: number): Uint8Array {
  const buf = new Uint8Array(UTP_HEADER_SIZE)
  writeUtpHeader(buf, {
    type: ST_RESET,
    connId: pkt.connId,
    timestamp: usNow(now),
    timestampDiff: 0,
    wnd: 0,
    seq,
    ack: pkt.seq,
  })
  return buf
}

/** At most `rate` resets per second, shared by every destination. */
export class ResetBudget {
  private tokens: number
  private refillAt = 0

  constructor(private readonly rate: number) {
    this.tokens = rate
  }

  /** Takes one reset from the budget; false when this second's budget is spent. */
  take(now: number): boolean {
    if (now >= this.refillAt) {
      this.tokens = this.rate
      this.refillAt = now + 1000
    }
    if (this.tokens <= 0) return false
    this.tokens--
    return true
  }
}
