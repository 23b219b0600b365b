// A complete BitTorrent node for one or more torrents on ONE port: a UDP socket shared by uTP and the DHT
// (net/mux), a TCP listener on the same number (node-bind.ts), and one `Swarm` per info hash. Incoming streams (uTP
// or TCP) are routed by the info hash of their handshake (incoming.ts); outgoing dials try uTP first, then TCP.
// Peers come from the DHT (`discover`), PEX and given addresses; when a direct dial to a holepunch-capable peer
// fails, the torrent's `Initiator` asks an introducer for a rendezvous and punches (see punch.ts).
import { EventEmitter } from 'node:events'
import { toHex } from '../codec/bytes.js'
import { type Metainfo, parseMetainfo } from '../codec/metainfo.js'
import { PexFlags } from '../codec/pex.js'
import { DHT } from '../dht/dht.js'
import { cryptoRandom, realClock } from '../net/clock.js'
import { UdpMux } from '../net/mux.js'
import { realTcp } from '../net/tcp.js'
import type { Clock, Endpoint, Random, StreamListener, StreamNetwork } from '../net/types.js'
import { UdpSocket } from '../net/udp.js'
import { UtpSocketManager } from '../utp/socket-manager.js'
import { WireError } from '../wire/errors.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { HandshakeAdmission } from './admission.js'
import { BirthdayBudget } from './birthday.js'
import { ConnectLimiter } from './connect-limiter.js'
import { DhtPortExchange } from './dht-port.js'
import { IncomingRouter } from './incoming.js'
import { type HolepunchSuccess, Initiator } from './initiator.js'
import { MetadataError, type MetadataOptions, type MetadataResult, swarmInfoHash } from './metadata.js'
import { adoptMetainfo, fetchMetadata, metainfoOf, stopFetches } from './metadata-node.js'
import { bindNodeUdp } from './node-bind.js'
import { NodeDialer } from './node-dialer.js'
import type { SwarmNodeEvents, SwarmNodeOptions } from './node-options.js'
import { NodePortMap, type PortMappingState } from './node-portmap.js'
import { isLocalAddress, type Reachability, ReachabilityTracker } from './reachability.js'
import { endpointKey, sameEndpoint } from './relay.js'
import { Swarm } from './swarm.js'

export type { SwarmNodeEvents, SwarmNodeOptions } from './node-options.js'

interface Torrent {
  swarm: Swarm
  initiator: Initiator
  dialer: NodeDialer
  /** Endpoints whose direct dial failed (a later PEX 0x08 flag may make them punchable). */
  failed: Set<string>
}

const key = endpointKey

export class SwarmNode extends EventEmitter<SwarmNodeEvents> {
  readonly peerId: Uint8Array
  readonly clock: Clock
  readonly random: Random
  readonly stats = { incomingRefused: 0, incomingUnknownTorrent: 0, incomingBadHandshake: 0 }
  /** Incoming streams waiting for their handshake: budgets per transport, per-prefix eviction, timeouts. */
  readonly admission: HandshakeAdmission
  dht: DHT | undefined
  /** BEP 5's PORT messages with peers (present while the node runs a DHT). */
  dhtPort: DhtPortExchange | undefined
  utp!: UtpSocketManager
  mux!: UdpMux
  private limiter: ConnectLimiter<PeerConnection>
  private readonly birthdayBudget: BirthdayBudget
  private tracker: ReachabilityTracker | undefined
  private readonly torrents = new Map<string, Torrent>()
  private server: StreamListener | undefined
  private endpoint: Endpoint | undefined
  /** Incoming streams: admitted, handshake peeked, handed to a punch or a swarm (incoming.ts). */
  private readonly incoming: IncomingRouter
  private closed = false
  private portmap: NodePortMap | undefined

  constructor(private readonly opts: SwarmNodeOptions = {}) {
    super()
    this.clock = opts.clock ?? realClock
    this.random = opts.random ?? cryptoRandom
    this.peerId = opts.peerId ?? new Uint8Array([...new TextEncoder().encode('-ML0100-'), ...this.random.bytes(12)])
    this.limiter = new ConnectLimiter(this.clock, opts.connectLimits)
    this.birthdayBudget = new BirthdayBudget(this.clock, opts.birthday ? opts.birthday.attemptsPerMinute : undefined)
    this.admission = new HandshakeAdmission(this.clock, {
      ...opts.admission,
      maxPending: opts.maxPendingIncoming,
      maxPendingPerIp: opts.maxPendingIncomingPerIp,
      timeout: opts.incomingHandshakeTimeout,
    })
    this.incoming = new IncomingRouter({
      clock: this.clock,
      peerId: this.peerId,
      admission: this.admission,
      stats: this.stats,
      get handshakeTimeout() {
        return opts.incomingHandshakeTimeout ?? 10_000
      },
      closed: () => this.closed,
      torrent: (hex) => this.torrents.get(hex),
      utpAddress: () => this.utp.socket.address(),
    })
  }

