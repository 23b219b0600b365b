// The DHT node: wires the routing tables, the transaction layer, the query handlers and the traversal engine to one
// DatagramSocket (or two: IPv4 + IPv6, BEP 32), a Clock and a Random. It opens UDP sockets only when none is given
// (listen()).
import { isBep42Exempt, isValidNodeIdForIp, nodeIdForIp } from '../codec/bep42.js'
import { toHex } from '../codec/bytes.js'
import { decodeNodes, decodePeer, decodePeerValues } from '../codec/compact.js'
import { isLocalNetwork, isUnicastAddress } from '../codec/ip.js'
import { buildPingQuery, type KrpcOptions } from '../codec/krpc-build.js'
import type { KrpcMessage, KrpcReply } from '../codec/krpc-types.js'
import { isNodeId, randomIdInBucket, randomNodeId } from '../codec/node-id.js'
import { cryptoRandom, realClock } from '../net/clock.js'
import type { Clock, DatagramSocket, Endpoint, Random, Timer } from '../net/types.js'
import { DHTError } from './errors.js'
import { TypedEventEmitter } from './events.js'
import type { ServeContext } from './handlers.js'
import { IpVoter } from './ip-voter.js'
import type { DHTEvents, DHTNode, DHTOptions, DHTStats } from './options.js'
import { PeerStore } from './peer-store.js'
import { RateLimiter } from './rate-limit.js'
import { RoutingTable } from './routing-table.js'
import { type QueryOutcome, Rpc } from './rpc.js'
import { copyBytes } from './table-node.js'
import { TokenManager } from './tokens.js'
import type { QueryReply } from './traversal.js'

export type { DHTEvents, DHTNode, DHTOptions, DHTStats } from './options.js'

const TICK_MS = 5_000
const SAVE_MS = 10 * 60_000
const DEFAULT_VERSION = new Uint8Array([0x4d, 0x4c, 0x00, 0x01]) // "ML" 0.1

/** Shared state of the node that the lookup and server parts reach. */
export class DHTCore extends TypedEventEmitter<DHTEvents> implements ServeContext {
  protected _id: Uint8Array
  protected readonly fixedId: boolean
  readonly clock: Clock
  readonly random: Random
  readonly k: number
  readonly alpha: number
  readonly readOnly: boolean
  readonly preferBep42ForStorage: boolean
  readonly tables: { 4: RoutingTable; 6: RoutingTable }
  readonly tokens: TokenManager
  readonly store: PeerStore
  readonly limiter: RateLimiter
  readonly voter: IpVoter
  readonly rpc: Rpc
  readonly version: Uint8Array
  /** Envelope options of our queries (`v`, BEP 43 `ro`). */
  readonly queryOptions: KrpcOptions
  /** The main socket (its family is `family`). */
  protected socket: DatagramSocket | undefined
  /** The IPv6 socket next to an IPv4 main socket (dual stack), if any. */
  protected socket6: DatagramSocket | undefined
  protected destroyed = false
  protected timers: Timer[] = []
  readonly counters = {
    // Literal objects with every key up front stay small "fast" objects (a null-prototype dictionary costs more).
    queriesIn: { ping: 0, find_node: 0, get_peers: 0, announce_peer: 0, unknown: 0 } as Record<string, number>,
    queriesOut: { ping: 0, find_node: 0, get_peers: 0, announce_peer: 0 } as Record<string, number>,
    drops: {
      not_krpc: 0,
      rate_limited: 0,
      malformed: 0,
      bad_tid: 0,
      read_only: 0,
      unsolicited: 0,
      bad_token: 0,
      bad_nodes: 0,
      dark_nodes: 0,
      bep42_storage: 0,
      handler_error: 0,
    } as Record<string, number>,
    repliesIn: 0,
    errorsIn: 0,
    timeouts: 0,
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  }

