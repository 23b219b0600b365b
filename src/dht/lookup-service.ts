// The lookup service: runs an iterative lookup (traversal.ts) toward a target with any query function, seeded from
// a routing table (and, while that is short of K nodes, from the saved and bootstrap nodes), with the node's K,
// alpha and lookup-diversity rule. find_node, get_peers, announce (lookups.ts) and the BEP 44 client are built on
// it; like libp2p kad-dht's query manager, it knows nothing of what a query asks.
import type { Endpoint } from '../net/types.js'
import type { DHTNode } from './options.js'
import { familyOf } from './routing.js'
import { restrictedPrefix } from './routing-table.js'
import {
  type QueryFn,
  type TraversalContact,
  type TraversalEvent,
  type TraversalResult,
  traverse,
} from './traversal.js'
import { traversalEvents } from './traversal-events.js'

/** Where lookups start when the table is short: filled in by the node at start-up. */
export interface SeedList {
  /** Nodes from the state file. */
  saved: DHTNode[]
  /** Bootstrap endpoints, resolved (both families when dual stack). */
  bootstrap: Endpoint[]
  /** Settles once the bootstrap list is resolved: a lookup started right after listen() must still have seeds. */
  ready: Promise<void>
}

/** The closest nodes a table knows (a RoutingTable). */
export interface SeedTable {
  closest(target: Uint8Array, n: number): TraversalContact[]
}

export interface LookupServiceOptions {
  k: number
  alpha: number
  /** The table of each family. */
  table: (family: 4 | 6) => SeedTable
  seeds: SeedList
  /** The main family (a run without `family`). */
  family: () => 4 | 6
  /** Lookup diversity (one candidate per /24 or /64), unless false. Default true. */
  restrictSearchIps?: boolean
  /** Our external address as voted (BEP 42): our own /24 (/64) is exempt from the diversity rule. */
  external?: () => string | undefined
}

export interface LookupRun {
  target: Uint8Array
  /** Which table seeds it and which family it walks. Default the main socket's. */
  family?: 4 | 6
  /** Asks one node; its reply names closer nodes (and carries whatever else the caller wants: token, values, v). */
  query: QueryFn
  signal?: AbortSignal
  onEvent?: (event: TraversalEvent) => void
}

export class LookupService {
  /**
   * Lookup diversity: one candidate per /24 (/64) of public addresses, unless `restrictSearchIps` is false. Our own
   * /24 (/64), by our external address as voted (BEP 42), is exempt like a LAN: the nodes next to us are not a
   * crowd someone made up, and in a network that is all one /24 the rule would leave a lookup one node to ask.
   */
  private readonly ipPrefix: ((host: string) => string | undefined) | undefined
  private ownPrefixFor: string | undefined
  private ownPrefixValue: string | undefined

  constructor(private readonly opts: LookupServiceOptions) {
    this.ipPrefix =
      opts.restrictSearchIps === false
        ? undefined
        : (host: string): string | undefined => {
            const p = restrictedPrefix(host)
            return p !== undefined && p !== this.ownPrefix() ? p : undefined
          }
  }

  get k(): number {
    return this.opts.k
  }

  private ownPrefix(): string | undefined {
    const ext = this.opts.external?.()
    if (ext !== this.ownPrefixFor) {
      this.ownPrefixFor = ext
      this.ownPrefixValue = ext === undefined ? undefined : restrictedPrefix(ext)
    }
    return this.ownPrefixValue
  }

  /** The table's closest to `target`; the saved and bootstrap nodes too while it has fewer than K. */
  seeds(target: Uint8Array, family: 4 | 6): TraversalContact[] {
    const seeds: TraversalContact[] = this.opts.table(family).closest(target, this.opts.k * 2)
    if (seeds.length < this.opts.k) {
      const s = this.opts.seeds
      for (const n of s.saved) if (familyOf(n.host) === family) seeds.push(n)
      for (const b of s.bootstrap) if (familyOf(b.host) === family) seeds.push({ host: b.host, port: b.port })
    }
    return seeds
  }

  /** One lookup, once the bootstrap names are resolved. */
  async run(o: LookupRun): Promise<TraversalResult> {
    await this.opts.seeds.ready
    return this.runNow(o)
  }

  /** One lookup with the seeds there are now (table maintenance, which runs only once the node is up). */
  runNow(o: LookupRun): Promise<TraversalResult> {
    const family = o.family ?? this.opts.family()
    return traverse({
      target: o.target,
      seeds: this.seeds(o.target, family),
      query: o.query,
      k: this.opts.k,
      alpha: this.opts.alpha,
      ipPrefix: this.ipPrefix,
      signal: o.signal,
      onEvent: o.onEvent,
    })
  }

  /**
   * One lookup as a stream of its events (every reply and failure, then the result); breaking out of the loop
   * cancels it. Seeds are taken when the stream starts, after the bootstrap names are resolved.
   */
  async *events(
    o: Omit<LookupRun, 'onEvent'>,
  ): AsyncGenerator<TraversalEvent | { type: 'done'; result: TraversalResult }> {
    await this.opts.seeds.ready
    const family = o.family ?? this.opts.family()
    yield* traversalEvents({
      target: o.target,
      seeds: this.seeds(o.target, family),
      query: o.query,
      k: this.opts.k,
      alpha: this.opts.alpha,
      ipPrefix: this.ipPrefix,
      signal: o.signal,
    })
  }
}
