// The seams between protocol code and the world. The DHT, uTP and the swarm take these interfaces, so the same
// code runs on real sockets (net/udp.ts, net/tcp.ts) and on the in-memory network with virtual time (net/sim/).

/** An IP endpoint. `host` is always an IP literal ("127.0.0.1", "::1"), never a name. */
export interface Endpoint {
  host: string
  port: number
}

export type AddressFamily = 4 | 6

/**
 * Receives every datagram that arrives on a socket. Must not throw (a throw is caught and counted).
 * `data` belongs to the receiver: no socket writes to it afterwards, so it may be kept without copying.
 */
export type DatagramHandler = (data: Uint8Array, from: Endpoint) => void

/**
 * A bound UDP socket (or one side of a multiplexer over one). Unreliable, unordered, like UDP.
 * Implementations: `UdpSocket` (node:dgram), `SimSocket` (net/sim), `MuxChannel` (net/mux).
 */
export interface DatagramSocket {
  /** The local address this socket is bound to. */
  address(): Endpoint
  /** Address family of the socket: a v4 socket cannot send to a v6 endpoint, and vice versa. */
  readonly family: AddressFamily
  /**
   * Sends one datagram. Fire and forget: failures are dropped (as UDP would) and counted, never thrown.
   * The socket may hold on to `data` until it is sent: do not modify it after the call.
   */
  send(data: Uint8Array, to: Endpoint): void
  /** Sets the single receiver of incoming datagrams (`null` to stop receiving). */
  setReceiver(handler: DatagramHandler | null): void
  /** Closes the socket; idempotent. */
  close(): Promise<void>
}

/** A cancellable timer from a `Clock`. */
export interface Timer {
  cancel(): void
}

/**
 * Time and timers. `realClock` wraps the process clock; `net/sim` provides a virtual clock that jumps from
 * timer to timer, so a simulated hour of DHT traffic runs in seconds.
 */
export interface Clock {
  /** Monotonic milliseconds (fractional allowed). Only differences are meaningful. */
  now(): number
  /** Runs `fn` once after `ms`. Real timers are unref'd: a pending timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): Timer
  /** Runs `fn` every `ms` until cancelled. */
  setInterval(fn: () => void, ms: number): Timer
}

/** A source of random bytes. Real code uses crypto; simulations pass a seeded generator for reproducible runs. */
export interface Random {
  bytes(n: number): Uint8Array
}
