// A minimal swarm for one info hash: a TCP listener, outgoing connections through a pluggable dialer, any other
// transport's streams through `addStream`, PEX-driven peer discovery (peer-book.ts; optionally dialing what it
// learns: auto-dial.ts), one connection per peer (crossing.ts), the BEP 55 relay role, and connection limits. uTP,
// the DHT and the holepunch initiator join it later through the same seams (`addStream`, `Dialer`, `hp_connect`).
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { bytesEqual } from '../codec/bytes.js'
import type { CompactPeer } from '../codec/compact.js'
import { isLocalNetwork } from '../codec/ip.js'
import type { PexPeer } from '../codec/pex.js'
import { cryptoRandom, realClock } from '../net/clock.js'
import { realTcp } from '../net/tcp.js'
import type { Clock, Endpoint, Random, StreamListener, StreamNetwork } from '../net/types.js'
import { WireError } from '../wire/errors.js'
import {
  DEFAULT_CLIENT_NAME,
  type Direction,
  PeerConnection,
  type PeerConnectionOptions,
  type Transport,
} from '../wire/peer-connection.js'
import { AutoDialer } from './auto-dial.js'
import { duplicateToClose } from './crossing.js'
import { type Dialer, socketEndpoint, TcpDialer } from './dialer.js'
import { PeerBook, pexSource } from './peer-book.js'
import { Relay, type RelayOptions, sameEndpoint } from './relay.js'
import { PeerTurnover } from './turnover.js'

export interface SwarmOptions {
  /** The torrent (20 bytes). */
  infoHash: Uint8Array
  /** Our peer id. Default: "-MN0100-" and 12 random bytes ("ML" is taken by MLdonkey in the Azureus-style list). */
  peerId?: Uint8Array
  /** Address the TCP listener binds to. Default "0.0.0.0". */
  host?: string
  /** TCP listen port; 0 picks one. Default 0. */
  port?: number
  /** Dials outgoing connections. Default a `TcpDialer` over `streams`. */
  dialer?: Dialer
  /** The TCP stack to listen (and by default dial) on. Default `realTcp`; `SimNetwork.tcp(ip)` in simulations. */
  streams?: StreamNetwork
  /** Default `realClock`. */
  clock?: Clock
  /** Default `cryptoRandom`. */
  random?: Random
  /**
   * Most connections (handshaking and open). When all are taken, a newcomer replaces an incoming connection that
   * never became useful (turnover.ts); only when every one is useful is it refused. Default 50.
   */
  maxConnections?: number
  /**
   * Most connections with one public IP address (handshaking and open; loopback and private addresses are exempt,
   * so that a testnet on one machine works). Default 3: one address cannot take every slot.
   */
  maxConnectionsPerIp?: number
  /** Dial peers learnt from PEX. Default false. */
  autoDial?: boolean
  /** Most auto-dials in flight at once. Default 4. */
  maxPendingDials?: number
  /** Least time before auto-dialing the same endpoint again. Default 5 min. */
  redialInterval?: number
  /** Peers remembered from PEX and handshakes (oldest forgotten first). Default 1000. */
  maxKnownPeers?: number
  /** Per-connection options (keep-alive, timeouts, PEX limits, client name…). */
  connection?: Partial<
    Omit<PeerConnectionOptions, 'stream' | 'transport' | 'direction' | 'remote' | 'local' | 'peerId'>
  >
  /** Relay rate limits. */
  relay?: RelayOptions
  /**
   * True for endpoints that are this peer, which PEX may name (a relay listing us back to ourselves): they are
   * neither reported nor dialed. Default: `selfEndpoints()` (the SwarmNode passes its own, wider check).
   */
  isSelf?: (ep: Endpoint) => boolean
  /**
   * The port our extended handshakes advertise as `p` (BEP 10: where to dial us), asked for each new connection:
   * a SwarmNode answers with the port its router forwards once a mapping is granted. Default: the listen port.
   */
  advertisedPort?: () => number | undefined
}

