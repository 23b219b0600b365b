// Counting datagrams at the socket, the same way for any implementation: `DatagramCounter` holds the figures and
// optional taps, `CountingSocket` feeds it from a `DatagramSocket`. A benchmark wraps a plain `dgram` socket by
// calling `sent()` / `received()` itself, so our node and another library are measured by one piece of code.
import type { AddressFamily, DatagramHandler, DatagramSocket, Endpoint } from './types.js'

/** Called for every datagram counted (a sent one with its destination, a received one with its source). */
export type DatagramTap = (data: Uint8Array, peer: Endpoint) => void

export class DatagramCounter {
  datagramsSent = 0
  bytesSent = 0
  datagramsReceived = 0
  bytesReceived = 0
  /** Sees every datagram sent (must not throw, must not keep or modify `data`). */
  onSend: DatagramTap | undefined
  /** Sees every datagram received (must not throw, must not keep or modify `data`). */
  onReceive: DatagramTap | undefined

  sent(data: Uint8Array, to: Endpoint): void {
    this.datagramsSent++
    this.bytesSent += data.length
    this.onSend?.(data, to)
  }

  received(data: Uint8Array, from: Endpoint): void {
    this.datagramsReceived++
    this.bytesReceived += data.length
    this.onReceive?.(data, from)
  }

  /** The figures so far, for taking differences. */
  snapshot(): { datagramsSent: number; bytesSent: number; datagramsReceived: number; bytesReceived: number } {
    return {
      datagramsSent: this.datagramsSent,
      bytesSent: this.bytesSent,
      datagramsReceived: this.datagramsReceived,
      bytesReceived: this.bytesReceived,
    }
  }
}

/** A `DatagramSocket` that counts every datagram passing through it into a (possibly shared) counter. */
export class CountingSocket implements DatagramSocket {
  readonly family: AddressFamily
  readonly dualStack: boolean

  constructor(
    private readonly inner: DatagramSocket,
    readonly counter: DatagramCounter = new DatagramCounter(),
  ) {
    this.family = inner.family
    this.dualStack = inner.dualStack ?? false
  }

  address(): Endpoint {
    return this.inner.address()
  }

  send(data: Uint8Array, to: Endpoint): void {
    this.counter.sent(data, to)
    this.inner.send(data, to)
  }

  setReceiver(handler: DatagramHandler | null): void {
    if (!handler) return this.inner.setReceiver(null)
    const counter = this.counter
    this.inner.setReceiver((data, from) => {
      counter.received(data, from)
      handler(data, from)
    })
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
