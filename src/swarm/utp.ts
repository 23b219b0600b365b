// uTP for the swarm: a `Dialer` over a `UtpSocketManager`, and the glue that hands a manager's accepted streams to
// a swarm. A node shares one UDP port between uTP and the DHT through `UdpMux`; `bindUtpPort` sets that up.
import { UdpMux } from '../net/mux.js'
import type { Endpoint } from '../net/types.js'
import { type UdpBindOptions, UdpSocket } from '../net/udp.js'
import { UtpSocketManager, type UtpSocketManagerOptions } from '../utp/socket-manager.js'
import { WireError } from '../wire/errors.js'
import type { DialedStream, Dialer } from './dialer.js'
import type { Swarm } from './swarm.js'

export interface UtpDialerOptions {
  /** Dial through this manager (e.g. the one on the node's shared port). Default: bind a socket on first dial. */
  manager?: UtpSocketManager
  /** Where the socket bound on first dial goes. Default: 0.0.0.0, a free port. */
  bind?: UdpBindOptions
  /** Connect timeout, ms. Default 10 s. */
  timeout?: number
  /** Options of the manager created on first dial. */
  managerOptions?: UtpSocketManagerOptions
  /** Let the process exit while the socket bound on first dial is open (a CLI wants this). Default false. */
  unref?: boolean
}

/** Opens uTP streams. Streams dialled through a shared-port manager leave from that port (what NATs have mapped). */
export class UtpDialer implements Dialer {
  readonly transport = 'utp' as const
  private mgr: UtpSocketManager | undefined
  private owned: Promise<{ socket: UdpSocket; manager: UtpSocketManager }> | undefined
  private readonly options: UtpDialerOptions

  constructor(options: UtpDialerOptions = {}) {
    this.options = options
    this.mgr = options.manager
  }

  /** Dials through `manager` from now on (e.g. once the node's shared port is bound). */
  attach(manager: UtpSocketManager): void {
    this.mgr = manager
  }

  async dial(to: Endpoint, options: { signal?: AbortSignal; timeout?: number } = {}): Promise<DialedStream> {
    const manager = await this.manager()
    const timeout = options.timeout ?? this.options.timeout ?? 10_000
    const ac = new AbortController()
    const timer = setTimeout(
      () => ac.abort(new WireError('TIMEOUT', `uTP connect to ${to.host}:${to.port} timed out`)),
      timeout,
    )
    const onAbort = () => ac.abort(options.signal?.reason)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const stream = await manager.dial(to, { signal: ac.signal })
      return { stream, remote: to, local: manager.socket.address(), transport: 'utp' }
    } catch (err) {
      if (err instanceof WireError || ac.signal.aborted) throw ac.signal.reason ?? err
      throw new WireError('DIAL_FAILED', `uTP connect to ${to.host}:${to.port} failed: ${(err as Error).message}`, {
        cause: err,
      })
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Closes the socket this dialer bound itself (an attached manager is left to its owner). */
  async close(): Promise<void> {
    const o = this.owned
    this.owned = undefined
    if (!o) return
    const { socket, manager } = await o
    await manager.close()
    await socket.close()
  }

  private async manager(): Promise<UtpSocketManager> {
    if (this.mgr) return this.mgr
    this.owned ??= (async () => {
      const socket = await UdpSocket.bind(this.options.bind ?? { host: '0.0.0.0' })
      if (this.options.unref) socket.unref()
      return { socket, manager: new UtpSocketManager(socket, this.options.managerOptions) }
    })()
    return (await this.owned).manager
  }
}

/** Hands every stream `manager` accepts to `swarm` (as incoming uTP connections). Returns a function to stop. */
export function acceptUtp(swarm: Swarm, manager: UtpSocketManager): () => void {
  const onConnection = (stream: import('../utp/stream.js').UtpStream) => {
    swarm.addStream(stream, {
      remote: stream.remote,
      local: manager.socket.address(),
      transport: 'utp',
      direction: 'incoming',
    })
  }
  manager.on('connection', onConnection)
  return () => manager.off('connection', onConnection)
}

/** A node's shared UDP port: one socket, a mux, and uTP on it (`mux.dht` is free for the DHT). */
export interface UtpPort {
  socket: UdpSocket
  mux: UdpMux
  manager: UtpSocketManager
  close(): Promise<void>
}

/** Binds the shared UDP port (e.g. the swarm's TCP port number) and starts uTP on it. */
export async function bindUtpPort(bind: UdpBindOptions, options?: UtpSocketManagerOptions): Promise<UtpPort> {
  const socket = await UdpSocket.bind(bind)
  const mux = new UdpMux(socket)
  // Peer wire over uTP: the initiator speaks first (the BitTorrent handshake), so SYN cookies are safe.
  const manager = new UtpSocketManager(mux.utp, { synCookies: true, ...options })
  return {
    socket,
    mux,
    manager,
    async close() {
      await manager.close()
      await mux.close()
    },
  }
}
