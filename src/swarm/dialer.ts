// How the swarm opens streams to peers. A dialer turns an endpoint into a connected Duplex; TCP is here (over any
// `StreamNetwork`: real TCP, or a simulated host's), uTP (and the holepunch initiator's "dial uTP from the DHT's
// port") plug in by implementing the same interface.
import type { Duplex } from 'node:stream'
import { realClock } from '../net/clock.js'
import { realTcp, socketEndpoint } from '../net/tcp.js'
import type { Clock, Endpoint, StreamNetwork } from '../net/types.js'
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

export { socketEndpoint }

export interface TcpDialerOptions {
  /** The TCP stack to dial through. Default `realTcp` (node:net); `SimNetwork.tcp(ip)` in simulated worlds. */
  network?: StreamNetwork
  /** Times the connect timeout. Default `realClock`. */
  clock?: Clock
  /** Connect timeout. Default 10 s. */
  timeout?: number
  /** Local address to bind outgoing sockets to. Default: the system's choice. */
  localAddress?: string
}

export class TcpDialer implements Dialer {
  readonly transport = 'tcp' as const
  private readonly network: StreamNetwork
  private readonly clock: Clock

  constructor(private readonly options: TcpDialerOptions = {}) {
    this.network = options.network ?? realTcp
    this.clock = options.clock ?? realClock
  }

  async dial(to: Endpoint, options: { signal?: AbortSignal; timeout?: number } = {}): Promise<DialedStream> {
    options.signal?.throwIfAborted()
    const timeout = options.timeout ?? this.options.timeout ?? 10_000
    const ac = new AbortController()
    const timer = this.clock.setTimeout(
      () => ac.abort(new WireError('TIMEOUT', `TCP connect to ${to.host}:${to.port} timed out`)),
      timeout,
    )
    const onAbort = () => ac.abort(options.signal?.reason ?? new WireError('TIMEOUT', 'aborted'))
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const socket = await this.network.connect(to, { signal: ac.signal, localAddress: this.options.localAddress })
      socket.setNoDelay(true)
      return {
        stream: socket,
        remote: socketEndpoint(socket.remoteAddress, socket.remotePort) ?? to,
        local: socketEndpoint(socket.localAddress, socket.localPort),
        transport: 'tcp',
      }
    } catch (err) {
      if (ac.signal.aborted) throw ac.signal.reason
      throw new WireError('DIAL_FAILED', `TCP connect to ${to.host}:${to.port} failed: ${(err as Error).message}`, {
        cause: err,
      })
    } finally {
      timer.cancel()
      options.signal?.removeEventListener('abort', onAbort)
    }
  }
}