  /** Where we listen (UDP and TCP), once `listen()` resolved. */
  get address(): Endpoint | undefined {
    return this.endpoint
  }

  /** The router mappings (undefined when port mapping is off or not started). */
  get portMapping(): PortMappingState | undefined {
    return this.portmap?.state
  }

  /**
   * What we know of our NAT: the mapping kind ('unknown' until enough DHT nodes at different addresses reported
   * how they see us; reachability.ts), the external endpoints seen, and how it was learnt.
   */
  get reachability(): Reachability {
    const r = this.tracker?.current ?? { kind: 'unknown', external: [], learnt: 'none', reporters: 0 }
    const m = this.portmap?.state
    return { ...r, portMapping: m === undefined ? undefined : m.udp !== undefined || m.tcp !== undefined }
  }

  /** `reporter` sees our UDP port at `seen` (the DHT's BEP 42 reports come here; so may other sources). */
  reportExternal(seen: Endpoint, reporter: Endpoint): void {
    this.tracker?.report(seen, reporter)
  }

  get tcpEnabled(): boolean {
    return this.opts.tcp ?? (this.opts.socket === undefined || this.opts.streams !== undefined)
  }

  private get streams(): StreamNetwork {
    return this.opts.streams ?? realTcp
  }

  /** Binds the port (UDP, then TCP on the same number), starts uTP and the DHT. */
  async listen(): Promise<Endpoint> {
    const closedError = () => new WireError('LOCAL_CLOSE', 'the node was closed while it started')
    if (this.closed) throw closedError()
    const socket =
      this.opts.socket ??
      (await bindNodeUdp(this.opts.host ?? '0.0.0.0', this.opts.port ?? 0, this.tcpEnabled ? this.streams : undefined))
    this.mux = new UdpMux(socket)
    this.utp = new UtpSocketManager(this.mux.utp, {
      // The initiator speaks first (the BitTorrent handshake), so SYN cookies are safe here.
      synCookies: true,
      clock: this.clock,
      random: this.random,
      ...this.opts.utp,
    })
    this.utp.on('connection', (s) => this.incoming.route(s, 'utp'))
    this.endpoint = socket.address()
    const local = this.endpoint
    this.tracker = new ReachabilityTracker(local.port, { isLocalAddress: (h) => isLocalAddress(h, local) })
    this.tracker.on('change', (r) => this.emit('reachability', r))
    try {
      // close() may run while we wait: whatever exists by then is stopped again here.
      if (this.closed) throw closedError()
      if (this.tcpEnabled) await this.listenTcp(this.endpoint)
      if (this.closed) throw closedError()
      if (this.opts.dht !== false) {
        this.dht = new DHT({ ...this.opts.dht, socket: this.mux.dht, clock: this.clock, random: this.random })
        this.dht.on('warning', (e) => this.emit('warning', e))
        this.dht.on('external_report', (seen, from) => this.reportExternal(seen, from))
        await this.dht.listen()
        const dht = this.dht
        this.dhtPort = new DhtPortExchange({ dht, port: () => this.endpoint?.port })
      }
      if (this.closed) throw closedError()
    } catch (err) {
      this.closed = true
      await this.teardown()
      throw err
    }
    for (const t of this.torrents.values()) t.swarm.emit('listening', this.endpoint)
    this.emit('listening', this.endpoint)
    this.portmap = NodePortMap.start(this.opts, this.endpoint, this.tcpEnabled, this)
    return this.endpoint
  }

  /**
   * Joins a torrent (idempotent) and returns its swarm. Given a 20-byte infohash the node knows no metadata;
   * given a metainfo (parsed, or the bytes of a .torrent) it also serves the info dictionary over ut_metadata
   * (BEP 9). A v1 or hybrid torrent's swarm runs under its v1 infohash, a v2 one under its truncated v2 infohash.
   */
  add(torrent: Uint8Array | Metainfo, options: Partial<SwarmNode['opts']['swarm']> = {}): Swarm {
    if (torrent instanceof Uint8Array && torrent.length === 20) return this.join(torrent, options)
    const m = torrent instanceof Uint8Array ? parseMetainfo(torrent) : torrent
    const swarm = this.join(swarmInfoHash(m.info), options)
    adoptMetainfo(swarm, m)
    return swarm
  }

