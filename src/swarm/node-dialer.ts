// The swarm node's dialer: uTP first, from the shared UDP port (so the NAT mapping is the one the DHT and relays
// know), then TCP as a fallback. A dial that fails both ways is reported (`onFailed`), which is where the
// holepunch initiator steps in.
import { canReach } from '../net/address.js'
import type { Clock, Endpoint, StreamNetwork } from '../net/types.js'
import type { UtpSocketManager } from '../utp/socket-manager.js'
import { WireError } from '../wire/errors.js'
import { type DialedStream, type Dialer, TcpDialer } from './dialer.js'

export interface NodeDialerOptions {
  /** How long a uTP dial may take, ms. Default 3000. */
  utpTimeout?: number
  /** How long the TCP fallback may take, ms; 0 disables TCP. Default 3000. */
  tcpTimeout?: number
  /** Local address for outgoing TCP. Default: the system's choice. */
  localAddress?: string
  /** The TCP stack of the fallback. Default `realTcp`. */
  network?: StreamNetwork
}

export class NodeDialer implements Dialer {
  readonly transport = 'utp' as const
  readonly stats = { utp: 0, tcp: 0, failed: 0 }
  /** Called after both transports failed. */
  onFailed: ((to: Endpoint) => void) | undefined
  private readonly tcp: TcpDialer | undefined

  constructor(
    private readonly utp: UtpSocketManager,
    private readonly clock: Clock,
    private readonly options: NodeDialerOptions = {},
  ) {
    if ((options.tcpTimeout ?? 3000) > 0) {
      this.tcp = new TcpDialer({ localAddress: options.localAddress, network: options.network, clock })
    }
  }

  async dial(to: Endpoint, options: { signal?: AbortSignal; timeout?: number } = {}): Promise<DialedStream> {
    options.signal?.throwIfAborted()
    const utpTimeout = Math.min(options.timeout ?? Number.POSITIVE_INFINITY, this.options.utpTimeout ?? 3000)
    let firstError: unknown = new WireError('DIAL_FAILED', `our UDP socket cannot reach ${to.host}`)
    // An IPv6 peer from an IPv4-only UDP socket (or the reverse): no uTP datagram could leave, go straight to TCP.
    if (canReach(this.utp.socket, to.host)) {
      try {
        const stream = await this.dialUtp(to, utpTimeout, options.signal)
        this.stats.utp++
        return { stream, remote: to, local: this.utp.socket.address(), transport: 'utp' }
      } catch (err) {
        firstError = err
        if (options.signal?.aborted) throw err
      }
    }
    if (this.tcp) {
      try {
        const tcpTimeout = Math.min(options.timeout ?? Number.POSITIVE_INFINITY, this.options.tcpTimeout ?? 3000)
        const dialed = await this.tcp.dial(to, { signal: options.signal, timeout: tcpTimeout })
        this.stats.tcp++
        return dialed
      } catch (err) {
        firstError = err
      }
    }
    this.stats.failed++
    this.onFailed?.(to)
    throw new WireError('DIAL_FAILED', `no uTP${this.tcp ? ' or TCP' : ''} connection to ${to.host}:${to.port}`, {
      cause: firstError,
    })
  }

  private async dialUtp(to: Endpoint, timeout: number, signal: AbortSignal | undefined) {
    const ac = new AbortController()
    const onAbort = () => ac.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const timer = this.clock.setTimeout(
      () => ac.abort(new WireError('TIMEOUT', `uTP connect to ${to.host}:${to.port} timed out`)),
      timeout,
    )
    try {
      return await this.utp.dial(to, { signal: ac.signal })
    } finally {
      timer.cancel()
      signal?.removeEventListener('abort', onAbort)
    }
  }
}
