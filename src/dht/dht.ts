// The public DHT class: listen / bootstrap, the receive path (rate limit → parse → serve or match), lookups,
// announces, persistence and maintenance. See docs/dht.md.
import { buildAnnouncePeerQuery, buildFindNodeQuery, buildGetPeersQuery, buildPingQuery } from '../codec/krpc-build.js'
import { parseKrpc } from '../codec/krpc-parse.js'
import { KrpcError } from '../codec/krpc-types.js'
import type { Endpoint } from '../net/types.js'
import { UdpSocket } from '../net/udp.js'
import { resolveBootstrap } from './bootstrap.js'
import { abortError, DHTError } from './errors.js'
import { answerQuery, errorPacket, MAX_TID } from './handlers.js'
import { bytesEq, DHTCore, type DHTNode, type DHTOptions } from './node.js'
import { copyBytes } from './routing-table.js'
import { loadState, saveState } from './state.js'
import { type ClosestNode, type QueryFn, type TraversalContact, traversalEvents, traverse } from './traversal.js'

export interface LookupResult {
  peers: Endpoint[]
  /** The K closest nodes that replied with a token (where announce() sends announce_peer). */
  withToken: ClosestNode[]
  queries: number
  responses: number
  hops: number
  ms: number
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

/** Saved nodes pinged at start-up at most. */
const MAX_STARTUP_PINGS = 64

export class DHT extends DHTCore {
  private ownSocket = false
  private bootstrapNodes: Endpoint[] = []
  private savedNodes: DHTNode[] = []
  private bootstrapPromise: Promise<void> | undefined
  private refreshing = false
  private ticks = 0
  private listening: Promise<Endpoint> | undefined

  constructor(opts: DHTOptions = {}) {
    super(opts)
    if (opts.socket) this.socket = opts.socket
  }

  /** Binds (unless a socket was given), loads the state file, and starts bootstrapping in the background. */
  listen(): Promise<Endpoint> {
    this.listening ??= this.doListen()
    return this.listening
  }

  private async doListen(): Promise<Endpoint> {
    if (this.destroyed) throw new DHTError('DESTROYED', 'the DHT node was destroyed')
    if (this.opts.state) {
      try {
        const st = await loadState(this.opts.state)
        if (st) {
          if (!this.opts.id) this.adoptId(st.id)
          this.savedNodes = st.nodes
        }
      } catch (err) {
        this.emit('warning', err as Error)
      }
    }
    if (!this.socket) {
      const family = this.opts.family ?? 4
      this.socket = await UdpSocket.bind({ host: this.opts.host, port: this.opts.port ?? 0, family })
      this.ownSocket = true
    }
    if (this.destroyed) {
      if (this.ownSocket) await this.socket.close()
      throw new DHTError('DESTROYED', 'the DHT node was destroyed')
    }
    this.socket.setReceiver((data, from) => this.onDatagram(data, from))
    this.startTimers(
      () => this.tick(),
      this.opts.state ? () => void this.save().catch((e) => this.emit('warning', e)) : undefined,
    )
    this.bootstrapPromise = this.bootstrap()
    return this.socket.address()
  }

  protected override idChanged(): void {
    if (this.destroyed || !this.socket) return
    this.findNode(this._id).catch(() => {})
  }

  private adoptId(id: Uint8Array): void {
    this._id = id.slice()
    this.tables[4].reset(this._id)
    this.tables[6].reset(this._id)
  }

  address(): Endpoint {
    if (!this.socket) throw new DHTError('NOT_LISTENING', 'call listen() first')
    return this.socket.address()
  }

  /** Resolves when the first bootstrap lookup has finished (with or without nodes). */
  async bootstrapped(): Promise<void> {
    await this.listen()
    await this.bootstrapPromise
  }

  private async bootstrap(): Promise<void> {
    this.bootstrapNodes = await this.resolveBootstrap()
    for (const n of this.savedNodes.slice(0, MAX_STARTUP_PINGS)) this.pingQuietly(n)
    try {
      if (this.bootstrapNodes.length > 0 || this.savedNodes.length > 0) await this.findNode(this._id)
    } catch (err) {
      if (!this.destroyed) this.emit('warning', err as Error)
    }
    if (!this.destroyed) this.emit('ready')
  }

  private resolveBootstrap(): Promise<Endpoint[]> {
    return resolveBootstrap(this.opts.bootstrap ?? [], this.family, (e) => this.emit('warning', e))
  }

  // ---- receive path ------------------------------------------------------------------------------------------

  private onDatagram(data: Uint8Array, from: Endpoint): void {
    const c = this.counters
    c.packetsIn++
    c.bytesIn += data.length
    if (this.destroyed) return
    // A Buffer's slice() is a view, not a copy: as a plain Uint8Array every slice() we keep (ids, tokens) is a
    // real copy, and no kept id pins a whole datagram in memory.
    if (data.constructor !== Uint8Array) data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    try {
      this.receive(data, from)
    } catch (err) {
      // Nothing a peer sends may escape the handler; a throw here is our bug, counted and reported.
      this.drop('handler_error')
      this.emit('warning', err instanceof Error ? err : new Error(String(err)))
    }
  }

