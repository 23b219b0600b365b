// uTP's analogue of TCP SYN cookies: a SYN is answered without keeping anything. Our SYN-ACK's sequence number
// is a keyed hash of the peer's endpoint and connection id plus its SYN's sequence number, and the connection is
// created only when a packet arrives that acknowledges that number — proof that the peer receives what we send to
// the address it claims. A spoofed SYN therefore costs one 20-byte reply and no memory, timer or slot.
//
// Only 16 bits come back to us (the `ack` field; uTP echoes nothing else exactly), so a blind attacker who sends
// packets with guessed acks succeeds about once per 65536 / (2 · CONFIRM_WINDOW) tries — 8,192 packets per
// connection — and what it gets is a connection from an address that cannot read our replies, which the swarm's
// admission policy (pending budgets, per-prefix shares, turnover) then treats like any other.
import { createHmac } from 'node:crypto'
import { ST_STATE, UTP_HEADER_SIZE, type UtpPacket, writeUtpHeader } from '../codec/utp-packet.js'
import type { Endpoint, Random } from '../net/types.js'
import { usNow } from './host.js'
import { seqAdd, seqDiff } from './seq.js'

/**
 * The confirming packet may be any of the initiator's first packets (its first data may be lost and the second
 * arrive first): its seq is at most this far past the SYN's. Each step doubles the odds of a blind guess.
 */
export const CONFIRM_WINDOW = 4

export interface SynCookieOptions {
  /** How long a cookie stays valid, ms: secrets rotate every period and the previous one is still accepted. */
  period?: number
}

export class SynCookies {
  private readonly random: Random
  private readonly period: number
  private current: Uint8Array
  private previous: Uint8Array
  private rotateAt = Number.NEGATIVE_INFINITY
  private readonly msg = Buffer.alloc(4 + 64)

  constructor(random: Random, options: SynCookieOptions = {}) {
    this.random = random
    this.period = options.period ?? 30_000
    this.current = random.bytes(32)
    this.previous = random.bytes(32)
  }

  /** The SYN-ACK for `syn` from `from`: an ST_STATE acking the SYN, with the cookie as its sequence number. */
  synAck(syn: UtpPacket, from: Endpoint, now: number, wnd: number): Uint8Array {
    this.rotate(now)
    const buf = new Uint8Array(UTP_HEADER_SIZE)
    const t = usNow(now)
    writeUtpHeader(buf, {
      type: ST_STATE,
      connId: syn.connId,
      timestamp: t,
      timestampDiff: (t - syn.timestamp) >>> 0,
      wnd,
      seq: seqAdd(this.hash(this.current, from, syn.connId), syn.seq),
      ack: syn.seq,
    })
    return buf
  }

  /**
   * Checks a packet on no known connection (sent on `connId`, the initiator's send id) as the initiator's first
   * packets after our SYN-ACK. Returns the SYN's sequence number and our cookie when it acknowledges a cookie we
   * gave, else undefined.
   */
  confirm(pkt: UtpPacket, from: Endpoint, now: number): { synSeq: number; cookie: number } | undefined {
    this.rotate(now)
    const synConnId = seqAdd(pkt.connId, -1)
    // Our seq is not consumed by the SYN-ACK, so the initiator acks cookie − 1 (NOTES.md, "Handshake in practice").
    const cookie = seqAdd(pkt.ack, 1)
    for (const secret of [this.current, this.previous]) {
      const synSeq = seqAdd(cookie, -this.hash(secret, from, synConnId))
      const d = seqDiff(pkt.seq, synSeq)
      if (d >= 1 && d <= CONFIRM_WINDOW) return { synSeq, cookie }
    }
    return undefined
  }

  private rotate(now: number): void {
    if (now < this.rotateAt) return
    // After a long pause both secrets are stale: a cookie from before it is no longer accepted.
    const stale = now >= this.rotateAt + this.period
    this.previous = stale ? this.random.bytes(32) : this.current
    this.current = this.random.bytes(32)
    this.rotateAt = now + this.period
  }

  /** 16 bits of HMAC-SHA-256(secret, host ‖ port ‖ connection id). */
  private hash(secret: Uint8Array, from: Endpoint, connId: number): number {
    const m = this.msg
    m.fill(0)
    const n = m.write(from.host, 4, 'latin1')
    m.writeUInt16BE(from.port, 0)
    m.writeUInt16BE(connId, 2)
    const h = createHmac('sha256', secret)
      .update(m.subarray(0, 4 + n))
      .digest()
    return (h[0] << 8) | h[1]
  }
}
