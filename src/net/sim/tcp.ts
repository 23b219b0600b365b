// One simulated host's TCP stack: a `StreamNetwork`, so `Swarm` and `SwarmNode` run TCP in simulated worlds.
// Get it from `SimNetwork.tcp(ip)` (internet hosts) or `NatRouter.tcp(ip)` (hosts behind a NAT). It connects from
// ephemeral ports, listens, demultiplexes segments by 4-tuple, and answers a segment nobody wants with a reset
// (a SYN to a port where nothing listens: the connector sees ECONNREFUSED). See docs/net.md for what is modelled.
import { ipFamily, isValidPort, unmapV4 } from '../address.js'
import { NetError } from '../errors.js'
import type {
  Endpoint,
  StreamConnectOptions,
  StreamHandler,
  StreamListener,
  StreamListenOptions,
  StreamNetwork,
  StreamSocket,
  Timer,
} from '../types.js'
import { canonicalIp } from './addresses.js'
import type { VirtualClock } from './clock.js'
import type { SeededRandom } from './random.js'
import type { SimHost } from './realm.js'
import type { TcpEndpointStack, TcpFabric, TcpSegment } from './tcp-route.js'
import { SimTcpSocket, type SimTcpSocketOptions, type TcpSocketStack } from './tcp-socket.js'

export interface SimTcpOptions {
  /** Receive window of each connection, bytes: what a reader that stops reading lets the writer send. Default 256 KiB. */
  receiveWindow?: number
  /** Largest data segment, bytes (one simulator event each). Default 64 KiB. */
  maxSegment?: number
  /** SYN re-sends (at 1, 2, 4… s) before a connect fails with `ETIMEDOUT`, as Linux's tcp_syn_retries. Default 6 (127 s). */
  synRetries?: number
  /** How long a connection whose segments the network drops (a NAT lost its flow) lives on, ms. Default 15 min. */
  giveUpMs?: number
}

/** Counters of one host's TCP stack. */
export interface SimTcpStats {
  connects: number
  /** Connections handed to a listener. */
  accepted: number
  /** SYNs answered with a reset: nothing listened on the port. */
  refused: number
  /** SYNs dropped because the listener's backlog of half-open connections was full. */
  backlogDrops: number
  /** Resets sent for segments of no connection. */
  resets: number
  /** Connection-handler exceptions (caught, never propagated). */
  handlerErrors: number
  /** Live connections (any state). */
  connections: number
}

/** Linux's default ephemeral port range (net.ipv4.ip_local_port_range). */
const EPHEMERAL_LO = 32768
const EPHEMERAL_HI = 60999

class SimTcpListener implements StreamListener {
  halfOpen = 0
  closed = false
  private readonly sockets = new Set<SimTcpSocket>()
  private closing: Promise<void> | undefined

  constructor(
    private readonly stack: SimTcp,
    readonly port: number,
    readonly options: StreamListenOptions,
    private readonly onConnection: StreamHandler,
  ) {}

  address(): Endpoint {
    return { host: this.stack.host.ip, port: this.port }
  }

  /** Stops accepting; resolves once every connection it accepted closed too (as `net.Server#close`). */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.closed = true
      this.stack.unlisten(this)
      if (this.sockets.size === 0) return resolve()
      for (const s of this.sockets) {
        s.once('close', () => {
          this.sockets.delete(s)
          if (this.sockets.size === 0) resolve()
        })
      }
    })
    return this.closing
  }

  /** The handshake of a connection to this listener completed. */
  accept(sock: SimTcpSocket): boolean {
    this.halfOpen--
    if (this.closed) return false
    this.sockets.add(sock)
    sock.once('close', () => this.closed || this.sockets.delete(sock))
    this.onConnection(sock)
    return true
  }
}

/** What a host's TCP stack needs of the network (a `SimNetwork`). */
export interface TcpWorld {
  readonly clock: VirtualClock
  readonly random: SeededRandom
}

