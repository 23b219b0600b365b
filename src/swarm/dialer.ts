// How the swarm opens streams to peers. A dialer turns an endpoint into a connected Duplex; TCP is here, uTP (and
// the holepunch initiator's "dial uTP from the DHT's port") plug in by implementing the same interface.
import { connect as netConnect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { normalizeIP } from '../codec/ip.js'
import type { Endpoint } from '../net/types.js'
import { WireError } from '../wire/errors.js'
import type { Transport } from '../wire/peer-connection.js'

export interface DialedStream {
  stream: Duplex
  remote: Endpoint
  local: Endpoint | undefined
  transport: Transport
}

export interface Dialer {
  readonly transport: Transport
  /** Opens a stream to `to`. Rejects with `WireError` (`DIAL_FAILED`, `TIMEOUT`) or the signal's reason. */
  dial(to: Endpoint, options?: { signal?: AbortSignal; timeout?: number }): Promise<DialedStream>
}

/** The endpoint of one side of a TCP socket, with the IP in canonical form (v4-mapped addresses unmapped). */
export function socketEndpoint(address: string | undefined, port: number | undefined): Endpoint | undefined {
  if (!address || !port) return undefined
  return { host: normalizeIP(address) ?? address, port }
}

export interface TcpDialerOptions {
  /** Connect timeout. Default 10 s. */
  timeout?: number
  /** Local address to bind outgoing sockets to. Default: the system's choice. */
  localAddress?: string
}

export class TcpDialer implements Dialer {
  readonly transport = 'tcp' as const
  constructor(private readonly options: TcpDialerOptions = {}) {}

  dial(to: Endpoint, options: { signal?: AbortSignal; timeout?: number } = {}): Promise<DialedStream> {
    const timeout = options.timeout ?? this.options.timeout ?? 10_000
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(options.signal.reason)
      const socket: Socket = netConnect({ host: to.host, port: to.port, localAddress: this.options.localAddress })
      socket.setNoDelay(true)
      const timer = setTimeout(
        () => fail(new WireError('TIMEOUT', `TCP connect to ${to.host}:${to.port} timed out`)),
        timeout,
      )
      const onAbort = () => fail(options.signal?.reason ?? new WireError('TIMEOUT', 'aborted'))
      options.signal?.addEventListener('abort', onAbort, { once: true })
      const done = () => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        socket.off('error', onError)
      }
      const fail = (err: unknown) => {
        done()
        socket.destroy()
        reject(err)
      }
      const onError = (err: Error) =>
        fail(
          new WireError('DIAL_FAILED', `TCP connect to ${to.host}:${to.port} failed: ${err.message}`, { cause: err }),
        )
      socket.once('error', onError)
      socket.once('connect', () => {
        done()
        resolve({
          stream: socket,
          remote: socketEndpoint(socket.remoteAddress, socket.remotePort) ?? to,
          local: socketEndpoint(socket.localAddress, socket.localPort),
          transport: 'tcp',
        })
      })
    })
  }
}