  constructor(protected readonly opts: DHTOptions = {}) {
    super()
    this.clock = opts.clock ?? realClock
    this.random = opts.random ?? cryptoRandom
    if (opts.id !== undefined && !isNodeId(opts.id)) throw new DHTError('BAD_ARGUMENT', 'id must be 20 bytes')
    this._id = opts.id ? opts.id.slice() : randomNodeId(this.random)
    this.fixedId = opts.id !== undefined
    this.k = opts.k ?? 8
    this.alpha = opts.alpha ?? 4
    this.readOnly = opts.readOnly ?? false
    this.preferBep42ForStorage = opts.preferBep42ForStorage ?? false
    // Whole milliseconds: small integers are stored inline, fractional ones as a boxed number per field.
    const now = () => Math.floor(this.clock.now())
    this.voter = new IpVoter({ now: () => this.clock.now() })
    const restrictIps = opts.restrictIps ?? true
    this.tables = {
      4: new RoutingTable(this._id, { k: this.k, restrictIps, now }),
      6: new RoutingTable(this._id, { k: this.k, restrictIps, now }),
    }
    this.tokens = new TokenManager(this.random, now)
    this.store = new PeerStore({ now, random: this.random, ...opts.peerStore })
    const rl = opts.rateLimit
    this.limiter = new RateLimiter({
      now,
      perSecond: rl?.perIpPerSecond,
      burst: rl?.burst,
      banMs: rl ? rl.banSeconds * 1000 : undefined,
    })
    if (opts.version !== undefined && opts.version.length !== 4)
      throw new DHTError('BAD_ARGUMENT', 'version must be 4 bytes')
    this.version = opts.version ?? DEFAULT_VERSION
    this.queryOptions = this.readOnly ? { ro: true, v: this.version } : { v: this.version }
    this.rpc = new Rpc({
      clock: this.clock,
      random: this.random,
      send: (data, to) => this.send(data, to),
      maxPending: opts.maxPending,
      slowMs: opts.slowQueryMs,
      timeoutMs: opts.queryTimeoutMs,
      retries: opts.queryRetries,
    })
    this.rpc.onOutcome = (to, outcome, nodeId, msg) => this.onOutcome(to, outcome, nodeId, msg)
    this.rpc.onError = (err) => this.emit('warning', err instanceof Error ? err : new Error(String(err)))
  }

  get id(): Uint8Array {
    return this._id
  }

  /** The main socket's family (IPv4 when dual stack). */
  get family(): 4 | 6 {
    const f = this.socket?.family ?? this.opts.family ?? 4
    return f === 6 ? 6 : 4
  }

  /** The families we have a socket for: one, or both when dual stack. */
  get families(): Array<4 | 6> {
    return this.socket6 ? [4, 6] : [this.family]
  }

  /** The routing table of the main socket's family. */
  get table(): RoutingTable {
    return this.tables[this.family]
  }

  /** The socket that talks to `family`, if we have one. */
  protected socketFor(family: 4 | 6): DatagramSocket | undefined {
    if (this.socket?.family === family) return this.socket
    return family === 6 ? this.socket6 : undefined
  }

  drop(reason: string, n = 1): void {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + n
  }

  onAnnounce(peer: Endpoint, infoHash: Uint8Array): void {
    this.emit('announce', peer, infoHash)
  }

  send(data: Uint8Array, to: Endpoint): void {
    const socket = this.socketFor(familyOf(to.host))
    if (!socket || this.destroyed) return
    this.counters.packetsOut++
    this.counters.bytesOut += data.length
    socket.send(pooled(data), to)
  }

  /** Sends the query `build(tid)` makes (counted by method). */
  query(
    to: Endpoint,
    method: string,
    build: (tid: Uint8Array) => Uint8Array,
    opts?: { signal?: AbortSignal; onSlow?: () => void; nodeId?: Uint8Array },
  ): Promise<{ msg: KrpcReply; rttMs: number }> {
    if (!this.socket) return Promise.reject(new DHTError('NOT_LISTENING', 'call listen() first'))
    if (!this.socketFor(familyOf(to.host))) {
      const have = this.families.map((f) => `IPv${f}`).join('/')
      return Promise.reject(new DHTError('BAD_ADDRESS', `${to.host}: this node runs on ${have} only`))
    }
    this.counters.queriesOut[method] = (this.counters.queriesOut[method] ?? 0) + 1
    return this.rpc.query(to, method, build, opts)
  }

  /** Pings a node for table maintenance; the reply tables it, a timeout counts against it. */
  pingQuietly(node: Endpoint & { id?: Uint8Array }): void {
    if (this.destroyed || this.rpc.inFlight > this.rpc.maxPending / 2) return
    this.query(node, 'ping', (t) => buildPingQuery(t, this._id, this.queryOptions), { nodeId: node.id }).catch(() => {})
  }

  private onOutcome(to: Endpoint, outcome: QueryOutcome, nodeId: Uint8Array | undefined, msg?: KrpcReply): void {
    const table = this.tables[familyOf(to.host)]
    if (outcome === 'timeout') {
      this.counters.timeouts++
      if (nodeId) table.failed(nodeId, to)
      return
    }
    if (outcome === 'error') {
      this.counters.errorsIn++
      return
    }
    this.counters.repliesIn++
    if (!msg) return
    const id = msg.r.id
    if (nodeId && !bytesEq(nodeId, id)) table.remove(nodeId, to) // it answered under another id: a restart
    const res = table.seen({ id, host: to.host, port: to.port }, true)
    if (res.status === 'added') this.emit('node', { id: copyBytes(id), host: to.host, port: to.port })
    for (const n of res.ping) this.pingQuietly(n)
    if (msg.ip) this.onIpVote(to, msg.ip)
  }

