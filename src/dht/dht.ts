// The public DHT class: listen / bootstrap, the receive path (rate limit → parse → serve or match), persistence and
// maintenance. Lookups live in lookups.ts, the shared state in node.ts. See docs/dht.md.
import { normalizeIP } from '../codec/ip.js'
import { buildPingQuery } from '../codec/krpc-build.js'
import { parseKrpc } from '../codec/krpc-parse.js'
import { KrpcError } from '../codec/krpc-types.js'
import type { DatagramSocket, Endpoint } from '../net/types.js'
import { UdpSocket } from '../net/udp.js'
import { resolveBootstrap } from './bootstrap.js'
import { DHTError } from './errors.js'
import { answerQuery, errorPacket, MAX_TID } from './handlers.js'
import type { AnnounceResult, LookupResult } from './lookups.js'
import { bytesEq, type DHTNode, type DHTOptions, familyOf } from './node.js'
import type { StateStorage } from './state.js'
import { FileStateStorage } from './state-file.js'
import { StorageApi } from './storage-api.js'
import { copyBytes } from './table-node.js'

export type { AnnounceResult, LookupResult }

/** Saved nodes pinged at start-up at most. */
const MAX_STARTUP_PINGS = 64
/** Default SO_RCVBUF / SO_SNDBUF of the sockets listen() binds. */
const SOCKET_BUFFER = 256 * 1024

export class DHT extends StorageApi {
  /** Sockets listen() opened (closed by destroy()). */
  private owned: DatagramSocket[] = []
  private bootstrapPromise: Promise<void> | undefined
  private readonly refreshing = { 4: false, 6: false }
  /** Self-lookups while the table is short of K nodes: the tick of the next one, and the growing pause. */
  private readonly selfLookupTick = { 4: 0, 6: 0 }
  private readonly selfBackoff = { 4: 1, 6: 1 }
  private ticks = 0
  private listening: Promise<Endpoint> | undefined
  /** Where the state is kept between runs (the `state` option), if anywhere. */
  private readonly storage: StateStorage | undefined

  constructor(opts: DHTOptions = {}) {
    super(opts)
    this.storage = typeof opts.state === 'string' ? new FileStateStorage(opts.state) : opts.state
    if (opts.socket6 && opts.socket6.family !== 6) throw new DHTError('BAD_ARGUMENT', 'socket6 must be an IPv6 socket')
    if (opts.socket6 && opts.socket && opts.socket.family !== 4)
      throw new DHTError('BAD_ARGUMENT', 'with socket6, socket must be an IPv4 socket')
    if (opts.socket) this.socket = opts.socket
    if (opts.socket6) {
      if (opts.socket) this.socket6 = opts.socket6
      else this.socket = opts.socket6
    }
  }

  /** Binds (unless a socket was given), loads the state file, and starts bootstrapping in the background. */
  listen(): Promise<Endpoint> {
    this.listening ??= this.doListen()
    return this.listening
  }

  private async doListen(): Promise<Endpoint> {
    if (this.destroyed) throw new DHTError('DESTROYED', 'the DHT node was destroyed')
    if (this.storage) {
      // A storage that can never work (a device, a FIFO, an unwritable directory) fails listen(); a bad saved
      // state is reported and ignored.
      await this.storage.check?.()
      try {
        const st = await this.storage.load()
        if (st) {
          if (!this.opts.id) this.adoptId(st.id)
          this.savedNodes = st.nodes
        }
      } catch (err) {
        this.emit('warning', err as Error)
      }
    }
    if (!this.socket) await this.bind()
    if (this.destroyed) {
      await this.closeOwned()
      throw new DHTError('DESTROYED', 'the DHT node was destroyed')
    }
    this.socket!.setReceiver((data, from) => this.onDatagram(data, from))
    this.socket6?.setReceiver((data, from) => this.onDatagram(data, from))
    this.startTimers(
      () => this.tick(),
      this.storage ? () => void this.save().catch((e) => this.emit('warning', e)) : undefined,
    )
    this.seedsReady = this.resolveBootstrap().then(
      (nodes) => {
        this.bootstrapNodes = nodes
      },
      (err: Error) => {
        this.emit('warning', err)
      },
    )
    this.bootstrapPromise = this.bootstrap()
    return this.socket!.address()
  }

