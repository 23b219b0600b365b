// The public DHT: a thin facade that wires the node's parts and owns them privately. The RPC layer (sockets, the
// receive path, transactions: rpc-layer.ts) feeds the routing tables (routing.ts) and hands queries to the query
// server (query-server.ts, built-in methods in handlers.ts); the lookup service (lookup-service.ts) runs lookups
// with any query function, and lookups.ts builds find_node / get_peers / announce on it; maintenance.ts keeps the
// tables fresh; storage-wiring.ts adds BEP 44 / 51 / 33 storage. The options are resolved in wiring.ts, stats()
// is assembled in stats.ts. The edges — binding UDP, resolving bootstrap names, the state file — are injected,
// the real ones by default. See docs/dht.md and docs/architecture.md.

import type { BEncodable } from '../codec/bencode.js'
import { normalizeIP } from '../codec/ip.js'
import { buildPingQuery } from '../codec/krpc-build.js'
import { bindUdp, type DatagramBinder } from '../net/bind.js'
import { dnsResolver } from '../net/resolve.js'
import type { DatagramSocket, Endpoint, Timer } from '../net/types.js'
import type { LocalKeypair } from './bep44-crypto.js'
import { bindSockets } from './bind-sockets.js'
import { resolveBootstrap } from './bootstrap.js'
import { newCounters } from './counters.js'
import type { CrawlOptions, SampleResult } from './crawl.js'
import { DHTError } from './errors.js'
import { TypedEventEmitter } from './events.js'
import { BUILTIN_METHODS, BuiltinMethods, ServeTools } from './handlers.js'
import { LookupService, type SeedList } from './lookup-service.js'
import { type AnnounceResult, type LookupResult, PeerLookups } from './lookups.js'
import { Maintenance } from './maintenance.js'
import type { DHTEvents, DHTNode, DHTOptions, DHTStats } from './options.js'
import { PeerStore } from './peer-store.js'
import { type QueryHandler, QueryServer } from './query-server.js'
import { RateLimiter } from './rate-limit.js'
import { Routing } from './routing.js'
import { type QueryResponse, RpcLayer } from './rpc-layer.js'
import type { StateStorage } from './state.js'
import { FileStateStorage } from './state-file.js'
import { dhtStats } from './stats.js'
import type { PutOptions, StorageApi } from './storage-api.js'
import type {
  GetMutableOptions,
  ImmutableGetResult,
  MutableGetResult,
  MutableItemResult,
  PutMutableOptions,
  PutResult,
} from './storage-client.js'
import type { StorageService } from './storage-service.js'
import { wireStorage } from './storage-wiring.js'
import { copyBytes } from './table-node.js'
import { TokenManager } from './tokens.js'
import { NodeWiring, resolveSettings } from './wiring.js'

export type { AnnounceResult, LookupResult }

const TICK_MS = 5_000
const SAVE_MS = 10 * 60_000

export class DHT extends TypedEventEmitter<DHTEvents> {
  private readonly opts: DHTOptions
  /** The parts and how they reach each other (wiring.ts). */
  private readonly w: NodeWiring
  /** Where the state is kept between runs (the `state` option), if anywhere. */
  private readonly storage: StateStorage | undefined
  private readonly bind: DatagramBinder
  private timers: Timer[] = []
  /** Sockets listen() opened (closed by destroy()). */
  private owned: DatagramSocket[] = []
  private listening: Promise<Endpoint> | undefined
  private bootstrapPromise: Promise<void> | undefined
  /** BEP 44 / 51 / 33: item store, sampler, republisher (storage-service.ts) and the client API (storage-api.ts). */
  private readonly storagePart: StorageService
  private readonly storageApi: StorageApi

  private get rpc(): RpcLayer {
    return this.w.rpc
  }
  private get routing(): Routing {
    return this.w.routing
  }
  private get lookups(): PeerLookups {
    return this.w.lookups
  }
  private get seeds(): SeedList {
    return this.w.seeds
  }

