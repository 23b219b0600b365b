// Lookups on top of the node: find_node, get_peers (as a stream or a whole result) and announce. With two sockets
// (BEP 32 dual stack) each runs once per family, on that family's table and socket, and the results are merged.
import {
  buildAnnouncePeerQuery,
  buildFindNodeQuery,
  buildGetPeersQuery,
  type KrpcOptions,
} from '../codec/krpc-build.js'
import { compareDistance } from '../codec/node-id.js'
import type { Endpoint } from '../net/types.js'
import { abortError, DHTError } from './errors.js'
import { DHTCore, type DHTNode, familyOf } from './node.js'
import { restrictedPrefix } from './routing-table.js'
import { type ClosestNode, type QueryFn, type TraversalContact, type TraversalResult, traverse } from './traversal.js'
import { traversalEvents } from './traversal-events.js'

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

export class DHTLookups extends DHTCore {
  /** Bootstrap endpoints, resolved (both families when dual stack). */
  protected bootstrapNodes: Endpoint[] = []
  /** Settles once the bootstrap list is resolved: a lookup started right after listen() must still have seeds. */
  protected seedsReady: Promise<void> = Promise.resolve()
  /** Nodes from the state file. */
  protected savedNodes: DHTNode[] = []
  /**
   * Lookup diversity: one candidate per /24 (/64) of public addresses, unless `restrictSearchIps` is false. Our own
   * /24 (/64), by our external address as voted (BEP 42), is exempt like a LAN: the nodes next to us are not a
   * crowd someone made up, and in a network that is all one /24 the rule would leave a lookup one node to ask.
   */
  private readonly ipPrefix =
    this.opts.restrictSearchIps === false
      ? undefined
      : (host: string): string | undefined => {
          const p = restrictedPrefix(host)
          return p !== undefined && p !== this.ownPrefix() ? p : undefined
        }
  private ownPrefixFor: string | undefined
  private ownPrefixValue: string | undefined

  private ownPrefix(): string | undefined {
    const ext = this.voter.external
    if (ext !== this.ownPrefixFor) {
      this.ownPrefixFor = ext
      this.ownPrefixValue = ext === undefined ? undefined : restrictedPrefix(ext)
    }
    return this.ownPrefixValue
  }

  private seeds(target: Uint8Array, family: 4 | 6): TraversalContact[] {
    const seeds: TraversalContact[] = this.tables[family].closest(target, this.k * 2)
    if (seeds.length < this.k) {
      for (const n of this.savedNodes) if (familyOf(n.host) === family) seeds.push(n)
      for (const b of this.bootstrapNodes) if (familyOf(b.host) === family) seeds.push({ host: b.host, port: b.port })
    }
    return seeds
  }

  /** Our query options: when dual stack, `want` asks for both families so each lookup feeds both tables. */
  private lookupOptions(): KrpcOptions {
    return this.socket6 ? { ...this.queryOptions, want: ['n4', 'n6'] } : this.queryOptions
  }

  private queryFn(method: 'find_node' | 'get_peers', target: Uint8Array, family: 4 | 6): QueryFn {
    const qo = this.lookupOptions()
    const build =
      method === 'find_node'
        ? (t: Uint8Array) => buildFindNodeQuery(t, this._id, target, qo)
        : (t: Uint8Array) => buildGetPeersQuery(t, this._id, target, qo)
    const table = this.tables[family]
    return async (node, ctx) => {
      const { msg } = await this.query(node, method, build, {
        signal: ctx.signal,
        onSlow: ctx.onSlow,
        nodeId: node.id,
      })
      const reply = this.toQueryReply(msg, family, node)
      // Nodes we hear about may take free slots of our table, unconfirmed until a query of ours reaches them.
      for (const n of reply.nodes) table.heardAbout(n)
      return reply
    }
  }

  protected checkHash(h: Uint8Array, what: string): void {
    if (!(h instanceof Uint8Array) || h.length !== 20) throw new DHTError('BAD_ARGUMENT', `${what} must be 20 bytes`)
    if (!this.socket) throw new DHTError('NOT_LISTENING', 'call listen() first')
    if (this.destroyed) throw new DHTError('DESTROYED', 'the DHT node was destroyed')
  }

  /** A lookup that ran into destroy() ends with DESTROYED, not with the partial result of failed queries. */
  protected checkAlive(): void {
    if (this.destroyed) throw new DHTError('DESTROYED', 'the DHT node was destroyed')
  }

  /** One traversal per family we run, concurrently. */
  private async traverseAll(
    method: 'find_node' | 'get_peers',
    target: Uint8Array,
    signal: AbortSignal | undefined,
    onEvent?: Parameters<typeof traverse>[0]['onEvent'],
  ): Promise<TraversalResult[]> {
    await this.seedsReady
    return Promise.all(
      this.families.map((f) =>
        traverse({
          target,
          seeds: this.seeds(target, f),
          query: this.queryFn(method, target, f),
          k: this.k,
          alpha: this.alpha,
          ipPrefix: this.ipPrefix,
          signal,
          onEvent,
        }),
      ),
    )
  }

