// The DHT's BEP 44 / 51 / 33 methods: thin calls into the storage client (storage-client.ts), the crawler
// (crawl.ts), scrape (scrape-filter.ts) and the republisher, over the storage part (storage-service.ts) that
// this layer builds from the node's lookups and queries.
import type { BEncodable } from '../codec/bencode.js'
import type { KrpcQuery } from '../codec/krpc-types.js'
import type { Endpoint } from '../net/types.js'
import { type LocalKeypair, generateKeypair as makeKeypair } from './bep44-crypto.js'
import { type CrawlOptions, crawl, type SampleResult, sampleInfohashes } from './crawl.js'
import { DHTError } from './errors.js'
import { nodesFor } from './handlers.js'
import { DHTLookups } from './lookups.js'
import type { DHTOptions } from './node.js'
import { scrape } from './scrape-filter.js'
import {
  type GetMutableOptions,
  getImmutable,
  getMutable,
  getMutableItems,
  type ImmutableGetResult,
  type MutableGetResult,
  type MutableItemResult,
  type PutMutableOptions,
  type PutResult,
  putImmutable,
  putMutable,
} from './storage-client.js'
import { StorageService } from './storage-service.js'

/** Options of a put: `republish` (default true) keeps the item alive, put again every hour until `unpublish`. */
export interface PutOptions {
  signal?: AbortSignal
  republish?: boolean
}

export class StorageApi extends DHTLookups {
  /** The BEP 44 / 51 part: item store, sampler, republisher, and the client's transport. */
  protected readonly storagePart: StorageService

  constructor(opts: DHTOptions = {}) {
    super(opts)
    const node = this
    this.storagePart = new StorageService(
      {
        get id() {
          return node._id
        },
        clock: this.clock,
        random: this.random,
        peers: this.store,
        tokens: this.tokens,
        closestCompact: (target, want, from) => nodesFor(this, target, want, from),
        queryOptions: this.queryOptions,
        version: this.version,
        sendQuery: (to, method, build, o) => this.query(to, method, build, o),
        toQueryReply: (msg, family, from) => this.toQueryReply(msg, family, from),
        runLookup: (target, query, signal) => this.runLookup(target, query, signal),
        drop: (r) => this.drop(r),
      },
      opts.storage,
      (err) => this.emit('warning', err instanceof Error ? err : new Error(String(err))),
    )
  }

  /** Answers BEP 44 `get`/`put` and BEP 51 `sample_infohashes` (the query handlers call it). */
  serveStorage(msg: KrpcQuery, from: Endpoint): Uint8Array | undefined {
    return this.storagePart.serve(msg, from)
  }

  /**
   * Stores `value` (anything bencodable, 1-1000 bytes encoded) as a BEP 44 immutable item on the K nodes closest
   * to its SHA-1, the target. Resolves with the target and how many nodes stored it.
   */
  async putImmutable(value: BEncodable, opts: PutOptions = {}): Promise<PutResult> {
    this.checkAlive()
    const { result, args } = await putImmutable(this.storagePart.transport, value, opts)
    if (opts.republish !== false) this.storagePart.republisher.keep(result.target, args)
    return result
  }

  /** The immutable item under `target`: `value` when found (it hashes to the target), `discarded` otherwise. */
  getImmutable(target: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<ImmutableGetResult> {
    this.checkAlive()
    return getImmutable(this.storagePart.transport, target, opts)
  }

  /**
   * Signs and stores a BEP 44 mutable item under the public key (and salt). `seq` defaults to one more than the
   * newest found; meeting a newer one fails with StorageConflictError (`SEQ_TOO_LOW`, carrying it).
   */
  async putMutable(opts: PutMutableOptions & { republish?: boolean }): Promise<PutResult> {
    this.checkAlive()
    const { result, args } = await putMutable(this.storagePart.transport, opts)
    if (opts.republish !== false) this.storagePart.republisher.keep(result.target, args)
    return result
  }

  /** The newest validly signed item under `publicKey` (and salt) among the K closest nodes. */
  getMutable(publicKey: Uint8Array, opts: GetMutableOptions = {}): Promise<MutableGetResult> {
    this.checkAlive()
    return getMutable(this.storagePart.transport, publicKey, opts)
  }

  /** Verified mutable items as they arrive, each newer than the last. */
  getMutableItems(publicKey: Uint8Array, opts: GetMutableOptions = {}): AsyncGenerator<MutableItemResult> {
    this.checkAlive()
    return getMutableItems(this.storagePart.transport, publicKey, opts)
  }

  /** Stops republishing an item this node put; true if it was being republished. */
  unpublish(target: Uint8Array): boolean {
    return this.storagePart.republisher.stop(target)
  }

  /** An Ed25519 keypair for mutable items, from a 32-byte seed or from our random source. */
  generateKeypair(seed?: Uint8Array): LocalKeypair {
    try {
      return makeKeypair(seed, this.random)
    } catch (err) {
      throw new DHTError('BAD_ARGUMENT', (err as Error).message)
    }
  }

  /** BEP 51: a sample of the info hashes `node` stores, and when to ask it again. */
  sampleInfohashes(node: Endpoint, opts: { signal?: AbortSignal } = {}): Promise<SampleResult> {
    this.checkAlive()
    return sampleInfohashes(this.storagePart.transport, node, this.random.bytes(20), opts)
  }

  /** BEP 51: info hashes across the DHT as they are found, each once; never asks a node before its interval. */
  crawl(opts: CrawlOptions = {}): AsyncGenerator<Uint8Array> {
    this.checkAlive()
    return crawl(
      {
        transport: this.storagePart.transport,
        clock: this.clock,
        random: this.random,
        seeds: () => this.families.flatMap((f) => this.tables[f].nodes()),
      },
      opts,
    )
  }

  /** BEP 33: estimated seeds and downloaders of `infoHash` from the K closest nodes' bloom filters. */
  scrape(
    infoHash: Uint8Array,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ seeds: number; peers: number; nodes: number }> {
    this.checkHash(infoHash, 'info hash')
    return scrape(this.storagePart.transport, infoHash, opts)
  }
}