  /** The metainfo of a torrent, once given (`add`) or fetched (`metadata`). */
  metainfo(infoHash: Uint8Array): Metainfo | undefined {
    return metainfoOf(this.get(infoHash))
  }

  /**
   * Fetches a torrent's info dictionary from its swarm (BEP 9): peers from the DHT, `opts.peers`, a magnet link's
   * `x.pe` and PEX, over uTP, TCP or a hole punch. Resolves once the metadata verified against the infohash; the
   * node then serves it. See docs/magnet.md and the `metadata:*` events. Rejects with `MetadataError`.
   */
  metadata(target: Uint8Array | string, opts: MetadataOptions = {}): Promise<MetadataResult> {
    if (this.closed || !this.utp) return Promise.reject(new MetadataError('CLOSED', 'the node is not listening'))
    return fetchMetadata(this, target, opts)
  }

  /** Leaves a torrent: its connections close, its punches end. */
  async remove(infoHash: Uint8Array): Promise<void> {
    const t = this.torrents.get(toHex(infoHash))
    if (!t) return
    this.torrents.delete(toHex(infoHash))
    t.initiator.close()
    await t.swarm.close()
  }

  private join(infoHash: Uint8Array, options: Partial<SwarmNode['opts']['swarm']> = {}): Swarm {
    const k = toHex(infoHash)
    const have = this.torrents.get(k)
    if (have) return have.swarm
    if (!this.utp) throw new Error('call listen() first')
    const dialer = new NodeDialer(this.utp, this.clock, {
      ...this.opts.dial,
      tcpTimeout: this.tcpEnabled ? this.opts.dial?.tcpTimeout : 0,
      network: this.streams,
    })
    const base = { ...this.opts.swarm, ...options }
    // The DHT bit says "send me your DHT port" (BEP 5): set only when we run one.
    const reserved = base.connection?.reserved ?? { extension: true, dht: this.dht !== undefined }
    const swarm = new Swarm({
      autoDial: true,
      ...base,
      infoHash,
      peerId: this.peerId,
      dialer,
      clock: this.clock,
      random: this.random,
      connection: { listenPort: this.endpoint?.port, ...base.connection, reserved },
      // Once the router forwards a port, peers learn that one from our extended handshakes, not the local one.
      advertisedPort: () => this.portmap?.state.external?.port,
      isSelf: (ep) => this.isSelf(ep),
    })
    // Before the initiator's own listener: a connection that ends a rendezvous (the target dialed us first) is
    // reported `connected` before `hp_connected` names it, as a punched one is.
    swarm.on('connected', (c) => {
      if (reserved.dht) this.dhtPort?.attach(c)
      this.emit('connected', c, infoHash)
    })
    const initiator = new Initiator(
      {
        swarm,
        utp: this.utp,
        clock: this.clock,
        limiter: this.limiter,
        isSelf: (ep) => this.isSelf(ep),
        isArriving: (ep) => this.incoming.isArriving(ep),
        natKind: () => this.reachability.kind,
        birthday: this.birthdayDeps(),
      },
      this.opts.holepunch,
    )
    const t: Torrent = { swarm, initiator, dialer, failed: new Set() }
    dialer.onFailed = (ep) => {
      t.failed.add(key(ep))
      if (t.failed.size > 1000) t.failed.delete(t.failed.values().next().value as string)
      this.emit('dial_failed', { host: ep.host, port: ep.port }, infoHash)
      initiator.onDialFailed(ep)
    }
    swarm.on('disconnected', (c, r) => this.emit('disconnected', c, r, infoHash))
    swarm.on('peer', (p) => {
      this.emit('peer', { host: p.host, port: p.port }, infoHash, 'pex')
      // A peer we failed to reach directly, now flagged holepunch-capable by someone: punch.
      if (p.flags & PexFlags.holepunch && t.failed.has(key(p))) initiator.onDialFailed(p)
    })
    initiator.on('hp_rendezvous_sent', (r, ep) => this.emit('hp_rendezvous_sent', r, ep, infoHash))
    initiator.on('hp_punching', (r, ep) => this.emit('hp_punching', r, ep, infoHash))
    initiator.on('hp_ignored', (r, ep, why) => this.emit('hp_ignored', r, ep, why, infoHash))
    initiator.on('hp_connected', (res) => this.emit('hp_connected', res, infoHash))
    initiator.on('hp_failed', (ep, why) => this.emit('hp_failed', ep, why, infoHash))
    initiator.on('hp_birthday', (ep, role, st, ok) => this.emit('hp_birthday', ep, role, st, ok, infoHash))
    this.torrents.set(k, t)
    return swarm
  }

  get(infoHash: Uint8Array): Swarm | undefined {
    return this.torrents.get(toHex(infoHash))?.swarm
  }