  constructor(opts: DHTOptions = {}) {
    super()
    this.opts = opts
    this.bind = opts.bind ?? bindUdp
    this.storage = typeof opts.state === 'string' ? new FileStateStorage(opts.state) : opts.state
    const w = new NodeWiring(this, resolveSettings(opts), newCounters())
    this.w = w
    // Whole milliseconds: small integers are stored inline, fractional ones as a boxed number per field.
    const clock = w.clock
    const now = () => Math.floor(clock.now())
    w.routing = new Routing(w)
    w.tokens = new TokenManager(w.random, now)
    w.store = new PeerStore({ now, random: w.random, ...opts.peerStore })
    const rl = opts.rateLimit
    w.limiter = new RateLimiter({
      now,
      perSecond: rl?.perIpPerSecond,
      burst: rl?.burst,
      banMs: rl ? rl.banSeconds * 1000 : undefined,
    })
    w.context = new ServeTools(w)
    w.server = new QueryServer(w)
    const builtins = new BuiltinMethods(w)
    for (const m of BUILTIN_METHODS) w.server.registerPacket(m, builtins)
    w.rpc = new RpcLayer(w)
    if (opts.socket) w.rpc.attach(opts.socket, opts.socket6)
    else if (opts.socket6) w.rpc.attach(opts.socket6)
    w.service = new LookupService(w)
    w.lookups = new PeerLookups(w)
    w.maintenance = new Maintenance(w)
    const storage = wireStorage(w, opts.storage, () => this.nodes())
    this.storagePart = storage.service
    this.storageApi = storage.api
  }

  /** Our node id (from the options, the state file, or random; BEP 42 may replace a random one). */
  get id(): Uint8Array {
    return this.routing.id
  }

  /** Binds (unless a socket was given), loads the state file, and starts bootstrapping in the background. */
  listen(): Promise<Endpoint> {
    this.listening ??= this.doListen()
    return this.listening
  }

  private async doListen(): Promise<Endpoint> {
    if (this.w.dead) throw new DHTError('DESTROYED', 'the DHT node was destroyed')
    if (this.storage) {
      // A storage that can never work (a device, a FIFO, an unwritable directory) fails listen(); a bad saved
      // state is reported and ignored.
      await this.storage.check?.()
      try {
        const st = await this.storage.load()
        if (st) {
          this.routing.adoptId(st.id)
          this.seeds.saved = st.nodes
        }
      } catch (err) {
        this.emit('warning', err as Error)
      }
    }
    if (!this.rpc.attached) await this.bindSockets()
    if (this.w.dead) {
      await this.closeOwned()
      throw new DHTError('DESTROYED', 'the DHT node was destroyed')
    }
    this.rpc.start()
    this.timers.push(this.w.clock.setInterval(() => this.w.maintenance.tick(), TICK_MS))
    if (this.storage) {
      const save = () => void this.save().catch((e) => this.emit('warning', e))
      this.timers.push(this.w.clock.setInterval(save, SAVE_MS))
    }
    this.seeds.ready = this.resolveBootstrap().then(
      (nodes) => {
        this.seeds.bootstrap = nodes
      },
      (err: Error) => {
        this.emit('warning', err)
      },
    )
    this.bootstrapPromise = this.w.maintenance.bootstrap()
    return this.address()
  }

  private async bindSockets(): Promise<void> {
    try {
      const { socket, socket6 } = await bindSockets(this.bind, this.opts, (s) => this.owned.push(s))
      this.rpc.attach(socket, socket6)
    } catch (err) {
      // An explicit port we could not take on both families: nothing stays bound.
      if (this.opts.port) await this.closeOwned()
      throw err
    }
  }

  private async closeOwned(): Promise<void> {
    const owned = this.owned
    this.owned = []
    await Promise.allSettled(owned.map((s) => s.close()))
  }

  private async resolveBootstrap(): Promise<Endpoint[]> {
    const warn = (e: Error) => this.emit('warning', e)
    const resolve = this.opts.resolve ?? dnsResolver
    const list = this.opts.bootstrap ?? []
    const lists = await Promise.all(this.rpc.families.map((f) => resolveBootstrap(list, f, warn, resolve)))
    return lists.flat()
  }