  /** One lookup per family with a caller's query function per family (the storage client's BEP 44 / 33 lookups). */
  protected async runLookup(
    target: Uint8Array,
    query: (family: 4 | 6) => QueryFn,
    signal?: AbortSignal,
  ): Promise<TraversalResult[]> {
    this.checkHash(target, 'target')
    await this.seedsReady
    const res = await Promise.all(
      this.families.map((f) =>
        traverse({
          target,
          seeds: this.seeds(target, f),
          query: query(f),
          k: this.k,
          alpha: this.alpha,
          ipPrefix: this.ipPrefix,
          signal,
        }),
      ),
    )
    this.checkAlive()
    return res
  }

  /** The K closest of several closest-first lists. */
  private mergeClosest(target: Uint8Array, lists: ClosestNode[][]): ClosestNode[] {
    if (lists.length === 1) return lists[0]
    return lists
      .flat()
      .sort((a, b) => compareDistance(target, a.id, b.id))
      .slice(0, this.k)
  }

  /** The K nodes closest to `target` that answered, closest first. */
  async findNode(target: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<DHTNode[]> {
    this.checkHash(target, 'target')
    const res = await this.traverseAll('find_node', target, opts.signal)
    this.checkAlive()
    return this.mergeClosest(
      target,
      res.map((r) => r.closest),
    ).map((n) => ({ id: n.id, host: n.host, port: n.port }))
  }

  /** A find_node lookup in one family only (table maintenance). */
  protected async findNodeIn(family: 4 | 6, target: Uint8Array): Promise<void> {
    await traverse({
      target,
      seeds: this.seeds(target, family),
      query: this.queryFn('find_node', target, family),
      k: this.k,
      alpha: this.alpha,
      ipPrefix: this.ipPrefix,
    })
  }

  /** Peers for `infoHash` as they are found (de-duplicated); ends when the lookup (of every family) ends. */
  async *getPeers(infoHash: Uint8Array, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Endpoint> {
    this.checkHash(infoHash, 'info hash')
    await this.seedsReady
    const seen = new Set<string>()
    const streams = this.families.map((f) =>
      traversalEvents({
        target: infoHash,
        seeds: this.seeds(infoHash, f),
        query: this.queryFn('get_peers', infoHash, f),
        k: this.k,
        alpha: this.alpha,
        ipPrefix: this.ipPrefix,
        signal: opts.signal,
      }),
    )
    for await (const e of merge(streams)) {
      if (e.type !== 'reply' || !e.reply.values) continue
      for (const p of e.reply.values) {
        const key = `${p.host}|${p.port}`
        if (seen.has(key)) continue
        seen.add(key)
        this.emit('peer', p, infoHash, { host: e.node.host, port: e.node.port })
        yield p
      }
    }
    this.checkAlive()
  }

  /** A whole get_peers lookup: the peers, the closest nodes (with tokens) and what it cost. */
  async lookup(infoHash: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<LookupResult> {
    this.checkHash(infoHash, 'info hash')
    const start = this.clock.now()
    const peers: Endpoint[] = []
    const seen = new Set<string>()
    const res = await this.traverseAll('get_peers', infoHash, opts.signal, (e) => {
      if (e.type !== 'reply' || !e.reply.values) return
      for (const p of e.reply.values) {
        const key = `${p.host}|${p.port}`
        if (seen.has(key)) continue
        seen.add(key)
        peers.push(p)
        this.emit('peer', p, infoHash, { host: e.node.host, port: e.node.port })
      }
    })
    this.checkAlive()
    return {
      peers,
      queries: res.reduce((n, r) => n + r.queries, 0),
      responses: res.reduce((n, r) => n + r.responses, 0),
      hops: Math.max(...res.map((r) => r.hops)),
      ms: this.clock.now() - start,
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
    // BEP 33 `seed: 1`: we have the whole torrent (scrapes count us among the seeds).
    const qo = { ...this.queryOptions, ...(implied ? { impliedPort: true } : {}), ...(opts.seed ? { seed: true } : {}) }
    const results = await Promise.allSettled(
      targets.map((n) => {
        // With implied_port we still send our port (libtorrent does), for receivers that ignore implied_port.
        const sendPort = implied ? (this.socketFor(familyOf(n.host))?.address().port ?? 0) : port
        return this.query(
          n,
          'announce_peer',
          (t) => buildAnnouncePeerQuery(t, this._id, infoHash, n.token!, sendPort, qo),
          { signal: opts.signal, nodeId: n.id },
        )
      }),
    )
    if (opts.signal?.aborted) throw abortError()
    this.checkAlive()
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
