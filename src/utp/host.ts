// The boundary between a uTP connection's state machine and the world: what it asks of its host (the socket
// manager's stream), and the timestamp clock both sides of the wire share.
import type { UtpError } from './options.js'

/** What a connection does to the world. The socket manager implements it over a DatagramSocket and a Duplex. */
export interface ConnectionHost {
  /** Sends one datagram to the peer. The array is not touched again after the call. */
  send(packet: Uint8Array): void
  /** The handshake completed (initiator). */
  onConnect(): void
  /** In-order payload (a view into the received datagram). */
  onData(payload: Uint8Array): void
  /** The peer's FIN arrived and every byte before it was delivered. */
  onEnd(): void
  /** Our FIN was acknowledged: every byte we wrote arrived. */
  onFinished(): void
  /** The connection is over: `null` after a graceful close in both directions, an error otherwise. Called once. */
  onClose(err: UtpError | null): void
  /** Delivered bytes the application has not read yet (they shrink the window we advertise). */
  unreadBytes(): number
  /** Called at the start of every `flush()`: the end of a batch of received packets (optional). */
  onFlush?(): void
}

/** Microseconds of the (ms, fractional) clock, mod 2^32, as uTP timestamps are. */
export function usNow(nowMs: number): number {
  return (nowMs * 1000) >>> 0
}
