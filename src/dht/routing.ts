// Our id and the routing tables (one per family, BEP 32), fed by what the RPC layer sees: the outcome of each of
// our queries (a reply tables and confirms a node, a timeout counts against it, an answer under another id is a
// restart), queries that reach us (an unconfirmed entry, verified later), nodes we hear about in replies, and
// BEP 42 votes on our external address (a new address gives a new compliant id). It never sends: "ping these"
// goes to the `ping` it was given.
import { isBep42Exempt, isValidNodeIdForIp, nodeIdForIp } from '../codec/bep42.js'
import { decodeNodes, decodePeer, decodePeerValues } from '../codec/compact.js'
import { isLocalNetwork, isUnicastAddress } from '../codec/ip.js'
import type { KrpcReply } from '../codec/krpc-types.js'
import { isNodeId, randomIdInBucket, randomNodeId } from '../codec/node-id.js'
import type { Clock, Endpoint, Random } from '../net/types.js'
import { DHTError } from './errors.js'
import { IpVoter } from './ip-voter.js'
import type { DHTNode } from './options.js'
import { RoutingTable } from './routing-table.js'
import type { QueryOutcome } from './rpc.js'
import { copyBytes } from './table-node.js'
import type { QueryReply } from './traversal.js'

export interface RoutingOptions {
  /** A fixed id (kept even if BEP 42 disagrees); default random, replaced once our external IP is known. */
  fixedId?: Uint8Array
  k: number
  restrictIps: boolean
  clock: Clock
  random: Random
  /** The main socket's family (our id follows its address). */
  family: () => 4 | 6
  /** Whether we run `family` (dual stack: both). */
  runs: (family: 4 | 6) => boolean
  /** Pings a node (table maintenance); the outcome comes back through `onOutcome`. */
  ping: (node: Endpoint & { id?: Uint8Array }) => void
  /** A node entered a table. */
  onNode: (node: DHTNode) => void
  /** BEP 42 gave us a new id. */
  onIdChanged: () => void
  /** A reply's BEP 42 `ip`: `reporter` sees us at `seen` (NAT classification listens to these). */
  onExternalReport: (seen: Endpoint, reporter: Endpoint) => void
  /** Counts nodes in replies that we refuse (`bad_nodes`, `dark_nodes`). */
  drop: (reason: string, n?: number) => void
}

export class Routing {
  private _id: Uint8Array
  private readonly fixedId: boolean
  readonly tables: { readonly 4: RoutingTable; readonly 6: RoutingTable }
  readonly voter: IpVoter

  constructor(private readonly opts: RoutingOptions) {
    const id = opts.fixedId
    if (id !== undefined && !isNodeId(id)) throw new DHTError('BAD_ARGUMENT', 'id must be 20 bytes')
    this._id = id ? id.slice() : randomNodeId(opts.random)
    this.fixedId = id !== undefined
    // Whole milliseconds: small integers are stored inline, fractional ones as a boxed number per field.
    const now = () => Math.floor(opts.clock.now())
    this.voter = new IpVoter({ now: () => opts.clock.now() })
    const t = { k: opts.k, restrictIps: opts.restrictIps, now }
    this.tables = { 4: new RoutingTable(this._id, t), 6: new RoutingTable(this._id, t) }
  }

  get id(): Uint8Array {
    return this._id
  }

  /** Takes a saved id (from the state file) unless one was fixed by the caller. */
  adoptId(id: Uint8Array): void {
    if (this.fixedId) return
    this.setId(id.slice())
  }

  private setId(id: Uint8Array): void {
    this._id = id
    this.tables[4].reset(id)
    this.tables[6].reset(id)
  }

  /** A random id in bucket `i` of our table (for a refresh lookup). */
  refreshTarget(i: number): Uint8Array {
    return randomIdInBucket(this._id, i, this.opts.random)
  }

  /** What one of our queries to `to` came to (from the RPC layer). */
  onOutcome(to: Endpoint, outcome: QueryOutcome, nodeId: Uint8Array | undefined, msg?: KrpcReply): void {
    const table = this.tables[familyOf(to.host)]
    if (outcome === 'timeout') {
      if (nodeId) table.failed(nodeId, to)
      return
    }
    if (outcome === 'error' || !msg) return
    const id = msg.r.id
    if (nodeId && !bytesEq(nodeId, id)) table.remove(nodeId, to) // it answered under another id: a restart
    const res = table.seen({ id, host: to.host, port: to.port }, true)
    if (res.status === 'added') this.opts.onNode({ id: copyBytes(id), host: to.host, port: to.port })
    for (const n of res.ping) this.opts.ping(n)
    if (msg.ip) this.onIpVote(to, msg.ip)
  }

  /** A node that may be tabled (not read-only, a 20-byte id) queried us: unconfirmed until it answers us. */
  onQueried(from: Endpoint, id: Uint8Array): void {
    const res = this.tables[familyOf(from.host)].seen({ id, host: from.host, port: from.port }, false)
    for (const n of res.ping) this.opts.ping(n)
  }

  /** BEP 42: a reply told us how it sees us; once enough agree on a new address, take a compliant id. */
  private onIpVote(from: Endpoint, ip: Uint8Array): void {
    let seenAt: Endpoint
    try {
      seenAt = decodePeer(ip)
    } catch {
      return
    }
    this.opts.onExternalReport({ host: seenAt.host, port: seenAt.port }, { host: from.host, port: from.port })
    const seen = seenAt.host
    const voter = from.host
    // Our id follows the main socket's address: votes about the other family's address would flip it back and forth.
    if (familyOf(seen) !== this.opts.family()) return
    const external = this.voter.vote(voter, seen)
    if (!external || this.fixedId || isBep42Exempt(external) || isValidNodeIdForIp(this._id, external)) return
    this.setId(nodeIdForIp(external, this.opts.random))
    this.opts.onIdChanged()
  }

  /**
   * Turns a find_node / get_peers reply into what a lookup in `family` needs; malformed parts are dropped. Nodes of
   * our other family (`nodes6` in a reply over IPv4, when dual stack) go to that family's table.
   */
  toQueryReply(msg: KrpcReply, family: 4 | 6, from?: Endpoint): QueryReply {
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
    if (otherRaw && this.opts.runs(other)) {
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
      if (ok.length < all.length) this.opts.drop('dark_nodes', all.length - ok.length)
      return ok
    } catch {
      this.opts.drop('bad_nodes')
      return []
    }
  }

  /** The confirmed nodes of the given families' tables. */
  nodes(families: ReadonlyArray<4 | 6>): DHTNode[] {
    return families.flatMap((f) => this.tables[f].nodes().map((n) => ({ id: n.id, host: n.host, port: n.port })))
  }

  /** Nodes worth saving: confirmed and never failed, both families. */
  goodNodes(): DHTNode[] {
    return [...this.tables[4].nodes(), ...this.tables[6].nodes()]
      .filter((n) => n.fails === 0)
      .map((n) => ({ id: n.id, host: n.host, port: n.port }))
  }
}

export function familyOf(host: string): 4 | 6 {
  return host.includes(':') ? 6 : 4
}

export function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
