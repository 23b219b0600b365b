// The composition root of one node: the options object every part is built with (each part sees it through its
// own narrow options interface) and the way the parts call back into each other and into the node's events. It is
// one object with methods on its prototype, not a bag of arrow functions: a node would otherwise carry some thirty
// closures of its own (measured under tsx, whose kept function names give each closure a property store: +11 KiB
// per idle node, +35% of the DHT bench's heap per node).
import type { KrpcOptions } from '../codec/krpc-build.js'
import type { KrpcReply } from '../codec/krpc-types.js'
import { cryptoRandom, realClock } from '../net/clock.js'
import type { Clock, Endpoint, Random } from '../net/types.js'
import { countDrop, type DHTCounters } from './counters.js'
import { DHTError } from './errors.js'
import type { TypedEventEmitter } from './events.js'
import type { ServeContext } from './handlers.js'
import type { LookupService, LookupServiceOptions, SeedList, SeedTable } from './lookup-service.js'
import type { PeerLookups, PeerLookupsOptions } from './lookups.js'
import type { Maintenance, MaintenanceOptions } from './maintenance.js'
import type { DHTEvents, DHTNode, DHTOptions } from './options.js'
import type { PeerStore } from './peer-store.js'
import type { QueryServer, QueryServerOptions, ServerContext } from './query-server.js'
import type { RateLimiter } from './rate-limit.js'
import type { Routing, RoutingOptions } from './routing.js'
import type { RoutingTable } from './routing-table.js'
import type { QueryOutcome } from './rpc.js'
import type { RpcLayer, RpcLayerOptions } from './rpc-layer.js'
import type { TokenManager } from './tokens.js'

/** The settings the wiring carries (from DHTOptions, resolved). */
export interface WiringSettings {
  id: Uint8Array | undefined
  version: Uint8Array
  preferBep42ForStorage: boolean
  k: number
  alpha: number
  restrictIps: boolean
  restrictSearchIps: boolean | undefined
  clock: Clock
  random: Random
  readOnly: boolean
  queryOptions: KrpcOptions
  defaultFamily: 4 | 6
  maxPending: number | undefined
  slowMs: number | undefined
  timeoutMs: number | undefined
  retries: number | undefined
}

const DEFAULT_VERSION = new Uint8Array([0x4d, 0x4c, 0x00, 0x01]) // "ML" 0.1

/** The node's settings from its options, defaults filled in; bad options throw DHTError `BAD_ARGUMENT`. */
export function resolveSettings(opts: DHTOptions): WiringSettings {
  if (opts.version !== undefined && opts.version.length !== 4)
    throw new DHTError('BAD_ARGUMENT', 'version must be 4 bytes')
  if (opts.socket6 && opts.socket6.family !== 6) throw new DHTError('BAD_ARGUMENT', 'socket6 must be an IPv6 socket')
  if (opts.socket6 && opts.socket && opts.socket.family !== 4)
    throw new DHTError('BAD_ARGUMENT', 'with socket6, socket must be an IPv4 socket')
  const version = opts.version ?? DEFAULT_VERSION
  const readOnly = opts.readOnly ?? false
  return {
    id: opts.id,
    version,
    preferBep42ForStorage: opts.preferBep42ForStorage ?? false,
    k: opts.k ?? 8,
    alpha: opts.alpha ?? 4,
    restrictIps: opts.restrictIps ?? true,
    restrictSearchIps: opts.restrictSearchIps,
    clock: opts.clock ?? realClock,
    random: opts.random ?? cryptoRandom,
    readOnly,
    // Envelope options of our queries (`v`, BEP 43 `ro`).
    queryOptions: readOnly ? { ro: true, v: version } : { v: version },
    defaultFamily: opts.family === 6 ? 6 : 4,
    maxPending: opts.maxPending,
    slowMs: opts.slowQueryMs,
    timeoutMs: opts.queryTimeoutMs,
    retries: opts.queryRetries,
  }
}