  /** The torrent's holepunch initiator (rendezvous by hand, punches in flight). */
  initiator(infoHash: Uint8Array): Initiator | undefined {
    return this.torrents.get(toHex(infoHash))?.initiator
  }

  /**
   * Connects to `peer` for a torrent: uTP, then TCP; when both fail and the peer supports holepunch, through a
   * rendezvous. Resolves with the open connection.
   */
  async connect(infoHash: Uint8Array, peer: Endpoint): Promise<PeerConnection> {
    const t = this.torrent(infoHash)
    try {
      return await t.swarm.connect(peer)
    } catch (err) {
      // Only an unreachable peer calls for a rendezvous (not a duplicate, a limit or a refused handshake).
      const unreachable = err instanceof WireError && err.code === 'DIAL_FAILED'
      if (!unreachable || !t.initiator.supportsHolepunch(peer) || !t.initiator.findIntroducer(peer)) throw err
      return (await t.initiator.rendezvous(peer)).conn
    }
  }

  /** Asks `relay` (default: the best introducer) for a rendezvous with `target` and punches. */
  holepunch(
    infoHash: Uint8Array,
    target: Endpoint,
    options: { relay?: PeerConnection } = {},
  ): Promise<HolepunchSuccess> {
    return this.torrent(infoHash).initiator.rendezvous(target, options)
  }

  /** Announces the torrent on the DHT with our port: the router's external port when it mapped ours. */
  async announce(infoHash: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<number> {
    if (!this.dht) throw new Error('no DHT')
    const local = this.endpoint?.port
    const port = this.portmap && local !== undefined ? await this.portmap.announcePort(local) : local
    const r = await this.dht.announce(infoHash, { port, signal: options.signal })
    return r.nodes
  }

  /**
   * Looks the torrent up on the DHT and dials each new peer (the dialer's failures lead to holepunch when PEX
   * later flags the peer). Resolves with the peers found.
   */
  async discover(infoHash: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Endpoint[]> {
    if (!this.dht) throw new Error('no DHT')
    const t = this.torrent(infoHash)
    const found: Endpoint[] = []
    for await (const peer of this.dht.getPeers(infoHash, options)) {
      if (this.isSelf(peer)) continue
      found.push(peer)
      this.emit('peer', peer, infoHash, 'dht')
      if (!t.swarm.connectionTo(peer, true)) t.swarm.connect(peer).catch(() => {})
    }
    return found
  }

  /** True for an endpoint that is this node: our port at our local address or at an address peers see us at. */
  isSelf(ep: Endpoint): boolean {
    const me = this.endpoint
    const mapped = this.portmap?.state.external
    if (mapped && sameEndpoint(mapped, ep)) return true // our router's forward: the DHT lists it as a peer
    if (!me || ep.port !== me.port) return false
    if (sameEndpoint(me, ep)) return true
    for (const t of this.torrents.values()) {
      for (const c of t.swarm.connections) {
        if (c.local?.host === ep.host || c.remoteExtended?.yourip === ep.host) return true
      }
    }
    return false
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    stopFetches(this)
    await this.teardown()
  }

  /** Stops everything that runs (again after a `listen()` that `close()` overtook). */
  private async teardown(): Promise<void> {
    this.incoming.close()
    this.admission.close()
    await this.portmap?.close()
    for (const t of this.torrents.values()) {
      t.initiator.close()
      await t.swarm.close()
    }
    await this.dht?.destroy()
    await this.utp?.close()
    const server = this.server
    this.server = undefined
    await server?.close()
    await this.mux?.close()
  }

  private birthdayDeps() {
    const o = this.opts.birthday
    if (o === false) return undefined
    const host = this.opts.host ?? '0.0.0.0'
    const bindSocket = o?.bindSocket ?? (this.opts.socket ? undefined : () => UdpSocket.bind({ host, port: 0 }))
    return { budget: this.birthdayBudget, random: this.random, bindSocket, options: o }
  }

  private torrent(infoHash: Uint8Array): Torrent {
    const t = this.torrents.get(toHex(infoHash))
    if (!t) throw new Error(`not in torrent ${toHex(infoHash)}: call add() first`)
    return t
  }

  private async listenTcp(at: Endpoint): Promise<void> {
    this.server = await this.streams.listen(
      {
        host: this.opts.host ?? '0.0.0.0',
        port: at.port,
        // An accept error (ENFILE, ENOBUFS…) must not end the process: report it and go on listening.
        onError: (err) => this.emit('warning', err),
      },
      (socket) => {
        socket.setNoDelay(true)
        this.incoming.route(socket, 'tcp')
      },
    )
  }
}
