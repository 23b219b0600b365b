// DatagramSocket over node:dgram. The only file in the library that opens UDP sockets: protocol code receives
// one of these (or a SimSocket) and never knows which.
import { createSocket, type RemoteInfo, type Socket, type SocketOptions } from 'node:dgram'
import { lookup as dnsLookup } from 'node:dns'
import { isIP } from 'node:net'
import { ipFamily, isValidPort, unmapV4 } from './address.js'
import { NetError } from './errors.js'
import type { AddressFamily, DatagramHandler, DatagramSocket, Endpoint } from './types.js'

/** Default kernel buffer request: uTP collapses to a few MB/s with the OS defaults (~200 KiB). */
export const DEFAULT_SOCKET_BUFFER = 4 * 1024 * 1024

export interface UdpBindOptions {
  /** Local address to bind. Default: `'0.0.0.0'` for family 4, `'::'` for family 6. */
  host?: string
  /** Local port; `0` picks an ephemeral port. Default: `0`. */
  port?: number
  /** Address family. Default: the family of `host` if given, else `4`. */
  family?: AddressFamily
  /**
   * For family 6 only: accept IPv4 peers too (dual-stack). Their addresses are reported unmapped (`1.2.3.4`, not
   * `::ffff:1.2.3.4`) and v4 destinations are mapped on send. Default: `false` — BEP 32 runs v4 and v6 as two
   * separate DHTs, each on its own socket.
   */
  dualStack?: boolean
  /** SO_RCVBUF request in bytes (the kernel clamps it to net.core.rmem_max). Default: 4 MiB. */
  recvBufferSize?: number
  /** SO_SNDBUF request in bytes (clamped to net.core.wmem_max). Default: 4 MiB. */
  sendBufferSize?: number
  /** Set SO_REUSEADDR. Default: `false`. */
  reuseAddr?: boolean
  /** Aborts the bind; the promise rejects with `NetError('ABORT_ERR')` and the socket is closed. */
  signal?: AbortSignal
}

/** Counters of one socket. Monotonic; read them with `stats()`. */
export interface UdpStats {
  /** Datagrams handed to node:dgram (including those that later failed: see `sendErrors`). */
  sent: number
  sentBytes: number
  /** Of `sent`, those the kernel refused (EMSGSIZE, ENETUNREACH, ENOBUFS, …); reported a tick later. */
  sendErrors: number
  /** Sends refused before reaching the kernel: closed socket, bad host/port, wrong address family. */
  sendRejected: number
  received: number
  receivedBytes: number
  /** Datagrams that arrived while no receiver was set. */
  unhandled: number
  /** Exceptions thrown by the receiver (caught here, never propagated). */
  receiverErrors: number
  /** 'error' events of the underlying socket other than send failures. */
  socketErrors: number
}

/**
 * A bound UDP socket. `send` never throws; failures are counted in `stats()`.
 *
 * Received data is the `Buffer` that node:dgram allocated for that one datagram (a `Uint8Array` subclass): the
 * receiver owns it, may keep it, and nobody else writes to it. Sent data is handed to the kernel; the caller must
 * not modify it after `send` returns (when the kernel buffer is full, libuv queues the datagram without copying).
 */
export class UdpSocket implements DatagramSocket {
  readonly family: AddressFamily
  private receiver: DatagramHandler | null = null
  private closing: Promise<void> | null = null
  private readonly local: Endpoint
  private readonly counters: UdpStats = {
    sent: 0,
    sentBytes: 0,
    sendErrors: 0,
    sendRejected: 0,
    received: 0,
    receivedBytes: 0,
    unhandled: 0,
    receiverErrors: 0,
    socketErrors: 0,
  }
  /** The most recent error of each kind, for diagnostics. */
  lastSendError: Error | null = null
  lastReceiverError: unknown = null

  private constructor(
    private readonly sock: Socket,
    family: AddressFamily,
    readonly dualStack: boolean,
  ) {
    this.family = family
    const a = sock.address()
    this.local = { host: a.address, port: a.port }
    sock.on('message', this.onMessage)
    sock.on('error', () => {
      this.counters.socketErrors++
    })
  }