export class NodeWiring
  implements
    RoutingOptions,
    RpcLayerOptions,
    LookupServiceOptions,
    PeerLookupsOptions,
    MaintenanceOptions,
    ServeContext,
    QueryServerOptions
{
  readonly fixedId: Uint8Array | undefined
  readonly version: Uint8Array
  readonly preferBep42ForStorage: boolean
  readonly k: number
  readonly alpha: number
  readonly restrictIps: boolean
  readonly restrictSearchIps: boolean | undefined
  readonly clock: Clock
  readonly random: Random
  readonly readOnly: boolean
  readonly queryOptions: KrpcOptions
  readonly defaultFamily: 4 | 6
  readonly maxPending: number | undefined
  readonly slowMs: number | undefined
  readonly timeoutMs: number | undefined
  readonly retries: number | undefined
  readonly counters: DHTCounters
  readonly seeds: SeedList = { saved: [], bootstrap: [], ready: Promise.resolve() }
  /** Set by destroy(). */
  dead = false
  // The parts, set by the facade as it builds them (each is built before anything can call back).
  rpc!: RpcLayer
  routing!: Routing
  server!: QueryServer
  /** What user and storage handlers get (handlers.ts ServeTools). */
  context!: ServerContext
  limiter!: RateLimiter
  store!: PeerStore
  tokens!: TokenManager
  service!: LookupService
  lookups!: PeerLookups
  maintenance!: Maintenance

  constructor(
    private readonly events: TypedEventEmitter<DHTEvents>,
    s: WiringSettings,
    counters: DHTCounters,
  ) {
    this.fixedId = s.id
    this.version = s.version
    this.preferBep42ForStorage = s.preferBep42ForStorage
    this.k = s.k
    this.alpha = s.alpha
    this.restrictIps = s.restrictIps
    this.restrictSearchIps = s.restrictSearchIps
    this.clock = s.clock
    this.random = s.random
    this.readOnly = s.readOnly
    this.queryOptions = s.queryOptions
    this.defaultFamily = s.defaultFamily
    this.maxPending = s.maxPending
    this.slowMs = s.slowMs
    this.timeoutMs = s.timeoutMs
    this.retries = s.retries
    this.counters = counters
  }

  // ---- families and our id ------------------------------------------------------------------------------------
  family(): 4 | 6 {
    return this.rpc.family
  }
  families(): ReadonlyArray<4 | 6> {
    return this.rpc.families
  }
  runs(family: 4 | 6): boolean {
    return this.rpc.socketFor(family) !== undefined
  }
  ownId(): Uint8Array {
    return this.routing.id
  }
  get id(): Uint8Array {
    return this.routing.id
  }
  get tables(): { readonly 4: RoutingTable; readonly 6: RoutingTable } {
    return this.routing.tables
  }
  table(family: 4 | 6): SeedTable {
    return this.routing.tables[family]
  }
  external(): string | undefined {
    return this.routing.voter.external
  }

  // ---- between the parts --------------------------------------------------------------------------------------
  ping(node: Endpoint & { id?: Uint8Array }): void {
    this.rpc.pingQuietly(node)
  }
  onQueried(from: Endpoint, id: Uint8Array): void {
    this.routing.onQueried(from, id)
  }
  onOutcome(to: Endpoint, outcome: QueryOutcome, nodeId: Uint8Array | undefined, msg?: KrpcReply): void {
    this.routing.onOutcome(to, outcome, nodeId, msg)
  }
  onIdChanged(): void {
    if (!this.dead && this.rpc.attached) this.maintenance.idChanged()
  }
  drop(reason: string, n?: number): void {
    countDrop(this.counters, reason, n)
  }
  /** Expires stored peers and forgets idle rate-limit buckets. */
  sweep(): void {
    this.store.sweep()
    this.limiter.sweep()
  }
  destroyed(): boolean {
    return this.dead
  }
  /** A lookup that ran into destroy() ends with DESTROYED, not with the partial result of failed queries. */
  checkAlive(): void {
    if (this.dead) throw new DHTError('DESTROYED', 'the DHT node was destroyed')
  }
  checkHash(h: Uint8Array, what: string): void {
    if (!(h instanceof Uint8Array) || h.length !== 20) throw new DHTError('BAD_ARGUMENT', `${what} must be 20 bytes`)
    if (!this.rpc.attached) throw new DHTError('NOT_LISTENING', 'call listen() first')
    this.checkAlive()
  }

  // ---- the node's events --------------------------------------------------------------------------------------
  onNode(node: DHTNode): void {
    this.events.emit('node', node)
  }
  onPeer(peer: Endpoint, infoHash: Uint8Array, from: Endpoint): void {
    this.events.emit('peer', peer, infoHash, from)
  }
  onAnnounce(peer: Endpoint, infoHash: Uint8Array): void {
    this.events.emit('announce', peer, infoHash)
  }
  onReady(): void {
    this.events.emit('ready')
  }
  onExternalReport(seen: Endpoint, reporter: Endpoint): void {
    this.events.emit('external_report', seen, reporter)
  }
  warn(err: Error): void {
    this.events.emit('warning', err)
  }
}