export type SwarmEvents = {
  listening: [endpoint: Endpoint]
  /** A connection finished its handshake. */
  connected: [conn: PeerConnection]
  /** A connection closed before its handshake completed (garbage, wrong info hash, timeout, limit…). */
  rejected: [conn: PeerConnection, reason: WireError]
  /** A connection (that had been `connected`) closed. */
  disconnected: [conn: PeerConnection, reason: WireError]
  /** A PEX message arrived (already validated and capped). */
  pex: [conn: PeerConnection, added: PexPeer[], dropped: CompactPeer[]]
  /** A peer we did not know before, learnt from PEX. */
  peer: [peer: PexPeer, from: PeerConnection]
  /** A connection asked us (as relay) for a rendezvous. */
  hp_rendezvous: [conn: PeerConnection, target: Endpoint, peerId: Uint8Array | undefined]
  /** We relayed a rendezvous: `connect` went to both. */
  hp_relayed: [from: PeerConnection, to: PeerConnection]
  /** We refused a rendezvous with a BEP 55 error code. */
  hp_refused: [from: PeerConnection, code: number, target: Endpoint]
  /** A relay told us to connect to `ip`:`port` (the initiator role acts on it). */
  hp_connect: [conn: PeerConnection, ip: string, port: number]
  /** A relay refused our rendezvous. */
  hp_error: [conn: PeerConnection, code: number, endpoint: Endpoint]
}

/** Azureus-style client prefix of our default peer ids. */
export const PEER_ID_PREFIX = '-MN0100-'

export class Swarm extends EventEmitter<SwarmEvents> {
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
  readonly relay: Relay
  readonly stats = {
    refusedForLimit: 0,
    /** Connections replaced by a newcomer while every slot was taken (turnover.ts). */
    turnedOver: 0,
    listenerErrors: 0,
    dialFailures: 0,
    autoDials: 0,
    /** Closed connections by `WireError` code. */
    closed: Object.create(null) as Record<string, number>,
  }
  private readonly opts: SwarmOptions
  private readonly clock: Clock
  private readonly dialer: Dialer
  private readonly conns = new Set<PeerConnection>()
  private readonly turnover: PeerTurnover
  /** Peers learnt from PEX and handshakes (peer-book.ts). */
  private readonly known: PeerBook
  /** Dials what PEX names, with the `autoDial` option (auto-dial.ts). */
  private readonly autoDialer: AutoDialer
  private server: StreamListener | undefined
  private info: Uint8Array | undefined
  private listenEndpoint: Endpoint | undefined
  private closed = false
  /** Aborted by `close()`: every dial in flight listens to it. */
  private readonly closing = new AbortController()

  constructor(options: SwarmOptions) {
    super()
    if (options.infoHash.length !== 20) throw new RangeError('infoHash must be 20 bytes')
    this.opts = options
    this.infoHash = options.infoHash
    this.clock = options.clock ?? realClock
    this.dialer = options.dialer ?? new TcpDialer({ network: options.streams, clock: this.clock })
    this.turnover = new PeerTurnover(this.clock)
    this.known = new PeerBook(options)
    const random = options.random ?? cryptoRandom
    this.peerId = options.peerId ?? new Uint8Array([...new TextEncoder().encode(PEER_ID_PREFIX), ...random.bytes(12)])
    this.relay = new Relay(
      { connections: () => this.conns, isSelf: (ep) => this.isSelf(ep), clock: this.clock },
      options.relay,
    )
    this.autoDialer = new AutoDialer(
      {
        clock: this.clock,
        stats: this.stats,
        closed: () => this.closed,
        connectionCount: () => this.conns.size,
        connectionTo: (ep, handshaking) => this.connectionTo(ep, handshaking),
        connect: (ep) => this.connect(ep),
      },
      options,
    )
    this.relay.on('relayed', (from, to) => this.emit('hp_relayed', from, to))
    this.relay.on('refused', (from, code, target) => this.emit('hp_refused', from, code, target))
  }

  /** Open connections (handshake done). */
  get connections(): PeerConnection[] {
    return [...this.conns].filter((c) => c.isOpen)
  }

  /** The open connection (with `handshaking`, also one still handshaking) to `ep`, by remote or listen endpoint. */
  connectionTo(ep: Endpoint, handshaking = false): PeerConnection | undefined {
    for (const c of this.conns) {
      if (
        (c.isOpen || (handshaking && !c.isClosed)) &&
        (sameEndpoint(c.remote, ep) || sameEndpoint(c.listenEndpoint, ep))
      )
        return c
    }
    return undefined
  }

  /** The info dictionary this swarm serves over ut_metadata (BEP 9), once known. */
  get metadata(): Uint8Array | undefined {
    return this.info
  }

  /** Serves `info` (not verified here: SwarmNode does); open connections learn its size in a new extended handshake. */
  setMetadata(info: Uint8Array): void {
    this.info = info
    for (const c of this.conns) if (c.isOpen && c.remoteExtended) c.sendExtendedHandshake()
  }