  /** Binds the socket(s) the options ask for: one, or IPv4 + IPv6 on one port when it is free on both. */
  private async bind(): Promise<void> {
    const o = this.opts
    const size = o.socketBufferSize ?? SOCKET_BUFFER
    const buffers = { recvBufferSize: size, sendBufferSize: size }
    const family = o.family === 'dual' ? 4 : (o.family ?? 4)
    this.socket = await UdpSocket.bind({ host: o.host, port: o.port ?? 0, family, ...buffers })
    this.owned.push(this.socket)
    if (o.family !== 'dual') return
    const port = this.socket.address().port
    const host = o.host6 ?? '::'
    try {
      this.socket6 = await UdpSocket.bind({ host, port, family: 6, ...buffers })
    } catch (err) {
      // Taken on IPv6 (or an explicit port we must honour): an ephemeral one if we may, else give up.
      if (o.port) {
        await this.closeOwned()
        throw err
      }
      this.socket6 = await UdpSocket.bind({ host, port: 0, family: 6, ...buffers })
    }
    this.owned.push(this.socket6)
  }

  private async closeOwned(): Promise<void> {
    const owned = this.owned
    this.owned = []
    await Promise.allSettled(owned.map((s) => s.close()))
  }

  protected override idChanged(): void {
    if (this.destroyed || !this.socket) return
    this.findNode(this._id)
      .catch(() => {})
      .then(() => {
        for (const f of this.families) if (!this.destroyed) void this.refreshBuckets(f)
      })
  }

  private adoptId(id: Uint8Array): void {
    this._id = id.slice()
    this.tables[4].reset(this._id)
    this.tables[6].reset(this._id)
  }

  /** The main socket's address (the IPv4 one when dual stack). */
  address(): Endpoint {
    if (!this.socket) throw new DHTError('NOT_LISTENING', 'call listen() first')
    return this.socket.address()
  }

  /** Every socket's address: one, or IPv4 then IPv6 when dual stack. */
  addresses(): Endpoint[] {
    if (!this.socket) throw new DHTError('NOT_LISTENING', 'call listen() first')
    return this.socket6 ? [this.socket.address(), this.socket6.address()] : [this.socket.address()]
  }

  /** Resolves when the first bootstrap lookup has finished (with or without nodes). */
  async bootstrapped(): Promise<void> {
    await this.listen()
    await this.bootstrapPromise
  }

  private async bootstrap(): Promise<void> {
    await this.seedsReady
    for (const n of this.savedNodes.slice(0, MAX_STARTUP_PINGS)) this.pingQuietly(n)
    try {
      if (this.bootstrapNodes.length > 0 || this.savedNodes.length > 0) await this.findNode(this._id)
    } catch (err) {
      if (!this.destroyed) this.emit('warning', err as Error)
    }
    if (!this.destroyed) this.emit('ready')
    for (const f of this.families) void this.refreshBuckets(f)
  }

  /**
   * After the bootstrap lookup, each bucket that is not full is refreshed once, far to near, one lookup after the
   * other (Kademlia's join: "refresh all buckets further away than the closest neighbour"). The self-lookup meets
   * only the nodes next to us; without this a subtree beside ours stays unknown until the 15-minute refresh, and
   * lookups into it from us or from our neighbours end on our side of it. The bucket holding our id (the last) is
   * the self-lookup's.
   */
  private async refreshBuckets(family: 4 | 6): Promise<void> {
    const table = this.tables[family]
    if (this.refreshing[family] || table.size === 0) return
    this.refreshing[family] = true
    try {
      for (let i = 0; i < table.bucketCount - 1 && !this.destroyed; i++) {
        if (table.bucketSize(i) >= this.k) continue
        table.touch(i)
        await this.findNodeIn(family, this.refreshTarget(i)).catch(() => {})
      }
    } finally {
      this.refreshing[family] = false
    }
  }

