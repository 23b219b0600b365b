// find_node, get_peers (as a stream or a whole result) and announce, on the lookup service with query functions
// over the RPC layer. With two sockets (BEP 32 dual stack) each runs once per family, on that family's table and
// socket, and the results are merged.
import {
  buildAnnouncePeerQuery,
  buildFindNodeQuery,
  buildGetPeersQuery,
  type KrpcOptions,
} from '../codec/krpc-build.js'
import type { ReplyValues } from '../codec/krpc-types.js'
import { compareDistance } from '../codec/node-id.js'
import type { Clock, Endpoint } from '../net/types.js'
import { abortError, DHTError } from './errors.js'
import type { LookupService } from './lookup-service.js'
import type { DHTNode } from './options.js'
import { familyOf, type Routing } from './routing.js'
import type { RpcLayer } from './rpc-layer.js'
import type {
  ClosestNode,
  QueryContext,
  QueryFn,
  QueryReply,
  TraversalContact,
  TraversalEvent,
  TraversalResult,
} from './traversal.js'

export interface LookupResult {
  peers: Endpoint[]
  /** The K closest nodes that replied with a token (where announce() sends announce_peer), per family. */
  withToken: ClosestNode[]
  queries: number
  responses: number
  hops: number
  ms: number
  /** The K closest nodes that replied, closest first (both families merged when dual stack). */
  closest: ClosestNode[]
}

export interface AnnounceResult {
  /** Nodes that accepted the announce. */
  nodes: number
  /** Queries sent: the get_peers lookup plus the announce_peer queries. */
  queries: number
  /** Peers the lookup found on the way. */
  peers: Endpoint[]
}

export interface PeerLookupsOptions {
  service: LookupService
  rpc: RpcLayer
  routing: Routing
  clock: Clock
  /** Envelope options of our queries (`v`, BEP 43 `ro`). */
  queryOptions: KrpcOptions
  /** A peer a lookup found (the node's 'peer' event). */
  onPeer: (peer: Endpoint, infoHash: Uint8Array, from: Endpoint) => void
  /** Throws DESTROYED once the node is destroyed. */
  checkAlive: () => void
  /** Throws BAD_ARGUMENT, NOT_LISTENING or DESTROYED before a lookup that cannot run. */
  checkHash: (h: Uint8Array, what: string) => void
}

export class PeerLookups {
  constructor(private readonly o: PeerLookupsOptions) {}

  /** Our query options: when dual stack, `want` asks for both families so each lookup feeds both tables. */
  private lookupOptions(): KrpcOptions {
    return this.o.rpc.dualStack ? { ...this.o.queryOptions, want: ['n4', 'n6'] } : this.o.queryOptions
  }

  /** find_node or get_peers toward `target` in `family`: the reply parsed, the nodes it names offered to the table. */
  queryFn(method: 'find_node' | 'get_peers', target: Uint8Array, family: 4 | 6): QueryFn {
    const qo = this.lookupOptions()
    const routing = this.o.routing
    // Our id as it is when each query is sent (BEP 42 may change it during a lookup).
    const build =
      method === 'find_node'
        ? (t: Uint8Array) => buildFindNodeQuery(t, routing.id, target, qo)
        : (t: Uint8Array) => buildGetPeersQuery(t, routing.id, target, qo)
    const table = routing.tables[family]
    return async (node, ctx) => {
      const { msg } = await this.o.rpc.query(node, method, build, {
        signal: ctx.signal,
        onSlow: ctx.onSlow,
        nodeId: node.id,
      })
      const reply = routing.toQueryReply(msg, family, node)
      // Nodes we hear about may take free slots of our table, unconfirmed until a query of ours reaches them.
      for (const n of reply.nodes) table.heardAbout(n)
      return reply
    }
  }

  /**
   * A query function for any method (BEP 44 `get`, …) in `family`: `args` is the `a` dict without `id` (dual stack
   * adds `want: n4 n6`). The reply's nodes are parsed and offered to the table as find_node's are; the whole `r`
   * comes with it for the caller's own fields (`v`, `seq`, `sig`, …), in the reply and in the lookup's events.
   */
  queryFnFor(
    method: string,
    args: Readonly<Record<string, unknown>>,
    family: 4 | 6,
  ): (node: TraversalContact, ctx: QueryContext) => Promise<QueryReply & { r: ReplyValues }> {
    const routing = this.o.routing
    const table = routing.tables[family]
    const a = this.o.rpc.dualStack ? { want: ['n4', 'n6'], ...args } : args
    return async (node, ctx) => {
      const msg = await this.o.rpc.requestReply(node, method, a, {
        signal: ctx.signal,
        onSlow: ctx.onSlow,
        nodeId: node.id,
      })
      const reply = routing.toQueryReply(msg, family, node)
      for (const n of reply.nodes) table.heardAbout(n)
      return { ...reply, r: msg.r }
    }
  }

  /** One lookup per family we run, concurrently. */
  private traverseAll(
    method: 'find_node' | 'get_peers',
    target: Uint8Array,
    signal: AbortSignal | undefined,
    onEvent?: (event: TraversalEvent) => void,
  ): Promise<TraversalResult[]> {
    const s = this.o.service
    return Promise.all(
      this.o.rpc.families.map((family) =>
        s.run({ target, family, query: this.queryFn(method, target, family), signal, onEvent }),
      ),
    )
  }

  /** The K closest of several closest-first lists. */
  private mergeClosest(target: Uint8Array, lists: ClosestNode[][]): ClosestNode[] {
    if (lists.length === 1) return lists[0]
    return lists
      .flat()
      .sort((a, b) => compareDistance(target, a.id, b.id))
      .slice(0, this.o.service.k)
  }