  /** Where we listen, once `listen()` resolved. */
  get address(): Endpoint | undefined {
    return this.listenEndpoint
  }

  /** Starts the TCP listener. Resolves with the bound endpoint. */
  async listen(): Promise<Endpoint> {
    const streams = this.opts.streams ?? realTcp
    const server = await streams.listen(
      {
        host: this.opts.host ?? '0.0.0.0',
        port: this.opts.port ?? 0,
        // After listening, errors (EMFILE on accept…) are counted, never thrown.
        onError: () => {
          this.stats.listenerErrors++
        },
      },
      (socket) => {
        const remote = socketEndpoint(socket.remoteAddress, socket.remotePort)
        if (!remote) return socket.destroy()
        socket.setNoDelay(true)
        this.addStream(socket, {
          remote,
          local: socketEndpoint(socket.localAddress, socket.localPort),
          transport: 'tcp',
          direction: 'incoming',
        })
      },
    )
    this.server = server
    this.listenEndpoint = server.address()
    this.emit('listening', this.listenEndpoint)
    return this.listenEndpoint
  }

  /**
   * Adopts a connected stream from any transport (TCP listener, uTP, a holepunched socket). Returns the
   * connection, or undefined (and destroys the stream) when the swarm is full or closed.
   */
  addStream(
    stream: Duplex,
    info: { remote: Endpoint; local?: Endpoint; transport: Transport; direction: Direction },
  ): PeerConnection | undefined {
    if (this.closed || this.ipFull(info.remote.host) || !this.makeRoom()) {
      this.stats.refusedForLimit++
      stream.destroy()
      return undefined
    }
    const conn = new PeerConnection({
      clientName: DEFAULT_CLIENT_NAME,
      listenPort: this.listenEndpoint?.port,
      clock: this.clock,
      ...this.opts.connection,
      ...(this.opts.advertisedPort && {
        listenPort: this.opts.advertisedPort() ?? this.opts.connection?.listenPort ?? this.listenEndpoint?.port,
      }),
      stream,
      transport: info.transport,
      direction: info.direction,
      remote: info.remote,
      local: info.local,
      peerId: this.peerId,
      infoHash: this.infoHash,
    })
    this.conns.add(conn)
    this.turnover.track(conn)
    this.wire(conn)
    return conn
  }

