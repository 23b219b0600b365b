// The RPC layer: the node's socket(s) and everything between them and the node's parts. The receive path (rate
// limit → parse → a query to the query server, a reply or error to its transaction), the send path (counted, pooled
// buffers), and outgoing queries: transactions and timeouts (rpc.ts), the family check, per-method counts, and the
// generic `request` for any method.
import { buildPingQuery, buildQuery, type KrpcOptions } from '../codec/krpc-build.js'
import { type ParseKrpcOptions, parseKrpc } from '../codec/krpc-parse.js'
import { KrpcError, type KrpcQuery, type KrpcReply } from '../codec/krpc-types.js'
import type { Clock, DatagramSocket, Endpoint, Random } from '../net/types.js'
import { countDrop, type DHTCounters } from './counters.js'
import { DHTError } from './errors.js'
import { MAX_TID } from './handlers.js'
import type { RateLimiter } from './rate-limit.js'
import { familyOf } from './routing.js'
import { type QueryOptions, type QueryOutcome, Rpc, type RpcReply } from './rpc.js'
import { copyBytes } from './table-node.js'

/** What the RPC layer hands queries to (the query server). */
export interface QueryDispatch {
  /** The packet answering `msg`, or undefined to stay silent. */
  serve(msg: KrpcQuery, from: Endpoint): Uint8Array | undefined
  /** A KRPC error packet (for malformed queries: 203). */
  errorPacket(t: Uint8Array, from: Endpoint, code: number, text: string): Uint8Array
  readonly parseOptions: ParseKrpcOptions
}

export interface RpcLayerOptions {
  clock: Clock
  random: Random
  counters: DHTCounters
  limiter: RateLimiter
  server: QueryDispatch
  /** BEP 43: we answer no queries. */
  readOnly: boolean
  /** Envelope options of our queries (`v`, BEP 43 `ro`). */
  queryOptions: KrpcOptions
  /** Our current id (BEP 42 may change it). */
  ownId: () => Uint8Array
  /** The family of the main socket before there is one. */
  defaultFamily: 4 | 6
  /** A node that may be tabled queried us. */
  onQueried: (from: Endpoint, id: Uint8Array) => void
  /** What one of our queries came to (the routing tables learn from it). */
  onOutcome: (to: Endpoint, outcome: QueryOutcome, nodeId: Uint8Array | undefined, msg?: KrpcReply) => void
  warn: (err: Error) => void
  maxPending?: number
  slowMs?: number
  timeoutMs?: number
  retries?: number
}

/** A reply to `request()`: the responder's id, the whole `r` dict, and where it came from. */
export interface QueryResponse {
  id: Uint8Array
  r: Readonly<Record<string, unknown>>
  from: Endpoint
}

export class RpcLayer {
  /** The main socket (its family is `family`). */
  private socket: DatagramSocket | undefined
  /** The IPv6 socket next to an IPv4 main socket (dual stack), if any. */
  private socket6: DatagramSocket | undefined
  private closed = false
  private readonly transactions: Rpc

  constructor(private readonly opts: RpcLayerOptions) {
    this.transactions = new Rpc({
      clock: opts.clock,
      random: opts.random,
      send: (data, to) => this.send(data, to),
      maxPending: opts.maxPending,
      slowMs: opts.slowMs,
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
    })
    this.transactions.onOutcome = (to, outcome, nodeId, msg) => {
      const c = opts.counters
      if (outcome === 'timeout') c.timeouts++
      else if (outcome === 'error') c.errorsIn++
      else c.repliesIn++
      opts.onOutcome(to, outcome, nodeId, msg)
    }
    this.transactions.onError = (err) => opts.warn(err instanceof Error ? err : new Error(String(err)))
  }

  /** Sets the socket(s); `socket6` only next to an IPv4 `socket` (dual stack). */
  attach(socket: DatagramSocket, socket6?: DatagramSocket): void {
    this.socket = socket
    this.socket6 = socket6
  }

  /** Starts receiving. */
  start(): void {
    this.socket?.setReceiver((data, from) => this.onDatagram(data, from))
    this.socket6?.setReceiver((data, from) => this.onDatagram(data, from))
  }

  get attached(): boolean {
    return this.socket !== undefined
  }

  get dualStack(): boolean {
    return this.socket6 !== undefined
  }

  /** The main socket's family (IPv4 when dual stack). */
  get family(): 4 | 6 {
    return this.socket ? (this.socket.family === 6 ? 6 : 4) : this.opts.defaultFamily
  }

  /** The families we have a socket for: one, or both when dual stack. */
  get families(): Array<4 | 6> {
    return this.socket6 ? [4, 6] : [this.family]
  }

  /** The socket that talks to `family`, if we have one. */
  socketFor(family: 4 | 6): DatagramSocket | undefined {
    if (this.socket?.family === family) return this.socket
    return family === 6 ? this.socket6 : undefined
  }

  /** The main socket, then the IPv6 one when dual stack. */
  sockets(): DatagramSocket[] {
    if (!this.socket) return []
    return this.socket6 ? [this.socket, this.socket6] : [this.socket]
  }

  get inFlight(): number {
    return this.transactions.inFlight
  }

  send(data: Uint8Array, to: Endpoint): void {
    const socket = this.socketFor(familyOf(to.host))
    if (!socket || this.closed) return
    this.opts.counters.packetsOut++
    this.opts.counters.bytesOut += data.length
    socket.send(pooled(data), to)
  }

