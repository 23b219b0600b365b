// The DHT node: wires the routing tables, the transaction layer, the query handlers and the traversal engine to one
// DatagramSocket, a Clock and a Random. It opens a UDP socket only when none is given (listen()).
import { isBep42Exempt, isValidNodeIdForIp, nodeIdForIp } from '../codec/bep42.js'
import { toHex } from '../codec/bytes.js'
import { decodeNodes, decodePeer, decodePeerValues } from '../codec/compact.js'
import { buildPingQuery, type KrpcOptions } from '../codec/krpc-build.js'
import type { KrpcMessage, KrpcReply } from '../codec/krpc-types.js'
import { isNodeId, randomIdInBucket, randomNodeId } from '../codec/node-id.js'
import { cryptoRandom, realClock } from '../net/clock.js'
import type { Clock, DatagramSocket, Endpoint, Random, Timer } from '../net/types.js'
import { DHTError } from './errors.js'
import { TypedEventEmitter } from './events.js'
import type { ServeContext } from './handlers.js'
import { IpVoter } from './ip-voter.js'
import { PeerStore } from './peer-store.js'
import { RateLimiter } from './rate-limit.js'
import { copyBytes, RoutingTable } from './routing-table.js'
import { type QueryOutcome, Rpc } from './rpc.js'
import { TokenManager } from './tokens.js'
import type { QueryReply } from './traversal.js'

export interface DHTOptions {
  /** Run on this socket (net/sim, or one side of the UDP multiplexer); it is not closed by destroy(). Default: listen() binds UDP. */
  socket?: DatagramSocket
  /** Bind address for listen(). Default '0.0.0.0' ('::' for family 6). */
  host?: string
  /** Bind port for listen(). Default 0 (ephemeral). */
  port?: number
  /** Address family of the socket listen() binds. Default 4. */
  family?: 4 | 6
  /** Bootstrap nodes: 'host:port' ('[v6]:port') strings, names resolved with dns.lookup, or endpoints. Default []. */
  bootstrap?: Array<string | Endpoint>
  /** Our node id (kept even if BEP 42 disagrees). Default: from the state file, else random; a random id is
   * replaced by a BEP 42 compliant one once our external IP is known. */
  id?: Uint8Array
  /** Default realClock. */
  clock?: Clock
  /** Default cryptoRandom. */
  random?: Random
  /** BEP 43 read-only node: sends `ro: 1`, answers no queries, is tabled by nobody. Default false. */
  readOnly?: boolean
  /** State file: loaded by listen() if present, saved every 10 minutes and by destroy(). Default none. */
  state?: string
  /** Bucket size and lookup width. Default 8. */
  k?: number
  /** Lookup concurrency (slow queries excepted). Default 4. */
  alpha?: number
  /** IP diversity in the routing table (one node per IP, per /24 or /64 in a bucket; LAN/loopback exempt). Default true. */
  restrictIps?: boolean
  /** Store announces only from nodes whose id passes BEP 42 for their IP. Default false (as libtorrent). */
  preferBep42ForStorage?: boolean
  /** The `v` we send (4 bytes). Default 'ML' + 0x00 0x01. */
  version?: Uint8Array
  /** Per-source rate limit (loopback sources are limited per IP:port, others per IP). Default 50/s, ban 300 s. */
  rateLimit?: { perIpPerSecond: number; banSeconds: number; burst?: number }
  /** A query counts as slow (its lookup slot is freed) after this. Default 1000 ms. */
  slowQueryMs?: number
  /** A query fails after this. Default 5000 ms. */
  queryTimeoutMs?: number
  /** Resends of an unanswered query in the same transaction (from the short timeout on). Default 1. */
  queryRetries?: number
  /** Transactions in flight at most. Default 2048. */
  maxPending?: number
  /** Peer store caps. Defaults: 200 per info hash, 2,000 info hashes, 20,000 peers, 30 min lifetime. */
  peerStore?: { maxPerHash?: number; maxHashes?: number; maxPeers?: number; ttlMs?: number }
}

export interface DHTNode {
  id: Uint8Array
  host: string
  port: number
}

export interface DHTStats {
  id: string
  nodes: { v4: number; v6: number }
  buckets: number
  queriesIn: Record<string, number>
  queriesOut: Record<string, number>
  repliesIn: number
  errorsIn: number
  timeouts: number
  packetsIn: number
  packetsOut: number
  bytesIn: number
  bytesOut: number
  drops: Record<string, number>
  peersStored: number
  infoHashesStored: number
  pendingQueries: number
  rateLimiterEntries: number
  bans: number
  externalIp: string | undefined
}