  /** Dials `to` and resolves once the handshake is done (rejects with a `WireError` otherwise). */
  async connect(to: Endpoint, options: { signal?: AbortSignal; timeout?: number } = {}): Promise<PeerConnection> {
    if (this.closed) throw new WireError('NOT_CONNECTED', 'swarm is closed')
    if (this.ipFull(to.host) || (this.full() && !this.turnover.victim(this.conns))) {
      throw new WireError('CONNECTION_LIMIT', 'connection limit reached')
    }
    const signal = options.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal
    const dialed = await this.dialer.dial(to, { ...options, signal })
    const conn = this.addStream(dialed.stream, { ...dialed, direction: 'outgoing' })
    if (!conn) throw new WireError('CONNECTION_LIMIT', 'connection limit reached')
    return new Promise((resolve, reject) => {
      // The caller's signal (or our close) still counts while the handshake is awaited.
      const onAbort = () => conn.close(new WireError('LOCAL_CLOSE', 'connect aborted'))
      const onClose = (reason: WireError) => {
        signal.removeEventListener('abort', onAbort)
        reject(reason)
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
      conn.once('close', onClose)
      conn.once('handshake', () => {
        conn.off('close', onClose)
        signal.removeEventListener('abort', onAbort)
        // Let the dedupe/self checks in `wire` run first: they may close it.
        if (conn.isClosed) reject(conn.closeReason)
        else resolve(conn)
      })
    })
  }

  private full(): boolean {
    return this.conns.size >= (this.opts.maxConnections ?? 50)
  }

  /** True when a slot is free, or was freed by replacing a connection that never became useful. */
  private makeRoom(): boolean {
    if (!this.full()) return true
    const victim = this.turnover.victim(this.conns)
    if (!victim) return false
    this.stats.turnedOver++
    // Its 'close' handler removes it from `conns` at once.
    victim.close(new WireError('TURNOVER', 'replaced by a new peer: every slot was taken and this one was idle'))
    return !this.full()
  }

  /** Whether one more connection with `host` would pass the per-IP limit (public addresses only). */
  private ipFull(host: string): boolean {
    if (isLocalNetwork(host)) return false
    let n = 0
    for (const c of this.conns) if (c.remote.host === host) n++
    return n >= (this.opts.maxConnectionsPerIp ?? 3)
  }

  /** The endpoint to name a peer by (its listen endpoint), from a peer id seen in a handshake. */
  resolvePeerId(peerId: Uint8Array): Endpoint | undefined {
    for (const c of this.conns) if (c.remotePeerId && bytesEqual(c.remotePeerId, peerId)) return c.listenEndpoint
    return this.known.endpointOf(peerId)
  }

  /** The peer id at an endpoint (connection or listen endpoint), when a handshake told us. */
  peerIdAt(ep: Endpoint): Uint8Array | undefined {
    for (const c of this.conns) {
      if (c.remotePeerId && (sameEndpoint(c.remote, ep) || sameEndpoint(c.listenEndpoint, ep))) return c.remotePeerId
    }
    return this.known.peerIdAt(ep)
  }

  /** Peers learnt from PEX and handshakes, newest last. */
  knownPeers(): PexPeer[] {
    return this.known.list()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // Dials in flight stop now, rather than open connections after close() returned.
    this.closing.abort(new WireError('LOCAL_CLOSE', 'swarm closed'))
    for (const c of this.conns) c.close()
    const server = this.server
    this.server = undefined
    await server?.close()
  }

  /**
   * Endpoints that are us: the listen endpoint, and our listen port (ours, or the one a SwarmNode gave us) on every
   * address peers reach us at.
   */
  selfEndpoints(): Endpoint[] {
    const me = this.listenEndpoint
    const port = me?.port ?? this.opts.connection?.listenPort
    if (port === undefined) return []
    const out = me ? [me] : []
    for (const c of this.conns) {
      if (c.local) out.push({ host: c.local.host, port })
      if (c.remoteExtended?.yourip) out.push({ host: c.remoteExtended.yourip, port })
    }
    return out
  }

  private isSelf(ep: Endpoint): boolean {
    if (this.opts.isSelf) return this.opts.isSelf(ep)
    return this.selfEndpoints().some((me) => sameEndpoint(me, ep))
  }

  private wire(conn: PeerConnection): void {
    conn.pex.source = () => pexSource(this.conns, conn)
    conn.utMetadata.source = () => this.info
    conn.holepunch.resolvePeerId = (id) => this.resolvePeerId(id)
    conn.holepunch.resolveEndpoint = (ep) => this.peerIdAt(ep)
    // Report a rendezvous before the relay acts on it, so `hp_rendezvous` precedes `hp_relayed`/`hp_refused`.
    conn.holepunch.on('hp_rendezvous', (target, id) => this.emit('hp_rendezvous', conn, target, id))
    conn.holepunch.on('hp_connect', (ip, port) => this.emit('hp_connect', conn, ip, port))
    conn.holepunch.on('hp_error', (code, ep) => this.emit('hp_error', conn, code, ep))
    this.relay.attach(conn)
    let announced = false
    conn.once('handshake', (h) => {
      if (bytesEqual(h.peerId, this.peerId)) {
        conn.close(new WireError('SELF_CONNECTION', 'connected to ourselves'))
        return
      }
      const dup = duplicateToClose(this.conns, conn, this.peerId, h.peerId)
      if (dup) {
        dup.conn.close(dup.reason)
        if (dup.conn === conn) return
      }
      announced = true
      if (conn.direction === 'outgoing') this.known.remember(conn.remote, h.peerId, 0)
      this.emit('connected', conn)
    })
    conn.on('extended_handshake', (x) => {
      if (x.p !== undefined && conn.remotePeerId) this.known.remember(conn.listenEndpoint, conn.remotePeerId, 0)
    })
    conn.once('close', (reason) => {
      this.conns.delete(conn)
      this.stats.closed[reason.code] = (this.stats.closed[reason.code] ?? 0) + 1
      if (announced) this.emit('disconnected', conn, reason)
      else this.emit('rejected', conn, reason)
    })
    conn.pex.on('peers', (added, dropped) => {
      this.emit('pex', conn, added, dropped)
      for (const p of added) {
        if (this.isSelf(p)) continue
        if (this.known.remember({ host: p.host, port: p.port }, undefined, p.flags)) this.emit('peer', p, conn)
        if (this.opts.autoDial) this.autoDialer.dial(p)
      }
    })
  }
}