export class SimTcp implements StreamNetwork, TcpEndpointStack, TcpSocketStack {
  private readonly listeners = new Map<number, SimTcpListener>()
  private readonly conns = new Map<string, SimTcpSocket>()
  /** Local ports in use by connections: how many each. */
  private readonly portUse = new Map<number, number>()
  private readonly halfOpenOf = new Map<SimTcpSocket, SimTcpListener>()
  private readonly counters: Omit<SimTcpStats, 'connections'> = {
    connects: 0,
    accepted: 0,
    refused: 0,
    backlogDrops: 0,
    resets: 0,
    handlerErrors: 0,
  }
  private readonly socketOptions: Omit<SimTcpSocketOptions, 'allowHalfOpen'>

  /** @internal Use `SimNetwork.tcp(ip)` or `NatRouter.tcp(ip)`. */
  constructor(
    private readonly network: TcpWorld,
    private readonly fabric: TcpFabric,
    /** @internal */ readonly host: SimHost,
    opts: SimTcpOptions = {},
  ) {
    this.socketOptions = {
      window: positive(opts.receiveWindow, 256 * 1024),
      maxSegment: positive(opts.maxSegment, 64 * 1024),
      synRetries: Math.max(0, Math.floor(opts.synRetries ?? 6)),
      giveUpMs: positive(opts.giveUpMs, 15 * 60_000),
    }
  }

  get localIp(): string {
    return this.host.ip
  }

  stats(): SimTcpStats {
    return { ...this.counters, connections: this.conns.size }
  }

