// Outgoing queries: transaction ids, matching replies to queries (2-byte `t` plus the source endpoint, as
// libtorrent does), the slow/hard timeouts and a cap on transactions in flight. One timer per transaction: it first
// fires at the short timeout (the traversal may open another slot) and is re-armed for the hard timeout.
import type { KrpcErrorReply, KrpcReply } from '../codec/krpc-types.js'
import type { Clock, Endpoint, Random, Timer } from '../net/types.js'
import { DHTError } from './errors.js'

export interface RpcOptions {
  clock: Clock
  random: Random
  /** Sends one datagram (counted by the caller). */
  send: (data: Uint8Array, to: Endpoint) => void
  /** Transactions in flight at most. Default 2048. */
  maxPending?: number
  /** After this a query counts as slow. Default 1,000 ms. */
  slowMs?: number
  /** After this a query has failed. Default 5,000 ms. */
  timeoutMs?: number
  /** Resends of an unanswered query (same transaction), spread between the short and the hard timeout. Default 1. */
  retries?: number
}

export interface QueryOptions {
  signal?: AbortSignal
  /** Called once when the query is slow (no reply after `slowMs`). */
  onSlow?: () => void
  /** The id we expect at that endpoint, handed back in `onOutcome` (for the routing table). */
  nodeId?: Uint8Array
}

export interface RpcReply {
  msg: KrpcReply
  rttMs: number
}

interface Pending {
  host: string
  port: number
  method: string
  sentAt: number
  timer: Timer
  slow: boolean
  /** Resends left; the packet is kept only while some are. */
  retries: number
  packet: Uint8Array | undefined
  opts: QueryOptions | undefined
  resolve: (r: RpcReply) => void
  reject: (e: unknown) => void
  done: boolean
}

/** The queries waiting on one caller's signal, and the one listener we put on it. */
interface SignalWaiters {
  pending: Set<Pending>
  onAbort: () => void
}

export type QueryOutcome = 'reply' | 'error' | 'timeout'

export class Rpc {
  private readonly pending = new Map<number, Pending>()
  /**
   * One abort listener per signal, not per query: a lookup's signal has a query per node in flight, and more than
   * ten listeners on one signal make Node warn of a leak (MaxListenersExceededWarning) where there is none.
   */
  private readonly bySignal = new Map<AbortSignal, SignalWaiters>()
  /** Random bytes for transaction ids, drawn 256 at a time. */
  private tidPool: Uint8Array = new Uint8Array(0)
  private tidAt = 0
  readonly maxPending: number
  readonly slowMs: number
  readonly timeoutMs: number
  readonly retries: number
  private closed = false
  /** A throw from `onOutcome`, caught (the node reports it as a warning). */
  onError: ((err: unknown) => void) | undefined
  /** Called after every outcome of a query (the node updates its routing table from this). */
  onOutcome:
    | ((to: Endpoint, outcome: QueryOutcome, nodeId: Uint8Array | undefined, msg?: KrpcReply) => void)
    | undefined

  constructor(private readonly opts: RpcOptions) {
    this.maxPending = opts.maxPending ?? 2048
    this.slowMs = opts.slowMs ?? 1000
    this.timeoutMs = opts.timeoutMs ?? 5000
    this.retries = opts.retries ?? 1
  }

  get inFlight(): number {
    return this.pending.size
  }

