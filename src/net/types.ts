// The seams between protocol code and the world. The DHT, uTP and the swarm take these interfaces, so the same
// code runs on real sockets (net/udp.ts, net/tcp.ts) and on the in-memory network with virtual time (net/sim/).
import type { Duplex } from 'node:stream'

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
  /** A family 6 socket that reaches IPv4 endpoints too (dual stack: IPV6_V6ONLY off). Default false. */
  readonly dualStack?: boolean
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

/**
 * A connected, reliable, ordered byte stream (TCP). A Node `Duplex`, so a `PeerConnection` takes it as it is:
 * `write()` returns false and `'drain'` follows when the send buffer is above its high-water mark
 * (back-pressure); `end()` half-closes (a FIN: the peer reads to its end and may go on writing when it allows half
 * open); `destroy()` closes (a FIN, or a reset when bytes still in the kernel are discarded);
 * `resetAndDestroy()` aborts with a reset (RST) at once. A peer's reset arrives as an `'error'` with code `ECONNRESET`. The addresses are those of
 * `net.Socket` (a `net.Socket` is a `StreamSocket` as it is): undefined once destroyed, so read them at once.
 * Implementations: `net.Socket` (through `TcpNetwork`), `SimTcpSocket` (net/sim).
 */
export interface StreamSocket extends Duplex {
  readonly remoteAddress?: string
  readonly remotePort?: number
  readonly localAddress?: string
  readonly localPort?: number
  /** Turns Nagle's algorithm off (`true`, what the swarm wants) or on. */
  setNoDelay(noDelay?: boolean): this
  /** Closes with a reset (TCP RST): queued data is discarded and the peer sees `ECONNRESET`. */
  resetAndDestroy(): this
}

export interface StreamConnectOptions {
  /** Aborts the connect: the promise rejects with the signal's reason and nothing is left open. */
  signal?: AbortSignal
  /** Local address to connect from. Default: the system's (the simulated host's own) choice. */
  localAddress?: string
  /** Keep our writable side open after the peer's FIN. Default false (as `net.Socket`). */
  allowHalfOpen?: boolean
}

export interface StreamListenOptions {
  /** Address to listen on. Default '0.0.0.0' (every address of the host). */
  host?: string
  /** Port; 0 picks a free one. Default 0. */
  port?: number
  /** Accepted sockets keep their writable side open after the peer's FIN. Default false. */
  allowHalfOpen?: boolean
  /** Half-open (SYN received) connections held at once; more SYNs are dropped. Default 511 (as Node). */
  backlog?: number
  /** Errors after listening (EMFILE on accept…). They never throw; default: ignored. */
  onError?: (err: Error) => void
}

/** Receives each accepted connection. Must not throw. */
export type StreamHandler = (socket: StreamSocket) => void

/** A listening stream socket. */
export interface StreamListener {
  /** The bound address (with the port picked when 0 was asked). */
  address(): Endpoint
  /** Stops accepting; connections already accepted stay open. Idempotent. */
  close(): Promise<void>
}

/**
 * A host's stream (TCP) stack: opens and accepts `StreamSocket`s. Implementations: `TcpNetwork` over node:net
 * (`realTcp`), `SimTcp` (one simulated host's TCP in net/sim). Failures are `NetError`s: `ECONNREFUSED` (a reset
 * answered the SYN: nothing listens), `ETIMEDOUT` (no answer), `EHOSTUNREACH`, `EADDRINUSE`, `EADDRNOTAVAIL`,
 * `EINVAL`, `ECONNECT` (any other OS error, in `cause`); an aborted connect rejects with the signal's reason.
 */
export interface StreamNetwork {
  connect(to: Endpoint, options?: StreamConnectOptions): Promise<StreamSocket>
  listen(options: StreamListenOptions, onConnection: StreamHandler): Promise<StreamListener>
}