  private receive(data: Uint8Array, from: Endpoint): void {
    if (data.length < 2 || data[0] !== 0x64 || data[data.length - 1] !== 0x65) return this.drop('not_krpc')
    // Every node on one machine shares 127.0.0.1: there, a source is an IP:port; elsewhere an IP.
    const key = from.host.startsWith('127.') || from.host === '::1' ? `${from.host}|${from.port}` : from.host
    if (!this.limiter.allow(key)) return this.drop('rate_limited')
    let msg: ReturnType<typeof parseKrpc>
    try {
      msg = parseKrpc(data)
    } catch (err) {
      this.drop('malformed')
      if (err instanceof KrpcError && err.shouldReply && !this.readOnly && err.tid!.length <= MAX_TID) {
        this.send(errorPacket(this, err.tid!, from, err.krpcCode, err.reason), from)
      }
      return
    }
    if (msg.y === 'q') {
      if (this.readOnly) return this.drop('read_only')
      if (msg.t.length > MAX_TID || msg.t.length === 0) return this.drop('bad_tid')
      // Known methods by name; anything else under one key (a peer chooses `q`: it must not grow our maps).
      const name = msg.known ? msg.q : 'unknown'
      this.counters.queriesIn[name] = (this.counters.queriesIn[name] ?? 0) + 1
      const out = answerQuery(this, msg, from)
      if (out) this.send(out, from)
      if (!msg.ro && msg.a.id.length === 20) {
        const res = this.table.seen({ id: msg.a.id, host: from.host, port: from.port }, false)
        for (const n of res.ping) this.pingQuietly(n)
      }
      return
    }
    if (!this.rpc.handle(msg, from)) this.drop('unsolicited')
  }

  // ---- lookups -----------------------------------------------------------------------------------------------

  private seeds(target: Uint8Array): TraversalContact[] {
    const seeds: TraversalContact[] = this.table.closest(target, this.k * 2)
    if (seeds.length < this.k) {
      for (const n of this.savedNodes) seeds.push(n)
      for (const b of this.bootstrapNodes) seeds.push({ host: b.host, port: b.port })
    }
    return seeds
  }

  private queryFn(method: 'find_node' | 'get_peers', target: Uint8Array): QueryFn {
    const build =
      method === 'find_node'
        ? (t: Uint8Array) => buildFindNodeQuery(t, this._id, target, this.queryOptions)
        : (t: Uint8Array) => buildGetPeersQuery(t, this._id, target, this.queryOptions)
    return async (node, ctx) => {
      const { msg } = await this.query(node, method, build, {
        signal: ctx.signal,
        onSlow: ctx.onSlow,
        nodeId: node.id,
      })
      const reply = this.toQueryReply(msg)
      // Nodes we hear about fill our own table too: the table asks to ping those it has room for.
      for (const n of reply.nodes) {
        const res = this.table.seen(n, false)
        for (const p of res.ping) this.pingQuietly(p)
      }
      return reply
    }
  }

  private checkHash(h: Uint8Array, what: string): void {
    if (!(h instanceof Uint8Array) || h.length !== 20) throw new DHTError('BAD_ARGUMENT', `${what} must be 20 bytes`)
    if (!this.socket) throw new DHTError('NOT_LISTENING', 'call listen() first')
    if (this.destroyed) throw new DHTError('DESTROYED', 'the DHT node was destroyed')
  }

  /** A lookup that ran into destroy() ends with DESTROYED, not with the partial result of failed queries. */
  private checkAlive(): void {
    if (this.destroyed) throw new DHTError('DESTROYED', 'the DHT node was destroyed')
  }