  /** The K nodes closest to `target` that answered, closest first. */
  async findNode(target: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<DHTNode[]> {
    this.o.checkHash(target, 'target')
    const res = await this.traverseAll('find_node', target, opts.signal)
    this.o.checkAlive()
    return this.mergeClosest(
      target,
      res.map((r) => r.closest),
    ).map((n) => ({ id: n.id, host: n.host, port: n.port }))
  }

  /** A find_node lookup in one family only, with the seeds there are now (table maintenance). */
  async findNodeIn(family: 4 | 6, target: Uint8Array): Promise<void> {
    await this.o.service.runNow({ target, family, query: this.queryFn('find_node', target, family) })
  }

  /** Peers for `infoHash` as they are found (de-duplicated); ends when the lookup (of every family) ends. */
  async *getPeers(infoHash: Uint8Array, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Endpoint> {
    this.o.checkHash(infoHash, 'info hash')
    const seen = new Set<string>()
    const streams = this.o.rpc.families.map((family) =>
      this.o.service.events({
        target: infoHash,
        family,
        query: this.queryFn('get_peers', infoHash, family),
        signal: opts.signal,
      }),
    )
    for await (const e of merge(streams)) {
      if (e.type !== 'reply' || !e.reply.values) continue
      for (const p of e.reply.values) {
        const key = `${p.host}|${p.port}`
        if (seen.has(key)) continue
        seen.add(key)
        this.o.onPeer(p, infoHash, { host: e.node.host, port: e.node.port })
        yield p
      }
    }
    this.o.checkAlive()
  }

  /** A whole get_peers lookup: the peers, the closest nodes (with tokens) and what it cost. */
  async lookup(infoHash: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<LookupResult> {
    this.o.checkHash(infoHash, 'info hash')
    const start = this.o.clock.now()
    const peers: Endpoint[] = []
    const seen = new Set<string>()
    const res = await this.traverseAll('get_peers', infoHash, opts.signal, (e) => {
      if (e.type !== 'reply' || !e.reply.values) return
      for (const p of e.reply.values) {
        const key = `${p.host}|${p.port}`
        if (seen.has(key)) continue
        seen.add(key)
        peers.push(p)
        this.o.onPeer(p, infoHash, { host: e.node.host, port: e.node.port })
      }
    })
    this.o.checkAlive()
    return {
      peers,
      queries: res.reduce((n, r) => n + r.queries, 0),
      responses: res.reduce((n, r) => n + r.responses, 0),
      hops: Math.max(...res.map((r) => r.hops)),
      ms: this.o.clock.now() - start,
      closest: this.mergeClosest(
        infoHash,
        res.map((r) => r.closest),
      ),
      withToken: res.flatMap((r) => r.withToken),
    }
  }

  /**
   * Announces that we have `infoHash` on `port` (or, with `impliedPort`, on the port this socket sends from): a
   * get_peers lookup, then announce_peer to the K closest nodes that gave a token (per family when dual stack).
   * With `seed`, as a seed (BEP 33 `seed: 1`: scrapes count us among the seeds).
   */
  async announce(
    infoHash: Uint8Array,
    opts: { port?: number; impliedPort?: boolean; seed?: boolean; signal?: AbortSignal } = {},
  ): Promise<AnnounceResult> {
    const implied = opts.impliedPort === true || opts.port === undefined
    const port = opts.port ?? 0
    if (!implied && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new DHTError('BAD_ARGUMENT', `bad port ${opts.port}`)
    }
    const look = await this.lookup(infoHash, { signal: opts.signal })
    // The K closest that gave a token, as libtorrent does: a node without one (its store is full) is skipped.
    const targets = look.withToken
    const qo = {
      ...this.o.queryOptions,
      ...(implied ? { impliedPort: true } : {}),
      ...(opts.seed ? { seed: true } : {}),
    }
    const rpc = this.o.rpc
    const routing = this.o.routing
    const results = await Promise.allSettled(
      targets.map((n) => {
        // With implied_port we still send our port (libtorrent does), for receivers that ignore implied_port.
        const sendPort = implied ? (rpc.socketFor(familyOf(n.host))?.address().port ?? 0) : port
        return rpc.query(
          n,
          'announce_peer',
          (t) => buildAnnouncePeerQuery(t, routing.id, infoHash, n.token!, sendPort, qo),
          {
            signal: opts.signal,
            nodeId: n.id,
          },
        )
      }),
    )
    if (opts.signal?.aborted) throw abortError()
    this.o.checkAlive()
    return {
      nodes: results.filter((r) => r.status === 'fulfilled').length,
      queries: look.queries + targets.length,
      peers: look.peers,
    }
  }
}

/** Items of several async iterators as they come; returning early closes them all. */
async function* merge<T>(sources: AsyncGenerator<T>[]): AsyncGenerator<T> {
  if (sources.length === 1) {
    yield* sources[0]
    return
  }
  const next = (i: number) => sources[i].next().then((r) => ({ i, r }))
  const pending = new Map(sources.map((_, i) => [i, next(i)]))
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values())
      if (r.done) {
        pending.delete(i)
        continue
      }
      pending.set(i, next(i))
      yield r.value
    }
  } finally {
    // Not awaited: a source busy in next() finishes that first (each cancels its lookup when it returns).
    for (const p of pending.values()) p.catch(() => {})
    for (const s of sources) s.return(undefined).catch(() => {})
  }
}
