// Iterative Kademlia lookup over a query function. It never touches a socket: the node passes a function that
// sends find_node / get_peers and resolves with the reply, so tests drive it with a fake topology.
//
// As libtorrent's traversal_algorithm: keep the candidates sorted by XOR distance (at most `maxCandidates`), keep
// `alpha` queries in flight among the closest not yet asked, let a slow query (the query function calls `onSlow`,
// ~1 s) give its slot to a new one while still waiting for it, and stop only when the `k` closest candidates have
// all replied or failed.
import { setMaxListeners } from 'node:events'
import { compareDistance } from '../codec/node-id.js'
import type { Endpoint } from '../net/types.js'
import { abortError, DHTError } from './errors.js'

/** A node to ask. `id` is unknown for bootstrap endpoints; those are asked first. */
export interface TraversalContact {
  id?: Uint8Array
  host: string
  port: number
}

/** What a queried node told us. */
export interface QueryReply {
  /** The responder's id. */
  id: Uint8Array
  /** Nodes it says are closer (already filtered to our family and parsed). */
  nodes: ReadonlyArray<{ id: Uint8Array; host: string; port: number }>
  /** Peers (get_peers only). */
  values?: readonly Endpoint[]
  /** Announce token (get_peers only). */
  token?: Uint8Array
}

export interface QueryContext {
  /** Fires when the lookup is cancelled; the query may stop waiting. */
  signal: AbortSignal
  /** Call once the query is slow (no reply after ~1 s): its slot goes to another node but the reply still counts. */
  onSlow: () => void
}

export type QueryFn = (node: TraversalContact, ctx: QueryContext) => Promise<QueryReply>

export type TraversalEvent =
  | { type: 'reply'; node: Endpoint & { id: Uint8Array }; reply: QueryReply; hop: number }
  | { type: 'failure'; node: TraversalContact; error: unknown }

/** A candidate in the result set, with the token it gave (get_peers). */
export interface ClosestNode {
  id: Uint8Array
  host: string
  port: number
  token?: Uint8Array
}

export interface TraversalResult {
  /** The `k` closest nodes that replied, closest first. */
  closest: ClosestNode[]
  /** The `k` closest nodes that replied with a token (the announce targets), closest first. */
  withToken: ClosestNode[]
  queries: number
  responses: number
  failures: number
  /** Longest chain of referrals among the replying nodes (seeds are hop 0). */
  hops: number
}

export interface TraversalOptions {
  target: Uint8Array
  seeds: readonly TraversalContact[]
  query: QueryFn
  /** Replies needed from the closest nodes before stopping. Default 8. */
  k?: number
  /** Queries in flight (slow ones excepted). Default 4. */
  alpha?: number
  /** Candidates kept, closest first. Default 100. */
  maxCandidates?: number
  /** Hard cap on queries sent by one lookup. Default 500. */
  maxQueries?: number
  /**
   * Lookup diversity (libtorrent's `dht_restrict_search_ips`): the prefix a learned node's address counts under
   * (its /24 or /64), or undefined when exempt; at most one candidate per prefix. Default none (no restriction).
   */
  ipPrefix?: (host: string) => string | undefined
  /** Which learned nodes to consider (e.g. not ourselves, the right family). Default all. */
  filter?: (node: { id: Uint8Array; host: string; port: number }) => boolean
  /** Progress, as it happens. */
  onEvent?: (event: TraversalEvent) => void
  signal?: AbortSignal
}

const NEW = 0
const IN_FLIGHT = 1
const REPLIED = 2
const FAILED = 3

interface Candidate {
  id: Uint8Array | undefined
  host: string
  port: number
  state: number
  slow: boolean
  hop: number
  token: Uint8Array | undefined
  /** Its address prefix while it holds that prefix's place (lookup diversity). */
  prefix: string | undefined
}

export const DEFAULT_ALPHA = 4

/** Runs one lookup to completion. Rejects with `DHTError('ABORTED')` when `signal` fires. */
export function traverse(opts: TraversalOptions): Promise<TraversalResult> {
  return new Traversal(opts).run()
}

class Traversal {
  private readonly target: Uint8Array
  private readonly k: number
  private readonly alpha: number
  private readonly maxCandidates: number
  private readonly maxQueries: number
  private readonly sorted: Candidate[] = []
  private readonly unknown: Candidate[] = []
  private readonly seen = new Set<string>()
  /** Address prefixes of the candidates in `sorted` (with `ipPrefix`), each with the candidate holding it. */
  private readonly prefixes = new Map<string, Candidate>()
  private readonly controller = new AbortController()
  private queries = 0
  private responses = 0
  private failures = 0
  private finished = false
  private resolve!: (r: TraversalResult) => void
  private reject!: (e: unknown) => void