  /** The K nodes closest to `target` that answered, closest first. */
  async findNode(target: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<DHTNode[]> {
    this.checkHash(target, 'target')
    const res = await traverse({
      target,
      seeds: this.seeds(target),
      query: this.queryFn('find_node', target),
      k: this.k,
      alpha: this.alpha,
      signal: opts.signal,
    })
    this.checkAlive()
    return res.closest.map((n) => ({ id: n.id, host: n.host, port: n.port }))
  }

  /** Peers for `infoHash` as they are found (de-duplicated); ends when the lookup ends. */
  async *getPeers(infoHash: Uint8Array, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Endpoint> {
    this.checkHash(infoHash, 'info hash')
    const seen = new Set<string>()
    const events = traversalEvents({
      target: infoHash,
      seeds: this.seeds(infoHash),
      query: this.queryFn('get_peers', infoHash),
      k: this.k,
      alpha: this.alpha,
      signal: opts.signal,
    })
    for await (const e of events) {
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
    const res = await traverse({
      target: infoHash,
      seeds: this.seeds(infoHash),
      query: this.queryFn('get_peers', infoHash),
      k: this.k,
      alpha: this.alpha,
      signal: opts.signal,
      onEvent: (e) => {
        if (e.type !== 'reply' || !e.reply.values) return
        for (const p of e.reply.values) {
          const key = `${p.host}|${p.port}`
          if (seen.has(key)) continue
          seen.add(key)
          peers.push(p)
          this.emit('peer', p, infoHash, { host: e.node.host, port: e.node.port })
        }
      },
    })
    this.checkAlive()
    return {
      peers,
      queries: res.queries,
      responses: res.responses,
      hops: res.hops,
      ms: this.clock.now() - start,
      closest: res.closest,
      withToken: res.withToken,
    }
  }

  /**
   * Announces that we have `infoHash` on `port` (or, with `impliedPort`, on the port this socket sends from): a
   * get_peers lookup, then announce_peer to the K closest nodes that gave a token.
   */
  async announce(
    infoHash: Uint8Array,
    opts: { port?: number; impliedPort?: boolean; signal?: AbortSignal } = {},
  ): Promise<AnnounceResult> {
    const implied = opts.impliedPort === true || opts.port === undefined
    const port = opts.port ?? 0
    if (!implied && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new DHTError('BAD_ARGUMENT', `bad port ${opts.port}`)
    }
    const look = await this.lookup(infoHash, { signal: opts.signal })
    // The K closest that gave a token, as libtorrent does: a node without one (its store is full) is skipped.
    const targets = look.withToken
    // With implied_port we still send our port (libtorrent does), for receivers that ignore implied_port.
    const sendPort = implied ? this.address().port : port
    const qo = implied ? { ...this.queryOptions, impliedPort: true } : this.queryOptions
    const results = await Promise.allSettled(
      targets.map((n) =>
        this.query(n, 'announce_peer', (t) => buildAnnouncePeerQuery(t, this._id, infoHash, n.token!, sendPort, qo), {
          signal: opts.signal,
          nodeId: n.id,
        }),
      ),
    )
    if (opts.signal?.aborted) throw abortError()
    this.checkAlive()
    return {
      nodes: results.filter((r) => r.status === 'fulfilled').length,
      queries: look.queries + targets.length,
      peers: look.peers,
    }
  }

  /** Pings a node: its id and the round-trip time. A reply also tables it. */
  async ping(node: Endpoint, opts: { signal?: AbortSignal } = {}): Promise<{ id: Uint8Array; rttMs: number }> {
    const build = (t: Uint8Array) => buildPingQuery(t, this._id, this.queryOptions)
    const { msg, rttMs } = await this.query(node, 'ping', build, { signal: opts.signal })
    return { id: copyBytes(msg.r.id), rttMs }
  }

  /** Pings a node and tables it if it replies. */
  addNode(node: Endpoint): void {
    this.pingQuietly({ host: node.host, port: node.port })
  }

  /** The nodes of our routing table (of the socket's family). */
  nodes(): DHTNode[] {
    return this.table.nodes().map((n) => ({ id: n.id, host: n.host, port: n.port }))
  }

  // ---- maintenance -------------------------------------------------------------------------------------------

  private tick(): void {
    if (this.destroyed) return
    this.ticks++
    const stale = this.table.stalest()
    if (stale) this.pingQuietly(stale)
    if (!this.refreshing && this.table.size > 0) {
      const buckets = this.table.staleBuckets()
      if (buckets.length > 0) {
        const i = buckets[0]
        this.table.touch(i)
        this.refreshing = true
        this.findNode(this.refreshTarget(i))
          .catch(() => {})
          .finally(() => {
            this.refreshing = false
          })
      }
    }
    if (this.ticks % 12 === 0) {
      this.store.sweep()
      this.limiter.sweep()
      // Few or no nodes (alone at first, or the network was down): look ourselves up again.
      if (
        this.table.size < this.k &&
        !this.refreshing &&
        (this.table.size > 0 || this.bootstrapNodes.length || this.savedNodes.length)
      ) {
        this.refreshing = true
        this.findNode(this._id)
          .catch(() => {})
          .finally(() => {
            this.refreshing = false
          })
      }
    }
  }

  /** Writes the node id and the routing table's good nodes to `path` (default: the `state` option), atomically. */
  async save(path = this.opts.state): Promise<void> {
    if (!path) throw new DHTError('BAD_ARGUMENT', 'no state path given')
    const nodes = [...this.tables[4].nodes(), ...this.tables[6].nodes()]
      .filter((n) => n.fails === 0)
      .map((n) => ({ id: n.id, host: n.host, port: n.port }))
    await saveState(path, { id: this._id, nodes })
  }

  /** Stops timers and queries, saves state (if the `state` option is set), closes the socket it opened. */
  async destroy(): Promise<void> {
    if (this.destroyed) return
    if (this.opts.state && this.socket) {
      try {
        await this.save()
      } catch (err) {
        this.emit('warning', err as Error)
      }
    }
    this.destroyed = true
    for (const t of this.timers) t.cancel()
    this.timers = []
    this.rpc.close()
    if (this.socket) {
      this.socket.setReceiver(null)
      if (this.ownSocket) await this.socket.close()
    }
  }
}

export { bytesEq }