  /** The main socket's address (the IPv4 one when dual stack). */
  address(): Endpoint {
    const s = this.rpc.sockets()
    if (s.length === 0) throw new DHTError('NOT_LISTENING', 'call listen() first')
    return s[0].address()
  }

  /** Every socket's address: one, or IPv4 then IPv6 when dual stack. */
  addresses(): Endpoint[] {
    const s = this.rpc.sockets()
    if (s.length === 0) throw new DHTError('NOT_LISTENING', 'call listen() first')
    return s.map((x) => x.address())
  }

  /** Resolves when the first bootstrap lookup has finished (with or without nodes). */
  async bootstrapped(): Promise<void> {
    await this.listen()
    await this.bootstrapPromise
  }

  /** The K nodes closest to `target` that answered, closest first. */
  findNode(target: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<DHTNode[]> {
    return this.lookups.findNode(target, opts)
  }

  /** Peers for `infoHash` as they are found (de-duplicated); ends when the lookup (of every family) ends. */
  getPeers(infoHash: Uint8Array, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Endpoint> {
    return this.lookups.getPeers(infoHash, opts)
  }

  /** A whole get_peers lookup: the peers, the closest nodes (with tokens) and what it cost. */
  lookup(infoHash: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<LookupResult> {
    return this.lookups.lookup(infoHash, opts)
  }

  /**
   * Announces that we have `infoHash` on `port` (or, with `impliedPort`, on the port this socket sends from): a
   * get_peers lookup, then announce_peer to the K closest nodes that gave a token (per family when dual stack).
   */
  announce(
    infoHash: Uint8Array,
    opts: { port?: number; impliedPort?: boolean; seed?: boolean; signal?: AbortSignal } = {},
  ): Promise<AnnounceResult> {
    return this.lookups.announce(infoHash, opts)
  }

  // ---- BEP 44 storage, BEP 51 sampling, BEP 33 scrape (storage-api.ts; docs/dht-storage.md) ----------------

  /** Stores an immutable item (1-1000 bytes bencoded) on the K closest to its SHA-1; republished until unpublish. */
  putImmutable(value: BEncodable, opts?: PutOptions): Promise<PutResult> {
    return this.storageApi.putImmutable(value, opts)
  }

  /** The immutable item under `target` (values that do not hash to it are discarded and counted). */
  getImmutable(target: Uint8Array, opts?: { signal?: AbortSignal }): Promise<ImmutableGetResult> {
    return this.storageApi.getImmutable(target, opts)
  }

  /** Signs and stores a mutable item; `seq` defaults to the newest found + 1 (a newer one: StorageConflictError). */
  putMutable(opts: PutMutableOptions & { republish?: boolean }): Promise<PutResult> {
    return this.storageApi.putMutable(opts)
  }

  /** The newest validly signed item under `publicKey` (and salt) among the K closest nodes. */
  getMutable(publicKey: Uint8Array, opts?: GetMutableOptions): Promise<MutableGetResult> {
    return this.storageApi.getMutable(publicKey, opts)
  }

  /** Verified mutable items as they arrive, each newer than the one before. */
  getMutableItems(publicKey: Uint8Array, opts?: GetMutableOptions): AsyncGenerator<MutableItemResult> {
    return this.storageApi.getMutableItems(publicKey, opts)
  }

  /** Stops republishing an item this node put; true if it was being republished. */
  unpublish(target: Uint8Array): boolean {
    return this.storageApi.unpublish(target)
  }

  /** An Ed25519 keypair for mutable items, from a 32-byte seed or from this node's random source. */
  generateKeypair(seed?: Uint8Array): LocalKeypair {
    return this.storageApi.generateKeypair(seed)
  }

  /** BEP 51: a sample of the info hashes `node` stores, and its `interval`. */
  sampleInfohashes(node: Endpoint, opts?: { signal?: AbortSignal }): Promise<SampleResult> {
    return this.storageApi.sampleInfohashes(canonical(node), opts)
  }

  /** BEP 51: info hashes across the DHT as they are found, each once; no node is asked before its interval. */
  crawl(opts?: CrawlOptions): AsyncGenerator<Uint8Array> {
    return this.storageApi.crawl(opts)
  }

  /** BEP 33: estimated seeds and downloaders of `infoHash` from the K closest nodes' bloom filters. */
  scrape(
    infoHash: Uint8Array,
    opts?: { signal?: AbortSignal },
  ): Promise<{ seeds: number; peers: number; nodes: number }> {
    return this.storageApi.scrape(infoHash, opts)
  }

  /** Pings a node: its id and the round-trip time. A reply also tables it. */
  async ping(node: Endpoint, opts: { signal?: AbortSignal } = {}): Promise<{ id: Uint8Array; rttMs: number }> {
    const build = (t: Uint8Array) => buildPingQuery(t, this.routing.id, this.w.queryOptions)
    const { msg, rttMs } = await this.rpc.query(canonical(node), 'ping', build, { signal: opts.signal })
    return { id: copyBytes(msg.r.id), rttMs }
  }

  /**
   * Sends one query of any method to `node` and resolves with the reply: `args` is the `a` dict without `id` (the
   * node adds `id`, and `v` / BEP 43 `ro` as configured). A KRPC error reply rejects with DHTError `KRPC_ERROR`
   * (its `krpcCode` the remote's code); no reply rejects with `TIMEOUT`; the signal with `ABORTED`. A reply also
   * tables the node, as any reply does.
   */
  query(
    node: Endpoint,
    method: string,
    args: Readonly<Record<string, unknown>>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<QueryResponse> {
    return this.rpc.request(canonical(node), method, args, { signal: opts.signal })
  }

  /**
   * Answers queries of `method` (one that this node does not answer itself) with `fn`; returns a function that
   * removes it. `fn` returns the reply's `r` without `id` (the node adds `id`, `t`, `v` and BEP 42 `ip`), a
   * `KrpcHandlerError` to answer with a KRPC error, or undefined to stay silent; a throw is answered 202.
   */
  handle(method: string, fn: QueryHandler): () => void {
    if ((BUILTIN_METHODS as readonly string[]).includes(method))
      throw new DHTError('BAD_ARGUMENT', `${method} is a built-in method`)
    this.w.server.register(method, fn)
    let on = true
    return () => {
      if (on) this.w.server.unregister(method)
      on = false
    }
  }

  /** Pings a node and tables it if it replies. */
  addNode(node: Endpoint): void {
    this.rpc.pingQuietly(canonical(node))
  }

  /** The nodes of our routing table(s): the main family's, then IPv6 when dual stack. */
  nodes(): DHTNode[] {
    return this.routing.nodes(this.rpc.families)
  }

  stats(): DHTStats {
    return dhtStats(this.w, this.storagePart.items)
  }

  /** Writes the node id and the routing table's good nodes to the file `path` (default: the `state` storage). */
  async save(path?: string): Promise<void> {
    const storage = path !== undefined ? new FileStateStorage(path) : this.storage
    if (!storage) throw new DHTError('BAD_ARGUMENT', 'no state path given')
    const nodes = this.routing.goodNodes()
    // Stopped before any saved node answered (a --timeout or Ctrl-C during start-up): keep what we had.
    await storage.save({ id: this.routing.id, nodes: nodes.length > 0 ? nodes : this.seeds.saved })
  }

  /** Stops timers and queries, saves state (if the `state` option is set), closes the socket it opened. */
  async destroy(): Promise<void> {
    if (this.w.dead) return
    if (this.storage && this.rpc.attached) {
      try {
        await this.save()
      } catch (err) {
        this.emit('warning', err as Error)
      }
    }
    this.w.dead = true
    this.storagePart.close()
    for (const t of this.timers) t.cancel()
    this.timers = []
    this.rpc.close()
    await this.closeOwned()
  }
}

/**
 * The endpoint with its address in canonical form, as replies report their source ("::FFFF:1.2.3.4" → "1.2.3.4",
 * uncompressed IPv6 compressed): otherwise the reply would not match the query. Not-an-IP is left for the query to
 * reject.
 */
function canonical(node: Endpoint): Endpoint {
  return { host: normalizeIP(node.host) ?? node.host, port: node.port }
}
