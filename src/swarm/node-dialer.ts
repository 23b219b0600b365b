// The swarm node's dialer: uTP first, from the shared UDP port (so the NAT mapping is the one the DHT and relays
// know), with TCP dialed beside it when uTP has not answered within `tcpDelay` (at once when uTP failed). A dial
// that fails both ways is reported (`onFailed`), which is where the holepunch initiator steps in.
import { canReach } from '../net/address.js'
import type { Clock, Endpoint, StreamNetwork, Timer } from '../net/types.js'
import type { UtpSocketManager } from '../utp/socket-manager.js'
import { WireError } from '../wire/errors.js'
import { type DialedStream, type Dialer, TcpDialer } from './dialer.js'

export interface NodeDialerOptions {
  /** How long a uTP dial may take, ms. Default 3000. */
  utpTimeout?: number
  /** How long the TCP fallback may take, ms; 0 disables TCP. Default 3000. */
  tcpTimeout?: number
  /**
   * How long a uTP dial runs alone before TCP is dialed beside it, ms; the first to connect wins and the other
   * is dropped. A uTP failure starts TCP at once. `Infinity`: TCP only after uTP failed. Default 1500: past the
   * uTP SYN's first re-send (at 1 s), so one lost datagram does not turn a uTP peer's connection into TCP — a
   * relay names a TCP-connected peer by its listen port, not by the UDP mapping that hole punching needs.
   */
  tcpDelay?: number
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
    const limit = options.timeout ?? Number.POSITIVE_INFINITY
    const utpTimeout = Math.min(limit, this.options.utpTimeout ?? 3000)
    const tcpTimeout = Math.min(limit, this.options.tcpTimeout ?? 3000)
    const tcpDelay = this.options.tcpDelay ?? 1500
    // Aborts whichever attempt is still running once one has won, and both when the caller gives up.
    const race = new AbortController()
    const onAbort = () => race.abort(options.signal?.reason)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    // An IPv6 peer from an IPv4-only UDP socket (or the reverse): no uTP datagram could leave, go straight to TCP.
    const utpPossible = canReach(this.utp.socket, to.host)
    return new Promise<DialedStream>((resolve, reject) => {
      let settled = false
      let running = 0
      let tcpStarted = false
      let lastError: unknown = new WireError('DIAL_FAILED', `our UDP socket cannot reach ${to.host}`)
      let delay: Timer | undefined
      const finish = () => {
        settled = true
        delay?.cancel()
        options.signal?.removeEventListener('abort', onAbort)
      }
      const win = (dialed: DialedStream) => {
        running--
        // The slower of two successful attempts: its connection is not wanted.
        if (settled) return void dialed.stream.destroy()
        finish()
        this.stats[dialed.transport === 'tcp' ? 'tcp' : 'utp']++
        race.abort(new WireError('DIAL_FAILED', 'another transport connected first'))
        resolve(dialed)
      }
      const lose = (err: unknown) => {
        running--
        if (settled) return
        lastError = err
        if (options.signal?.aborted) {
          finish()
          return reject(err)
        }
        startTcp()
        if (running > 0) return
        finish()
        this.stats.failed++
        this.onFailed?.(to)
        const which = this.tcp ? 'uTP or TCP' : 'uTP'
        reject(new WireError('DIAL_FAILED', `no ${which} connection to ${to.host}:${to.port}`, { cause: lastError }))
      }
      const startTcp = () => {
        if (settled || tcpStarted || !this.tcp) return
        tcpStarted = true
        delay?.cancel()
        running++
        this.tcp.dial(to, { signal: race.signal, timeout: tcpTimeout }).then(win, lose)
      }
      if (utpPossible) {
        running++
        this.dialUtp(to, utpTimeout, race.signal).then(
          (stream) => win({ stream, remote: to, local: this.utp.socket.address(), transport: 'utp' }),
          lose,
        )
        // Happy eyeballs: a peer that does not answer uTP soon may speak only TCP (or sit behind a NAT that
        // forwards only TCP). TCP starts beside the uTP dial instead of after its whole timeout.
        if (this.tcp && Number.isFinite(tcpDelay)) delay = this.clock.setTimeout(startTcp, tcpDelay)
      } else {
        running++
        lose(lastError)
      }
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
