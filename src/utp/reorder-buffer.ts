// Out-of-order packets waiting for the hole before them, and the selective-ACK bitmap that describes them.
import { SeqRing } from './ring.js'
import { seqAdd, seqDiff } from './seq.js'

/** Largest selective-ACK bitmask we send (bytes; a multiple of 4, as libutp expects). */
export const MAX_SACK_BYTES = 128

interface InPacket {
  seq: number
  payload: Uint8Array
  fin: boolean
}

export class ReorderBuffer {
  /** Payload bytes held. */
  bytes = 0
  /** Highest sequence number held (meaningful while `size > 0`). */
  highest = 0
  private readonly ring = new SeqRing<InPacket>()

  get size(): number {
    return this.ring.size
  }

  has(seq: number): boolean {
    return this.ring.get(seq) !== undefined
  }

  /** Holds a packet `distance` ahead of the last in-order one. */
  store(seq: number, payload: Uint8Array, fin: boolean, distance: number): void {
    if (this.ring.size === 0 || seqDiff(seq, this.highest) > 0) this.highest = seq
    this.ring.put({ seq, payload, fin }, distance)
    this.bytes += payload.length
  }

  take(seq: number): InPacket | undefined {
    const e = this.ring.take(seq)
    if (e !== undefined) this.bytes -= e.payload.length
    return e
  }

  clear(): void {
    this.ring.clear()
    this.bytes = 0
  }

  /** Bytes of the SACK bitmap for `ackNr` (0 when nothing is held past ackNr + 1). */
  sackLength(ackNr: number): number {
    if (this.ring.size === 0) return 0
    const span = seqDiff(this.highest, ackNr) - 1
    if (span <= 0) return 0
    return Math.min(Math.ceil(span / 32) * 4, MAX_SACK_BYTES)
  }

  /** Writes the bitmap (bit i = ackNr + 2 + i, LSB first) into `out` at `off`; the bytes must be zero. */
  writeSack(ackNr: number, out: Uint8Array, off: number, len: number): void {
    const base = seqAdd(ackNr, 2)
    for (let i = 0; i < len * 8; i++)
      if (this.ring.get(seqAdd(base, i)) !== undefined) out[off + (i >> 3)] |= 1 << (i & 7)
  }
}