export interface DHTEvents {
  ready: []
  peer: [peer: Endpoint, infoHash: Uint8Array, from: Endpoint]
  node: [node: DHTNode]
  announce: [peer: Endpoint, infoHash: Uint8Array]
  warning: [err: Error]
  // biome-ignore lint/suspicious/noExplicitAny: the index signature every event map needs
  [event: string]: any[]
}

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
  readonly voter = new IpVoter()
  readonly rpc: Rpc
  readonly version: Uint8Array
  /** Envelope options of our queries (`v`, BEP 43 `ro`). */
  readonly queryOptions: KrpcOptions
  protected socket: DatagramSocket | undefined
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
      store_full: 0,
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
  }

  get id(): Uint8Array {
    return this._id
  }

  get family(): 4 | 6 {
    return this.socket?.family ?? this.opts.family ?? 4
  }

  /** The routing table of our socket's family. */
  get table(): RoutingTable {
    return this.tables[this.family]
  }

  drop(reason: string): void {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1
  }

  onAnnounce(peer: Endpoint, infoHash: Uint8Array): void {
    this.emit('announce', peer, infoHash)
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (!this.socket || this.destroyed) return
    this.counters.packetsOut++
    this.counters.bytesOut += data.length
    this.socket.send(pooled(data), to)
  }

  /** Sends the query `build(tid)` makes (counted by method). */
  query(
    to: Endpoint,
    method: string,
    build: (tid: Uint8Array) => Uint8Array,
    opts?: { signal?: AbortSignal; onSlow?: () => void; nodeId?: Uint8Array },
  ): Promise<{ msg: KrpcReply; rttMs: number }> {
    if (!this.socket) return Promise.reject(new DHTError('NOT_LISTENING', 'call listen() first'))
    if ((to.host.includes(':') ? 6 : 4) !== this.family) {
      return Promise.reject(new DHTError('BAD_ADDRESS', `${to.host} is not an IPv${this.family} address`))
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
    if (outcome === 'timeout') {
      this.counters.timeouts++
      if (nodeId) this.table.failed(nodeId)
      return
    }
    if (outcome === 'error') {
      this.counters.errorsIn++
      return
    }
    this.counters.repliesIn++
    if (!msg) return
    const id = msg.r.id
    if (nodeId && !bytesEq(nodeId, id)) this.table.remove(nodeId) // it answered under another id: a restart
    const res = this.table.seen({ id, host: to.host, port: to.port }, true)
    if (res.status === 'added') this.emit('node', { id: copyBytes(id), host: to.host, port: to.port })
    for (const n of res.ping) this.pingQuietly(n)
    if (msg.ip) this.onIpVote(to.host, msg.ip)
  }

  /** BEP 42: a reply told us how it sees us; once enough agree on a new address, take a compliant id. */
  private onIpVote(voter: string, ip: Uint8Array): void {
    let seen: string
    try {
      seen = decodePeer(ip).host
    } catch {
      return
    }
    const external = this.voter.vote(voter, seen)
    if (!external || this.fixedId || isBep42Exempt(external) || isValidNodeIdForIp(this._id, external)) return
    this._id = nodeIdForIp(external, this.random)
    this.tables[4].reset(this._id)
    this.tables[6].reset(this._id)
    this.idChanged()
  }

  /** Called after BEP 42 gave us a new id (the node then looks it up so that its new neighbours learn of it). */
  protected idChanged(): void {}

  /** Turns a find_node / get_peers reply into what the traversal needs; malformed parts are dropped. */
  toQueryReply(msg: KrpcReply): QueryReply {
    const r = msg.r
    const raw = this.family === 4 ? r.nodes : r.nodes6
    let nodes: DHTNode[] = []
    if (raw) {
      try {
        nodes = decodeNodes(raw, this.family).filter((n) => n.port > 0 && !bytesEq(n.id, this._id))
      } catch {
        this.drop('bad_nodes')
      }
    }
    const reply: QueryReply = { id: copyBytes(r.id), nodes }
    if (r.values) reply.values = decodePeerValues(r.values).filter((p) => p.port > 0)
    if (r.token) reply.token = copyBytes(r.token)
    return reply
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

export function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export type { KrpcMessage }