  private async resolveBootstrap(): Promise<Endpoint[]> {
    const warn = (e: Error) => this.emit('warning', e)
    const lists = await Promise.all(this.families.map((f) => resolveBootstrap(this.opts.bootstrap ?? [], f, warn)))
    return lists.flat()
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
      msg = parseKrpc(data, { allMethods: true })
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
        const res = this.tables[familyOf(from.host)].seen({ id: msg.a.id, host: from.host, port: from.port }, false)
        for (const n of res.ping) this.pingQuietly(n)
      }
      return
    }
    if (!this.rpc.handle(msg, from)) this.drop('unsolicited')
  }

  /** Pings a node: its id and the round-trip time. A reply also tables it. */
  async ping(node: Endpoint, opts: { signal?: AbortSignal } = {}): Promise<{ id: Uint8Array; rttMs: number }> {
    const build = (t: Uint8Array) => buildPingQuery(t, this._id, this.queryOptions)
    const { msg, rttMs } = await this.query(canonical(node), 'ping', build, { signal: opts.signal })
    return { id: copyBytes(msg.r.id), rttMs }
  }

  /** Pings a node and tables it if it replies. */
  addNode(node: Endpoint): void {
    this.pingQuietly(canonical(node))
  }

  /** The nodes of our routing table(s): the main family's, then IPv6 when dual stack. */
  nodes(): DHTNode[] {
    return this.families.flatMap((f) => this.tables[f].nodes().map((n) => ({ id: n.id, host: n.host, port: n.port })))
  }

  // ---- maintenance -------------------------------------------------------------------------------------------

  private tick(): void {
    if (this.destroyed) return
    this.ticks++
    for (const f of this.families) this.maintain(f)
    if (this.ticks % 12 === 0) {
      this.store.sweep()
      this.limiter.sweep()
    }
  }

  /**
   * One family's table upkeep: ping the stalest node and verify one unconfirmed entry, refresh a stale bucket, and
   * look ourselves up again while the table is short of K nodes (after 1, 2, 4, 8, then every 12 ticks): the
   * first nodes to join a network learn of the others only that way.
   */
  private maintain(family: 4 | 6): void {
    const table = this.tables[family]
    const stale = table.stalest()
    if (stale) this.pingQuietly(stale)
    const unverified = table.unverified()
    if (unverified) this.pingQuietly(unverified)
    if (this.refreshing[family]) return
    let target: Uint8Array | undefined
    if (table.size > 0) {
      const buckets = table.staleBuckets()
      if (buckets.length > 0) {
        table.touch(buckets[0])
        target = this.refreshTarget(buckets[0])
      }
    }

    // Few or no nodes (alone at first, or the network was down): look ourselves up again, backing off.
    const short = table.size < this.k && (table.size > 0 || this.bootstrapNodes.length || this.savedNodes.length)
    if (!short) this.selfBackoff[family] = 1
    else if (!target && this.ticks >= this.selfLookupTick[family]) {
      target = this._id
      this.selfLookupTick[family] = this.ticks + this.selfBackoff[family]
      this.selfBackoff[family] = Math.min(12, this.selfBackoff[family] * 2)
    }
    if (!target) return
    this.refreshing[family] = true
    this.findNodeIn(family, target)
      .catch(() => {})
      .finally(() => {
        this.refreshing[family] = false
      })
  }

  /** Writes the node id and the routing table's good nodes to the file `path` (default: the `state` storage). */
  async save(path?: string): Promise<void> {
    const storage = path !== undefined ? new FileStateStorage(path) : this.storage
    if (!storage) throw new DHTError('BAD_ARGUMENT', 'no state path given')
    const nodes = [...this.tables[4].nodes(), ...this.tables[6].nodes()]
      .filter((n) => n.fails === 0)
      .map((n) => ({ id: n.id, host: n.host, port: n.port }))
    // Stopped before any saved node answered (a --timeout or Ctrl-C during start-up): keep what we had.
    await storage.save({ id: this._id, nodes: nodes.length > 0 ? nodes : this.savedNodes })
  }

  /** Stops timers and queries, saves state (if the `state` option is set), closes the socket it opened. */
  async destroy(): Promise<void> {
    if (this.destroyed) return
    if (this.storage && this.socket) {
      try {
        await this.save()
      } catch (err) {
        this.emit('warning', err as Error)
      }
    }
    this.destroyed = true
    this.storagePart.close()
    for (const t of this.timers) t.cancel()
    this.timers = []
    this.rpc.close()
    this.socket?.setReceiver(null)
    this.socket6?.setReceiver(null)
    await this.closeOwned()
  }
}

export { bytesEq }

/**
 * The endpoint with its address in canonical form, as replies report their source ("::FFFF:1.2.3.4" → "1.2.3.4",
 * uncompressed IPv6 compressed): otherwise the reply would not match the query. Not-an-IP is left for the query to
 * reject.
 */
function canonical(node: Endpoint): Endpoint {
  return { host: normalizeIP(node.host) ?? node.host, port: node.port }
}
