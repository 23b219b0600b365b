// Fast SYN re-sends for hole punching. The uTP connection re-sends its SYN after 1, 3 and 7 s, which suits a
// normal dial; a punch needs more: the first SYN usually dies at the other NAT (no permission yet) and the hole
// opens a few milliseconds later, when the other side's own packet leaves. `SynRepeater` sits between the uTP
// socket manager and the shared UDP socket, remembers the last SYN sent to each endpoint, and can send it again
// (same connection id and seq, fresh timestamp): the acceptor treats it as a duplicate and re-sends its SYN-ACK.
import { ST_SYN } from '../codec/utp-packet.js'
import type { AddressFamily, DatagramHandler, DatagramSocket, Endpoint } from '../net/types.js'

const MAX_REMEMBERED = 256

function key(e: Endpoint): string {
  return `${e.host}|${e.port}`
}

export class SynRepeater implements DatagramSocket {
  readonly family: AddressFamily
  /** SYNs re-sent. */
  resent = 0
  private readonly syns = new Map<string, Uint8Array>()

  constructor(
    private readonly inner: DatagramSocket,
    private readonly usNow: () => number,
  ) {
    this.family = inner.family
  }

  address(): Endpoint {
    return this.inner.address()
  }

  send(data: Uint8Array, to: Endpoint): void {
    // Only the endpoints a punch asked to watch are remembered (bounded), not every dial's SYN.
    if (data.length >= 20 && data[0] >> 4 === ST_SYN && this.syns.has(key(to))) this.syns.set(key(to), data.slice())
    this.inner.send(data, to)
  }

  setReceiver(handler: DatagramHandler | null): void {
    this.inner.setReceiver(handler)
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  /** Starts remembering SYNs sent to `to` (call before dialing it). */
  watch(to: Endpoint): void {
    if (this.syns.size >= MAX_REMEMBERED) this.syns.delete(this.syns.keys().next().value as string)
    this.syns.set(key(to), new Uint8Array(0))
  }

  /** Stops remembering SYNs sent to `to`. */
  unwatch(to: Endpoint): void {
    this.syns.delete(key(to))
  }

  /** Sends the last SYN sent to `to` again with a fresh timestamp. False when there is none. */
  resend(to: Endpoint): boolean {
    const syn = this.syns.get(key(to))
    if (!syn || syn.length < 20) return false
    const copy = syn.slice()
    new DataView(copy.buffer, copy.byteOffset, copy.byteLength).setUint32(4, this.usNow() >>> 0)
    this.resent++
    this.inner.send(copy, to)
    return true
  }
}
