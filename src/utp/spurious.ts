// Telling a spurious re-send from a real one, and undoing the window halving a spurious loss caused (as Eifel does
// with TCP timestamps). The peer's timestamp on the ACK decides: a re-send is spurious when the peer sent that ACK
// before the re-send could have reached it — our re-send's time plus the smallest delay echo the peer has sent (its
// clock minus ours plus the shortest one-way trip, µs mod 2^32). A round-trip test (answered in under half the RTT)
// took a lone re-sent packet, which libutp answers at once while its ACKs of a stream wait for the end of a read
// batch, for reordering: two thirds of the real re-sends to libutp counted spurious, and undoing their halvings kept
// the window at what overflowed its socket.
import { usNow } from './host.js'
import type { CongestionControl } from './ledbat.js'

export class SpuriousDetector {
  /** The smallest delay echo the peer sent, or -1 before the first. */
  private minEcho = -1
  /** The peer's timestamp of the ACK being handled (its clock, µs). */
  private ackStamp = 0
  /** The packet whose loss last halved the window, and the window before it (for the undo). */
  private undoSeq = -1
  private undoCwnd = 0
  private undoSsthresh = 0

  constructor(private readonly cc: CongestionControl) {}

  /** Every packet from the peer: its timestamp and its echo of our delay (0: none). */
  onAck(timestamp: number, timestampDiff: number): void {
    if (timestampDiff !== 0 && (this.minEcho < 0 || ((timestampDiff - this.minEcho) | 0) < 0)) {
      this.minEcho = timestampDiff
    }
    this.ackStamp = timestamp
  }

  /** The loss of `seq` is about to halve the window: remember what to restore if it proves spurious. */
  onHalving(seq: number): void {
    this.undoSeq = seq
    this.undoCwnd = this.cc.cwnd
    this.undoSsthresh = this.cc.ssthresh
  }

  /**
   * The ACK being handled covers re-sent packet `seq`, last sent at `sentAt` (ms): true when it answers the
   * original. The halving that loss caused, if any, is undone.
   */
  isSpurious(seq: number, sentAt: number): boolean {
    if (this.minEcho < 0) return false
    const earliest = (usNow(sentAt) + this.minEcho) >>> 0
    if (((this.ackStamp - earliest) | 0) >= 0) return false
    if (seq === this.undoSeq) {
      this.undoSeq = -1
      this.cc.undoLoss(this.undoCwnd, this.undoSsthresh)
    }
    return true
  }
}