  /** Sends the query `build(tid)` makes (counted by method). */
  query(to: Endpoint, method: string, build: (tid: Uint8Array) => Uint8Array, opts?: QueryOptions): Promise<RpcReply> {
    if (!this.socket) return Promise.reject(new DHTError('NOT_LISTENING', 'call listen() first'))
    if (!this.socketFor(familyOf(to.host))) {
      const have = this.families.map((f) => `IPv${f}`).join('/')
      return Promise.reject(new DHTError('BAD_ADDRESS', `${to.host}: this node runs on ${have} only`))
    }
    const c = this.opts.counters.queriesOut
    c[method] = (c[method] ?? 0) + 1
    return this.transactions.query(to, method, build, opts)
  }

  /**
   * Any method: `args` is the `a` dict without `id` (added here, with `v` and `ro` as configured). Resolves with the
   * reply; rejects with DHTError KRPC_ERROR (and the remote's `krpcCode`), TIMEOUT, ABORTED, BAD_ARGUMENT, ….
   */
  async request(
    to: Endpoint,
    method: string,
    args: Readonly<Record<string, unknown>>,
    opts: { signal?: AbortSignal; nodeId?: Uint8Array } = {},
  ): Promise<QueryResponse> {
    const msg = await this.requestReply(to, method, args, opts)
    return { id: copyBytes(msg.r.id), r: msg.r, from: { host: to.host, port: to.port } }
  }

  /** `request` with the parsed reply as it came (for query functions of lookups: `onSlow` passes through). */
  async requestReply(
    to: Endpoint,
    method: string,
    args: Readonly<Record<string, unknown>>,
    opts: QueryOptions = {},
  ): Promise<KrpcReply> {
    if (typeof method !== 'string' || method.length === 0) throw new DHTError('BAD_ARGUMENT', 'empty method name')
    const qo = this.opts.queryOptions
    // biome-ignore lint/suspicious/noExplicitAny: the encoder checks every value (a bad one throws, caught below)
    const a: any = { ...args, id: this.opts.ownId() }
    let packet: (tid: Uint8Array) => Uint8Array
    try {
      buildQuery(new Uint8Array(2), method, a, qo) // fails here, not inside the transaction, on unencodable args
      packet = (t) => buildQuery(t, method, a, qo)
    } catch (err) {
      throw new DHTError('BAD_ARGUMENT', `cannot encode ${method} arguments: ${(err as Error).message}`)
    }
    const { msg } = await this.query(to, method, packet, opts)
    return msg
  }

  /** Pings a node for table maintenance; the reply tables it, a timeout counts against it. */
  pingQuietly(node: Endpoint & { id?: Uint8Array }): void {
    const t = this.transactions
    if (this.closed || t.inFlight > t.maxPending / 2) return
    const id = this.opts.ownId()
    this.query(node, 'ping', (tid) => buildPingQuery(tid, id, this.opts.queryOptions), { nodeId: node.id }).catch(
      () => {},
    )
  }

  /** Fails every query in flight, stops receiving and sending. The sockets are the caller's to close. */
  close(): void {
    this.closed = true
    this.transactions.close()
    for (const s of this.sockets()) s.setReceiver(null)
  }

  private onDatagram(data: Uint8Array, from: Endpoint): void {
    const c = this.opts.counters
    c.packetsIn++
    c.bytesIn += data.length
    if (this.closed) return
    // A Buffer's slice() is a view, not a copy: as a plain Uint8Array every slice() we keep (ids, tokens) is a
    // real copy, and no kept id pins a whole datagram in memory.
    if (data.constructor !== Uint8Array) data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    try {
      this.receive(data, from)
    } catch (err) {
      // Nothing a peer sends may escape the handler; a throw here is our bug, counted and reported.
      countDrop(c, 'handler_error')
      this.opts.warn(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private receive(data: Uint8Array, from: Endpoint): void {
    const c = this.opts.counters
    if (data.length < 2 || data[0] !== 0x64 || data[data.length - 1] !== 0x65) return countDrop(c, 'not_krpc')
    // Every node on one machine shares 127.0.0.1: there, a source is an IP:port; elsewhere an IP.
    const key = from.host.startsWith('127.') || from.host === '::1' ? `${from.host}|${from.port}` : from.host
    if (!this.opts.limiter.allow(key)) return countDrop(c, 'rate_limited')
    const server = this.opts.server
    let msg: ReturnType<typeof parseKrpc>
    try {
      msg = parseKrpc(data, server.parseOptions)
    } catch (err) {
      countDrop(c, 'malformed')
      if (err instanceof KrpcError && err.shouldReply && !this.opts.readOnly && err.tid!.length <= MAX_TID) {
        this.send(server.errorPacket(err.tid!, from, err.krpcCode, err.reason), from)
      }
      return
    }
    if (msg.y === 'q') {
      if (this.opts.readOnly) return countDrop(c, 'read_only')
      if (msg.t.length > MAX_TID || msg.t.length === 0) return countDrop(c, 'bad_tid')
      const out = server.serve(msg, from)
      if (out) this.send(out, from)
      if (!msg.ro && msg.a.id.length === 20) this.opts.onQueried(from, msg.a.id)
      return
    }
    if (!this.transactions.handle(msg, from)) countDrop(c, 'unsolicited')
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