  /** Binds a new socket. Rejects with `NetError` (`EADDRINUSE`, `EADDRNOTAVAIL`, `EINVAL`, `ABORT_ERR`, `EBIND`). */
  static bind(opts: UdpBindOptions = {}): Promise<UdpSocket> {
    const hostFamily = opts.host === undefined ? 0 : ipFamily(opts.host)
    if (opts.host !== undefined && hostFamily === 0)
      return Promise.reject(new NetError('EINVAL', `bind host is not an IP literal: ${JSON.stringify(opts.host)}`))
    const family: AddressFamily = opts.family ?? (hostFamily === 6 ? 6 : 4)
    if (hostFamily !== 0 && hostFamily !== family)
      return Promise.reject(new NetError('EINVAL', `bind host ${opts.host} is not an IPv${family} address`))
    const port = opts.port ?? 0
    if (!Number.isInteger(port) || port < 0 || port > 0xffff)
      return Promise.reject(new NetError('EINVAL', `bad port ${port}`))
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal))
    const host = opts.host ?? (family === 6 ? '::' : '0.0.0.0')
    const dualStack = family === 6 && opts.dualStack === true
    const sock = createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      ipv6Only: family === 6 && !dualStack,
      reuseAddr: opts.reuseAddr ?? false,
      recvBufferSize: opts.recvBufferSize ?? DEFAULT_SOCKET_BUFFER,
      sendBufferSize: opts.sendBufferSize ?? DEFAULT_SOCKET_BUFFER,
      lookup: literalLookup,
    })
    return new Promise<UdpSocket>((resolve, reject) => {
      const signal = opts.signal
      const cleanup = () => {
        sock.off('error', onError)
        sock.off('listening', onListening)
        signal?.removeEventListener('abort', onAbort)
      }
      const onError = (err: NodeJS.ErrnoException) => {
        cleanup()
        safeClose(sock)
        const code = err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' ? err.code : 'EBIND'
        reject(new NetError(code, `bind ${host}:${port}: ${err.message}`, { cause: err }))
      }
      const onAbort = () => {
        cleanup()
        safeClose(sock)
        reject(abortError(signal!))
      }
      const onListening = () => {
        cleanup()
        resolve(new UdpSocket(sock, family, dualStack))
      }
      sock.once('error', onError)
      sock.once('listening', onListening)
      signal?.addEventListener('abort', onAbort, { once: true })
      sock.bind({ address: host, port, exclusive: true })
    })
  }

  address(): Endpoint {
    return { host: this.local.host, port: this.local.port }
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (this.closing !== null || !isValidPort(to.port)) {
      this.counters.sendRejected++
      return
    }
    const host = this.destination(to.host)
    if (host === null) {
      this.counters.sendRejected++
      return
    }
    try {
      this.sock.send(data, to.port, host, this.afterSend)
      this.counters.sent++
      this.counters.sentBytes += data.byteLength
    } catch (err) {
      // node:dgram throws synchronously on argument errors (e.g. data that is not a Uint8Array).
      this.counters.sendRejected++
      this.lastSendError = err as Error
    }
  }

  setReceiver(handler: DatagramHandler | null): void {
    this.receiver = handler
  }

  close(): Promise<void> {
    if (this.closing === null) {
      this.receiver = null
      this.closing = new Promise<void>((resolve) => {
        try {
          this.sock.close(() => resolve())
        } catch {
          resolve() // already closed underneath
        }
      })
    }
    return this.closing
  }

  /** A snapshot of the counters. */
  stats(): UdpStats {
    return { ...this.counters }
  }

  /** Kernel buffer sizes actually granted (Linux reports twice the usable size). */
  bufferSizes(): { recv: number; send: number } {
    return { recv: this.sock.getRecvBufferSize(), send: this.sock.getSendBufferSize() }
  }

  /** Lets the process exit while this socket is open (node:dgram sockets hold the event loop by default). */
  unref(): this {
    this.sock.unref()
    return this
  }

  ref(): this {
    this.sock.ref()
    return this
  }

  /** Destination host as node:dgram wants it, or null when this socket cannot reach it. */
  private destination(host: string): string | null {
    const f = ipFamily(host)
    if (f === 0) return null // never let node:dgram resolve a name
    if (this.family === 4) {
      if (f === 4) return host
      const v4 = unmapV4(host)
      return v4 === host ? null : v4
    }
    if (f === 6) return this.dualStack ? host : unmapV4(host) === host ? host : null
    return this.dualStack ? `::ffff:${host}` : null
  }

  private readonly afterSend = (err: Error | null): void => {
    if (err) {
      this.counters.sendErrors++
      this.lastSendError = err
    }
  }

  private readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    this.counters.received++
    this.counters.receivedBytes += msg.byteLength
    const r = this.receiver
    if (r === null) {
      this.counters.unhandled++
      return
    }
    const host = this.dualStack ? unmapV4(rinfo.address) : rinfo.address
    try {
      r(msg, { host, port: rinfo.port })
    } catch (err) {
      this.counters.receiverErrors++
      this.lastReceiverError = err
    }
  }
}

function abortError(signal: AbortSignal): NetError {
  return new NetError('ABORT_ERR', 'bind aborted', { cause: signal.reason })
}

function safeClose(sock: Socket): void {
  try {
    sock.close()
  } catch {
    // not open: nothing to release
  }
}

// Endpoints are IP literals (types.ts), yet dgram resolves the address of every send through `lookup`, and
// dns.lookup answers even a literal on a later tick. Answering literals at once saves that deferral per datagram.
const literalLookup = ((host: string, options: unknown, callback: unknown) => {
  const cb = (typeof options === 'function' ? options : callback) as (
    err: NodeJS.ErrnoException | null,
    address: string,
    family: number,
  ) => void
  const family = isIP(host)
  if (family !== 0) return cb(null, host, family)
  return typeof options === 'function' ? dnsLookup(host, cb as never) : dnsLookup(host, options as never, cb as never)
}) as NonNullable<SocketOptions['lookup']>