  constructor(private readonly opts: TraversalOptions) {
    this.target = opts.target
    this.k = opts.k ?? 8
    this.alpha = opts.alpha ?? DEFAULT_ALPHA
    this.maxCandidates = opts.maxCandidates ?? 100
    this.maxQueries = opts.maxQueries ?? 500
    // Every query in flight listens on this signal, and slow ones stay in flight until they answer or fail.
    setMaxListeners(this.maxQueries, this.controller.signal)
  }

  run(): Promise<TraversalResult> {
    return new Promise<TraversalResult>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
      const signal = this.opts.signal
      if (signal?.aborted) return this.fail(abortError())
      signal?.addEventListener('abort', this.onAbort, { once: true })
      for (const s of this.opts.seeds) this.addCandidate(s, 0)
      this.step()
    })
  }

  private readonly onAbort = (): void => this.fail(abortError())

  private fail(err: DHTError): void {
    if (this.finished) return
    this.finished = true
    this.controller.abort()
    this.opts.signal?.removeEventListener('abort', this.onAbort)
    this.reject(err)
  }

  private addCandidate(c: TraversalContact, hop: number): void {
    let prefix: string | undefined
    const ek = `${c.host}|${c.port}`
    if (this.seen.has(ek)) return
    if (c.id !== undefined) {
      const node = c as { id: Uint8Array; host: string; port: number }
      if (this.opts.filter && !this.opts.filter(node)) return
      const ik = idKey(c.id)
      if (this.seen.has(ik)) return
      // One node per /24 (/64) in a lookup: a crowd of ids from one network cannot take over its closest set.
      prefix = this.opts.ipPrefix?.(c.host)
      if (prefix !== undefined) {
        const holder = this.prefixes.get(prefix)
        // The /24 (/64) keeps one place, taken by the closest of its nodes we have not asked yet: a far node
        // named early in the lookup must not keep out a near one named later.
        if (holder && (holder.state !== NEW || compareDistance(this.target, holder.id!, c.id) < 0)) return
        if (holder) this.release(holder)
      }
      this.seen.add(ik)
    }
    this.seen.add(ek)
    const cand: Candidate = {
      id: c.id,
      host: c.host,
      port: c.port,
      state: NEW,
      slow: false,
      hop,
      token: undefined,
      prefix: undefined,
    }
    if (c.id === undefined) {
      this.unknown.push(cand)
      return
    }
    if (this.insertSorted(cand) && prefix !== undefined) {
      cand.prefix = prefix
      this.prefixes.set(prefix, cand)
    }
  }

  /** Takes a candidate we have not asked out of the lookup, giving up its prefix's place. */
  private release(c: Candidate): void {
    const at = this.sorted.indexOf(c)
    if (at >= 0) this.sorted.splice(at, 1)
    if (c.prefix !== undefined) this.prefixes.delete(c.prefix)
    c.prefix = undefined
  }

  /** Inserts by distance; false when it is too far to keep. */
  private insertSorted(cand: Candidate): boolean {
    const list = this.sorted
    const id = cand.id!
    // Binary search for the insertion point.
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compareDistance(this.target, list[mid].id!, id) < 0) lo = mid + 1
      else hi = mid
    }
    if (lo >= this.maxCandidates) return false
    list.splice(lo, 0, cand)
    if (list.length > this.maxCandidates) {
      // Drop the farthest candidate that is not waited on.
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i].state === NEW || list[i].state === FAILED) {
          const [gone] = list.splice(i, 1)
          if (gone === cand) return false
          if (gone.prefix !== undefined) this.prefixes.delete(gone.prefix)
          break
        }
      }
    }
    return true
  }

  private launch(c: Candidate): void {
    c.state = IN_FLIGHT
    this.queries++
    const ctx: QueryContext = {
      signal: this.controller.signal,
      onSlow: () => {
        if (c.state !== IN_FLIGHT || c.slow) return
        c.slow = true
        this.step()
      },
    }
    let p: Promise<QueryReply>
    try {
      p = this.opts.query({ id: c.id, host: c.host, port: c.port }, ctx)
    } catch (err) {
      p = Promise.reject(err)
    }
    p.then(
      (reply) => this.onReply(c, reply),
      (err) => this.onFailure(c, err),
    )
  }

  private onReply(c: Candidate, reply: QueryReply): void {
    if (this.finished) return
    if (c.id !== undefined && idKey(c.id) !== idKey(reply.id) && !this.reposition(c, reply.id)) {
      // Its real id is already in the lookup (or filtered out): the nodes it names are still worth asking.
      for (const n of reply.nodes) this.addCandidate(n, c.hop + 1)
      this.onFailure(c, new DHTError('WRONG_ID', `${c.host}:${c.port} answered under another id`))
      return
    }
    this.responses++
    c.state = REPLIED
    c.token = reply.token
    if (c.id === undefined) {
      // A bootstrap endpoint: now that we know its id it takes its place by distance.
      c.id = reply.id
      const ik = idKey(reply.id)
      if (!this.seen.has(ik)) {
        this.seen.add(ik)
        if (!this.opts.filter || this.opts.filter({ id: reply.id, host: c.host, port: c.port })) this.insertSorted(c)
      }
    }
    this.emit({ type: 'reply', node: { id: c.id, host: c.host, port: c.port }, reply, hop: c.hop })
    for (const n of reply.nodes) this.addCandidate(n, c.hop + 1)
    this.step()
  }

  /**
   * A node listed under one id answered under another (restarted, or listed falsely): it is not the node at the
   * listed distance, and takes the place of its own id instead. False when that id is already in the lookup.
   */
  private reposition(c: Candidate, id: Uint8Array): boolean {
    const ik = idKey(id)
    if (this.seen.has(ik)) return false
    if (this.opts.filter && !this.opts.filter({ id, host: c.host, port: c.port })) return false
    this.seen.add(ik)
    const at = this.sorted.indexOf(c)
    if (at >= 0) this.sorted.splice(at, 1)
    c.id = id
    c.state = REPLIED
    if (!this.insertSorted(c) && c.prefix !== undefined) {
      this.prefixes.delete(c.prefix)
      c.prefix = undefined
    }
    return true
  }

  private onFailure(c: Candidate, error: unknown): void {
    if (this.finished) return
    this.failures++
    c.state = FAILED
    this.emit({ type: 'failure', node: { id: c.id, host: c.host, port: c.port }, error })
    this.step()
  }

  private emit(e: TraversalEvent): void {
    if (!this.opts.onEvent) return
    try {
      this.opts.onEvent(e)
    } catch {
      // A listener's bug must not wedge the lookup.
    }
  }

  private step(): void {
    if (this.finished) return
    let inFlight = 0
    // Queries in flight that block the end: fresh ones always, slow ones only while nothing has replied yet.
    let waiting = false
    let slowPending = false
    for (const c of this.unknown) {
      if (c.state === IN_FLIGHT) {
        if (c.slow) slowPending = true
        else {
          waiting = true
          inFlight++
        }
      }
    }
    for (const c of this.sorted) {
      if (c.state !== IN_FLIGHT) continue
      if (c.slow) slowPending = true
      else inFlight++
    }
    for (const c of this.unknown) {
      if (inFlight >= this.alpha || this.queries >= this.maxQueries) break
      if (c.state === NEW) {
        this.launch(c)
        inFlight++
        waiting = true
      }
      if (this.finished) return
    }
    // Walk the closest candidates, asking new ones while slots are free, until k of them have replied. A query
    // in flight (and not slow) counts as a reply to come: nodes beyond the k closest that have replied or will
    // are not asked, so the last round sends no queries it does not need. A slow query (past the short timeout)
    // gives its slot and its place in the count to the next candidate, but while it is among the k closest the
    // lookup waits for its answer or its failure (BEP 5's "until no closer nodes are found" needs the closest).
    let replied = 0
    let covered = 0
    let done = true
    for (const c of this.sorted) {
      if (replied >= this.k) break
      if (c.state === REPLIED) {
        replied++
        covered++
        continue
      }
      if (c.state === FAILED) continue
      if (c.state === IN_FLIGHT) {
        // Fresh or slow, a node among the k closest is waited for until it answers or fails: a lookup that ends
        // without it has not reached the closest nodes. A slow one has given its slot away (not `covered`).
        done = false
        if (!c.slow) covered++
        continue
      }
      if (this.queries >= this.maxQueries) continue
      done = false
      if (covered >= this.k) break
      if (inFlight < this.alpha) {
        this.launch(c)
        inFlight++
        covered++
        if (this.finished) return
      }
    }
    if (done && !waiting && !(slowPending && this.responses === 0)) this.finish()
  }

  private finish(): void {
    this.finished = true
    this.opts.signal?.removeEventListener('abort', this.onAbort)
    const closest: ClosestNode[] = []
    const withToken: ClosestNode[] = []
    let hops = 0
    for (const c of this.sorted) {
      if (c.state !== REPLIED) continue
      const n: ClosestNode = { id: c.id!, host: c.host, port: c.port }
      if (c.token) n.token = c.token
      if (closest.length < this.k) {
        closest.push(n)
        if (c.hop > hops) hops = c.hop
      }
      if (c.token && withToken.length < this.k) withToken.push(n)
      if (closest.length >= this.k && withToken.length >= this.k) break
    }
    this.resolve({
      closest,
      withToken,
      queries: this.queries,
      responses: this.responses,
      failures: this.failures,
      hops,
    })
  }
}

function idKey(id: Uint8Array): string {
  let s = '#'
  for (let i = 0; i < id.length; i++) s += String.fromCharCode(id[i])
  return s
}
