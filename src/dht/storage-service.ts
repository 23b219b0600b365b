// The storage part of a DHT node: it owns the BEP 44 item store, the BEP 51 sampler and the republisher, frames
// the storage handlers' answers as packets, and gives the client functions (storage-client.ts, crawl.ts,
// scrape-filter.ts) their transport over the node's lookups and queries. The node reaches it through `serve`
// (incoming get/put/sample_infohashes) and the facade's thin methods through `transport`.
import type { BEncodable } from '../codec/bencode.js'
import { buildGetReply, buildPutReply } from '../codec/bep44-build.js'
import { buildSampleInfohashesReply } from '../codec/bep51.js'
import { buildErrorReply, buildQuery } from '../codec/krpc-build.js'
import type { KrpcQuery, KrpcReply, ReplyValues } from '../codec/krpc-types.js'
import type { Clock, Endpoint, Random } from '../net/types.js'
import { InfohashSampler } from './infohash-sampler.js'
import { ItemStore, type ItemStoreOptions } from './item-store.js'
import type { PeerStore } from './peer-store.js'
import { Republisher } from './republish.js'
import type { LookupOutcome, LookupSpec, PutResult, StorageTransport } from './storage-client.js'
import { putItem } from './storage-client.js'
import {
  type ClosestCompact,
  isRefusal,
  type StorageServeContext,
  serveGet,
  servePut,
  serveSampleInfohashes,
} from './storage-handlers.js'
import type { QueryFn, QueryReply, TraversalResult } from './traversal.js'

/** What the node lends the storage part. */
export interface StorageHost {
  readonly id: Uint8Array
  readonly clock: Clock
  readonly random: Random
  readonly peers: PeerStore
  readonly tokens: StorageServeContext['tokens']
  readonly closestCompact: ClosestCompact
  /** The `v` and `ro` of our queries. */
  readonly queryOptions: { v?: Uint8Array | string; ro?: boolean }
  /** The `v` of our replies. */
  readonly version: Uint8Array
  /** Sends a query built by `build(tid)`; resolves with the reply (errors reject with DHTError). */
  sendQuery(
    node: Endpoint,
    method: string,
    build: (tid: Uint8Array) => Uint8Array,
    opts: { signal?: AbortSignal; onSlow?: () => void; nodeId?: Uint8Array },
  ): Promise<{ msg: KrpcReply }>
  /** Turns a reply into what a lookup needs (closer nodes of `family`, token). */
  toQueryReply(msg: KrpcReply, family: 4 | 6, from: Endpoint): QueryReply
  /** A lookup per address family with a query function per family. */
  runLookup(target: Uint8Array, query: (family: 4 | 6) => QueryFn, signal?: AbortSignal): Promise<TraversalResult[]>
  drop(reason: string): void
}

/** The query methods this part answers (registered with the query server). */
export const STORAGE_QUERY_METHODS = ['get', 'put', 'sample_infohashes'] as const

export interface StorageServiceOptions {
  /** Item store limits (`maxItems`, `maxBytes`, `maxPerIp`, `maxPerPrefix`, `ttlMs`). */
  items?: Omit<ItemStoreOptions, 'clock'>
  /** BEP 51 interval in seconds (default 21600). */
  sampleIntervalSeconds?: number
  /** How often items this node put are put again. Default 1 hour (BEP 44). */
  republishMs?: number
}

export class StorageService {
  readonly items: ItemStore
  readonly sampler: InfohashSampler
  readonly republisher: Republisher
  readonly transport: StorageTransport
  private readonly ctx: StorageServeContext

  constructor(
    private readonly host: StorageHost,
    opts: StorageServiceOptions = {},
    onError: (err: unknown) => void = () => {},
  ) {
    this.items = new ItemStore({ clock: host.clock, ...opts.items })
    this.sampler = new InfohashSampler({
      clock: host.clock,
      random: host.random,
      intervalSeconds: opts.sampleIntervalSeconds,
    })
    this.ctx = {
      items: this.items,
      peers: host.peers,
      sampler: this.sampler,
      tokens: host.tokens,
      closestCompact: host.closestCompact,
      drop: (r) => host.drop(r),
    }
    this.transport = {
      lookup: (spec) => this.lookup(spec),
      query: async (node, method, args, o) => {
        const { msg } = await host.sendQuery(node, method, (t) => this.build(t, method, args), {
          signal: o?.signal,
        })
        return { id: msg.r.id, r: msg.r }
      },
    }
    this.republisher = new Republisher(
      host.clock,
      (target, args): Promise<PutResult> => putItem(this.transport, target, args),
      opts.republishMs,
      onError,
    )
  }

  /** The packet answering a storage query (`get`, `put`, `sample_infohashes`), or undefined for other methods. */
  serve(msg: KrpcQuery, from: Endpoint): Uint8Array | undefined {
    if (!msg.known) return undefined
    const o = { v: this.host.version, ip: from }
    const id = this.host.id
    switch (msg.q) {
      case 'get':
        return buildGetReply(msg.t, id, serveGet(this.ctx, msg.a, from), o)
      case 'put': {
        const r = servePut(this.ctx, msg.a, from)
        if (isRefusal(r)) return buildErrorReply(msg.t, [r.krpcCode, r.text], o)
        return buildPutReply(msg.t, id, o)
      }
      case 'sample_infohashes':
        return buildSampleInfohashesReply(msg.t, id, serveSampleInfohashes(this.ctx, msg.a, from), o)
      default:
        return undefined
    }
  }

  close(): void {
    this.republisher.close()
  }

  private build(tid: Uint8Array, method: string, args: Record<string, BEncodable>): Uint8Array {
    return buildQuery(tid, method, { id: this.host.id, ...args }, this.host.queryOptions)
  }

  private async lookup(spec: LookupSpec): Promise<LookupOutcome> {
    const host = this.host
    const res = await host.runLookup(
      spec.target,
      (family) => async (node, qctx) => {
        const { msg } = await host.sendQuery(node, spec.method, (t) => this.build(t, spec.method, spec.args), {
          signal: qctx.signal,
          onSlow: qctx.onSlow,
          nodeId: node.id,
        })
        const reply = host.toQueryReply(msg, family, node)
        spec.onReply?.({ host: node.host, port: node.port, id: reply.id }, msg.r as ReplyValues)
        return reply
      },
      spec.signal,
    )
    const byDistance = (list: TraversalResult['closest'][]) => list.flat()
    return {
      closest: byDistance(res.map((r) => r.closest)),
      withToken: byDistance(res.map((r) => r.withToken)),
      queries: res.reduce((n, r) => n + r.queries, 0),
    }
  }
}