  /**
   * Sends the query `build(tid)` makes and resolves with the reply; rejects with DHTError TIMEOUT / KRPC_ERROR /
   * ABORTED / DESTROYED / TOO_MANY_PENDING.
   */
  query(to: Endpoint, method: string, build: (tid: Uint8Array) => Uint8Array, opts?: QueryOptions): Promise<RpcReply> {
    if (this.closed) return Promise.reject(new DHTError('DESTROYED', 'the DHT node was destroyed'))
    if (opts?.signal?.aborted) return Promise.reject(new DHTError('ABORTED', 'query aborted'))
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(new DHTError('TOO_MANY_PENDING', `${this.maxPending} queries already in flight`))
    }
    // Unpredictable ids: from ours, an off-path sender could otherwise guess the next and forge replies.
    let tid = this.randomTid()
    for (let i = 0; this.pending.has(tid); i++) tid = i < 8 ? this.randomTid() : (tid + 1) & 0xffff
    const t = new Uint8Array([tid >> 8, tid & 0xff])
    const packet = build(t)
    return new Promise<RpcReply>((resolve, reject) => {
      const p: Pending = {
        host: to.host,
        port: to.port,
        method,
        sentAt: this.opts.clock.now(),
        timer: this.opts.clock.setTimeout(() => this.onTimer(tid, p), this.slowMs),
        slow: false,
        retries: this.retries,
        packet: this.retries > 0 ? packet : undefined,
        opts,
        resolve,
        reject,
        done: false,
      }
      if (opts?.signal) this.watch(opts.signal, p)
      this.pending.set(tid, p)
      this.opts.send(packet, to)
    })
  }

  private onTimer(tid: number, p: Pending): void {
    const elapsed = this.opts.clock.now() - p.sentAt
    if (elapsed < this.timeoutMs) {
      if (p.retries > 0 && p.packet) {
        // Resend within the same transaction: on a lossy path one lost datagram need not lose the query.
        p.retries--
        this.opts.send(p.packet, p)
        if (p.retries === 0) p.packet = undefined
      }
      // Resends (if any) split the time between the short and the hard timeout evenly.
      const step = (this.timeoutMs - this.slowMs) / (this.retries + 1)
      const next = p.retries > 0 ? step : this.timeoutMs - elapsed
      p.timer = this.opts.clock.setTimeout(() => this.onTimer(tid, p), Math.max(1, next))
      if (!p.slow) {
        p.slow = true
        if (!p.done) {
          try {
            p.opts?.onSlow?.()
          } catch {
            // a callback's bug must not kill the timer
          }
        }
      }
      return
    }
    this.pending.delete(tid)
    this.report(p, 'timeout', p.opts?.nodeId)
    this.settle(p, undefined, new DHTError('TIMEOUT', `${p.method} to ${p.host}:${p.port} timed out`))
  }

  private randomTid(): number {
    if (this.tidAt + 2 > this.tidPool.length) {
      this.tidPool = this.opts.random.bytes(256)
      this.tidAt = 0
    }
    const v = (this.tidPool[this.tidAt] << 8) | this.tidPool[this.tidAt + 1]
    this.tidAt += 2
    return v
  }

  /** Tells the node; a throw there (a listener's bug) must not leave the query unsettled or escape a timer. */
  private report(to: Endpoint, outcome: QueryOutcome, nodeId: Uint8Array | undefined, msg?: KrpcReply): void {
    try {
      this.onOutcome?.(to, outcome, nodeId, msg)
    } catch (err) {
      this.onError?.(err)
    }
  }

  /** Settles `p` when `signal` fires. The caller stops waiting, but the transaction stays: a late reply still
   * updates the routing table. */
  private watch(signal: AbortSignal, p: Pending): void {
    let w = this.bySignal.get(signal)
    if (!w) {
      const waiters: SignalWaiters = {
        pending: new Set(),
        onAbort: () => {
          this.bySignal.delete(signal)
          for (const q of waiters.pending) this.settle(q, undefined, new DHTError('ABORTED', 'query aborted'))
        },
      }
      w = waiters
      this.bySignal.set(signal, w)
      signal.addEventListener('abort', w.onAbort, { once: true })
    }
    w.pending.add(p)
  }

  private settle(p: Pending, value: RpcReply | undefined, err?: unknown): void {
    if (p.done) return
    p.done = true
    const signal = p.opts?.signal
    const w = signal && this.bySignal.get(signal)
    if (w?.pending.delete(p) && w.pending.size === 0) {
      this.bySignal.delete(signal!)
      signal!.removeEventListener('abort', w.onAbort)
    }
    if (err !== undefined) p.reject(err)
    else p.resolve(value!)
  }

  /**
   * Matches a reply or error to its query. Returns false (and does nothing) when no query to that endpoint has
   * this transaction id: the caller counts it as unsolicited.
   */
  handle(msg: KrpcReply | KrpcErrorReply, from: Endpoint): boolean {
    const t = msg.t
    if (t.length !== 2) return false
    const tid = (t[0] << 8) | t[1]
    const p = this.pending.get(tid)
    if (!p || p.host !== from.host || p.port !== from.port) return false
    this.pending.delete(tid)
    p.timer.cancel()
    if (msg.y === 'r') {
      this.report(from, 'reply', p.opts?.nodeId, msg)
      this.settle(p, { msg, rttMs: this.opts.clock.now() - p.sentAt })
    } else {
      this.report(from, 'error', p.opts?.nodeId)
      const [code, text] = msg.e
      this.settle(p, undefined, new DHTError('KRPC_ERROR', `${p.method}: ${code} ${text}`, code))
    }
    return true
  }

  /** Fails every transaction in flight and refuses new ones. */
  close(): void {
    this.closed = true
    for (const p of this.pending.values()) {
      p.timer.cancel()
      this.settle(p, undefined, new DHTError('DESTROYED', 'the DHT node was destroyed'))
    }
    this.pending.clear()
  }
}
