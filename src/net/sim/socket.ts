// A socket bound on a simulated host. Sending hands the datagram to the network; receiving is a call from the
// network's delivery event. No timers, no buffers: an idle socket costs one small object.
import type { AddressFamily, DatagramHandler, DatagramSocket, Endpoint } from '../types.js'

/** What a socket needs of the host it is bound on (a `SimHost`). */
export interface SocketHost {
  readonly ip: string
  readonly family: AddressFamily
  /** Hands a datagram of `sock` to the network. */
  send(sock: SimSocket, data: Uint8Array, to: Endpoint): void
  unbind(sock: SimSocket): void
}

/** Counters of one simulated socket. */
export interface SimSocketStats {
  /** Datagrams accepted by `send` (they may still be lost on the way; see `SimNetwork.stats()`). */
  sent: number
  /** Sends refused at once: closed socket, bad destination, wrong family, oversize datagram. */
  sendRejected: number
  received: number
  receivedBytes: number
  /** Datagrams that arrived while no receiver was set. */
  unhandled: number
  /** Exceptions thrown by the receiver (caught, never propagated). */
  receiverErrors: number
}

export class SimSocket implements DatagramSocket {
  readonly family: AddressFamily
  /** @internal */ receiver: DatagramHandler | null = null
  /** @internal */ closed = false
  /** @internal */ readonly counters: SimSocketStats = {
    sent: 0,
    sendRejected: 0,
    received: 0,
    receivedBytes: 0,
    unhandled: 0,
    receiverErrors: 0,
  }
  /** The last exception thrown by the receiver, for diagnostics. */
  lastReceiverError: unknown = null

  /** @internal Use `SimNetwork.bind` or `NatRouter.bind`. */
  constructor(
    /** @internal */ readonly host: SocketHost,
    readonly port: number,
  ) {
    this.family = host.family
  }

  address(): Endpoint {
    return { host: this.host.ip, port: this.port }
  }

  /** Sends a copy of `data`: the caller may reuse its buffer at once. */
  send(data: Uint8Array, to: Endpoint): void {
    this.host.send(this, data, to)
  }

  setReceiver(handler: DatagramHandler | null): void {
    this.receiver = handler
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      this.receiver = null
      this.host.unbind(this)
    }
    return Promise.resolve()
  }

  stats(): SimSocketStats {
    return { ...this.counters }
  }

  /** @internal Called by the network's delivery event. Returns false when no receiver was set. */
  deliver(data: Uint8Array, from: Endpoint): boolean {
    const c = this.counters
    c.received++
    c.receivedBytes += data.byteLength
    const r = this.receiver
    if (r === null) {
      c.unhandled++
      return false
    }
    try {
      r(data, from)
    } catch (err) {
      c.receiverErrors++
      this.lastReceiverError = err
    }
    return true
  }
}