  /** BEP 42: a reply told us how it sees us; once enough agree on a new address, take a compliant id. */
  private onIpVote(from: Endpoint, ip: Uint8Array): void {
    let seenAt: Endpoint
    try {
      seenAt = decodePeer(ip)
    } catch {
      return
    }
    const seen = seenAt.host
    this.emit('external_report', { host: seen, port: seenAt.port }, { host: from.host, port: from.port })
    const voter = from.host
    // Our id follows the main socket's address: votes about the other family's address would flip it back and forth.
    if (familyOf(seen) !== this.family) return
    const external = this.voter.vote(voter, seen)
    if (!external || this.fixedId || isBep42Exempt(external) || isValidNodeIdForIp(this._id, external)) return
    this._id = nodeIdForIp(external, this.random)
    this.tables[4].reset(this._id)
    this.tables[6].reset(this._id)
    this.idChanged()
  }

  /** Called after BEP 42 gave us a new id (the node then looks it up so that its new neighbours learn of it). */
  protected idChanged(): void {}

  /**
   * Turns a find_node / get_peers reply into what a lookup in `family` needs; malformed parts are dropped. Nodes of
   * our other family (`nodes6` in a reply over IPv4, when dual stack) go to that family's table.
   */
  toQueryReply(msg: KrpcReply, family: 4 | 6 = this.family, from?: Endpoint): QueryReply {
    const r = msg.r
    // Like libtorrent (dht_ignore_dark_internet) and our PEX: a node on the Internet cannot point us at a local
    // network (ours, or anyone's), nor at an address no node can be at; a local node may name local ones.
    const usable = (e: Endpoint) =>
      e.port > 0 &&
      isUnicastAddress(e.host) &&
      (from === undefined || isLocalNetwork(from.host) || !isLocalNetwork(e.host))
    const nodes = this.parseNodes(family === 4 ? r.nodes : r.nodes6, family, usable)
    const other = family === 4 ? 6 : 4
    const otherRaw = family === 4 ? r.nodes6 : r.nodes
    if (otherRaw && this.socketFor(other)) {
      for (const n of this.parseNodes(otherRaw, other, usable)) this.tables[other].heardAbout(n)
    }
    const reply: QueryReply = { id: copyBytes(r.id), nodes }
    if (r.values) reply.values = decodePeerValues(r.values, family).filter(usable)
    if (r.token) reply.token = copyBytes(r.token)
    return reply
  }

  private parseNodes(raw: Uint8Array | undefined, family: 4 | 6, usable: (e: Endpoint) => boolean): DHTNode[] {
    if (!raw) return []
    try {
      const all = decodeNodes(raw, family).filter((n) => !bytesEq(n.id, this._id))
      const ok = all.filter(usable)
      if (ok.length < all.length) this.drop('dark_nodes', all.length - ok.length)
      return ok
    } catch {
      this.drop('bad_nodes')
      return []
    }
  }

  stats(): DHTStats {
    const c = this.counters
    return {
      id: toHex(this._id),
      nodes: { v4: this.tables[4].size, v6: this.tables[6].size },
      buckets: this.table.bucketCount,
      queriesIn: nonZero(c.queriesIn),
      queriesOut: nonZero(c.queriesOut),
      repliesIn: c.repliesIn,
      errorsIn: c.errorsIn,
      timeouts: c.timeouts,
      packetsIn: c.packetsIn,
      packetsOut: c.packetsOut,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      drops: nonZero(c.drops),
      peersStored: this.store.peers,
      infoHashesStored: this.store.infoHashes,
      pendingQueries: this.rpc.inFlight,
      rateLimiterEntries: this.limiter.size,
      bans: this.limiter.bans,
      externalIp: this.voter.external,
    }
  }

  /** A random id in bucket `i` of our table (for a refresh lookup). */
  protected refreshTarget(i: number): Uint8Array {
    return randomIdInBucket(this._id, i, this.random)
  }

  protected startTimers(tick: () => void, save: (() => void) | undefined): void {
    this.timers.push(this.clock.setInterval(tick, TICK_MS))
    if (save) this.timers.push(this.clock.setInterval(save, SAVE_MS))
  }
}

/**
 * The datagram copied into Node's shared 8 KiB buffer pool. A packet fresh from the KRPC builder has its own
 * malloc'd backing store and stays alive until the kernel has sent it; thousands of those in flight fragment the
 * native heap (measured: ~20 KiB of RSS per node in a 200-node process). Pool slices cost no malloc.
 */
function pooled(data: Uint8Array): Uint8Array {
  if (data.length >= 4096) return data
  const b = Buffer.allocUnsafe(data.length)
  b.set(data)
  return b
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const k in counts) if (counts[k] !== 0) out[k] = counts[k]
  return out
}

export function familyOf(host: string): 4 | 6 {
  return host.includes(':') ? 6 : 4
}

export function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export type { KrpcMessage }