  connect(to: Endpoint, options: StreamConnectOptions = {}): Promise<StreamSocket> {
    const { signal } = options
    if (signal?.aborted) return Promise.reject(signal.reason)
    let host: string
    try {
      host = this.destination(to)
      if (options.localAddress !== undefined) this.checkLocal(options.localAddress)
    } catch (err) {
      return Promise.reject(err)
    }
    const port = this.ephemeralPort()
    if (port < 0) return Promise.reject(new NetError('EADDRNOTAVAIL', `no free ephemeral port on ${this.host.ip}`))
    this.counters.connects++
    const sock = new SimTcpSocket(this, port, { host, port: to.port }, 'synSent', {
      ...this.socketOptions,
      allowHalfOpen: options.allowHalfOpen ?? false,
    })
    this.register(sock)
    return new Promise<StreamSocket>((resolve, reject) => {
      const onAbort = () => sock.abortConnect(signal?.reason)
      sock.onConnect = (err) => {
        signal?.removeEventListener('abort', onAbort)
        if (err === null) resolve(sock)
        else reject(err)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      sock.startConnect()
    })
  }

  listen(options: StreamListenOptions, onConnection: StreamHandler): Promise<StreamListener> {
    try {
      if (options.host !== undefined) this.checkLocal(options.host)
      let port = options.port ?? 0
      if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new NetError('EINVAL', `bad port ${port}`)
      if (port === 0) port = this.ephemeralPort()
      if (port < 0) throw new NetError('EADDRINUSE', `no free port on ${this.host.ip}`)
      if (this.listeners.has(port)) throw new NetError('EADDRINUSE', `${this.host.ip}:${port} is already listening`)
      const l = new SimTcpListener(this, port, options, onConnection)
      this.listeners.set(port, l)
      return Promise.resolve(l)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  // ---- from the network ----

  /** @internal A segment for this host arrived. */
  receive(seg: TcpSegment, from: Endpoint, localPort: number): void {
    const sock = this.conns.get(`${localPort}|${from.host}|${from.port}`)
    if (sock !== undefined) return sock.onSegment(seg)
    if (seg.kind === 'syn') {
      const l = this.listeners.get(localPort)
      if (l === undefined) {
        this.counters.refused++
        return this.reset(localPort, from)
      }
      const backlog = l.options.backlog ?? 511
      if (l.halfOpen >= backlog) {
        this.counters.backlogDrops++
        return
      }
      const s = new SimTcpSocket(this, localPort, from, 'synReceived', {
        ...this.socketOptions,
        allowHalfOpen: l.options.allowHalfOpen ?? false,
      })
      l.halfOpen++
      this.halfOpenOf.set(s, l)
      this.register(s)
      s.startAccept(seg.edge ?? 0)
      return
    }
    // A segment of no connection (closed, or never opened): Linux answers with a reset, never to a reset.
    if (seg.kind !== 'rst') this.reset(localPort, from)
  }

  // ---- TcpSocketStack ----

  now(): number {
    return this.network.clock.now()
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.network.clock.setTimeout(fn, ms)
  }

  transmit(sock: SimTcpSocket, seg: TcpSegment, notBefore: number): number {
    const r = this.fabric.send(this.host, sock.localPort, sock.remoteAddress, sock.remotePort, seg, notBefore)
    return typeof r === 'number' ? r : -1
  }

  release(sock: SimTcpSocket): void {
    if (this.conns.get(sock.key) !== sock) return
    this.conns.delete(sock.key)
    const n = (this.portUse.get(sock.localPort) ?? 1) - 1
    if (n > 0) this.portUse.set(sock.localPort, n)
    else this.portUse.delete(sock.localPort)
    const l = this.halfOpenOf.get(sock)
    if (l !== undefined) {
      this.halfOpenOf.delete(sock)
      l.halfOpen--
    }
  }

  accepted(sock: SimTcpSocket): void {
    const l = this.halfOpenOf.get(sock)
    if (l === undefined) return
    this.halfOpenOf.delete(sock)
    let ok = false
    try {
      ok = l.accept(sock)
      if (ok) this.counters.accepted++
    } catch {
      this.counters.handlerErrors++
    }
    // The listener closed while the handshake ran: the connection is reset, as Linux does.
    if (!ok) sock.resetAndDestroy()
  }

  /** @internal */
  unlisten(l: SimTcpListener): void {
    if (this.listeners.get(l.port) === l) this.listeners.delete(l.port)
    for (const [s, owner] of this.halfOpenOf) if (owner === l) s.resetAndDestroy()
  }

  // ---- internals ----

  private register(sock: SimTcpSocket): void {
    this.conns.set(sock.key, sock)
    this.portUse.set(sock.localPort, (this.portUse.get(sock.localPort) ?? 0) + 1)
  }

  private reset(localPort: number, to: Endpoint): void {
    this.counters.resets++
    this.fabric.send(this.host, localPort, to.host, to.port, { kind: 'rst' }, 0)
  }

  /** The canonical destination address, or a `NetError`. */
  private destination(to: Endpoint): string {
    if (!isValidPort(to.port)) throw new NetError('EINVAL', `bad port ${to.port}`)
    let host = to.host
    const fam = typeof host === 'string' ? ipFamily(host) : 0
    if (fam === 0) throw new NetError('EINVAL', `not an IP literal: ${JSON.stringify(host)}`)
    if (fam === 6 && this.host.family === 4) {
      host = unmapV4(host)
      if (host === to.host) throw new NetError('EINVAL', `a v4 host cannot connect to ${to.host}`)
      return host
    }
    if (fam !== this.host.family) throw new NetError('EINVAL', `a v6 host cannot connect to ${to.host}`)
    return canonicalIp(host)
  }

  /** Accepts the host's own address or the wildcard; anything else is not ours. */
  private checkLocal(ip: string): void {
    if (ip === '0.0.0.0' || ip === '::') return
    let mine: boolean
    try {
      mine = canonicalIp(ip) === this.host.ip
    } catch {
      mine = false
    }
    if (!mine) throw new NetError('EADDRNOTAVAIL', `${ip} is not an address of ${this.host.ip}`)
  }

  private ephemeralPort(): number {
    const size = EPHEMERAL_HI - EPHEMERAL_LO + 1
    const start = this.network.random.int(0, size)
    for (let i = 0; i < size; i++) {
      const p = EPHEMERAL_LO + ((start + i) % size)
      if (!this.portUse.has(p) && !this.listeners.has(p)) return p
    }
    return -1
  }
}

function positive(v: number | undefined, dflt: number): number {
  return v !== undefined && v > 0 ? v : dflt
}
