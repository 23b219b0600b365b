// The DHT's BEP 44 / 51 / 33 methods (the facade forwards to these): calls into the storage client
// (storage-client.ts), the crawler (crawl.ts), scrape (scrape-filter.ts) and the republisher, over the storage
// part (storage-service.ts).
import type { BEncodable } from '../codec/bencode.js'
import type { Clock, Endpoint, Random } from '../net/types.js'
import { type LocalKeypair, generateKeypair as makeKeypair } from './bep44-crypto.js'
import { type CrawlOptions, crawl, type SampleResult, sampleInfohashes } from './crawl.js'
import { DHTError } from './errors.js'
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
import type { StorageService } from './storage-service.js'

/** Options of a put: `republish` (default true) keeps the item alive, put again every hour until `unpublish`. */
export interface PutOptions {
  signal?: AbortSignal
  republish?: boolean
}

/** What the API needs from the node besides the storage part. */
export interface StorageApiDeps {
  readonly storage: StorageService
  readonly clock: Clock
  readonly random: Random
  /** Throws DESTROYED once the node is destroyed. */
  checkAlive(): void
  /** Throws BAD_ARGUMENT (not 20 bytes), NOT_LISTENING or DESTROYED. */
  checkHash(h: Uint8Array, what: string): void
  /** Where a crawl starts: the routing table's nodes. */
  tableNodes(): Endpoint[]
}

export class StorageApi {
  private readonly storage: StorageService
  constructor(private readonly d: StorageApiDeps) {
    this.storage = d.storage
  }

  private checkAlive(): void {
    this.d.checkAlive()
  }

  /**
   * Stores `value` (anything bencodable, 1-1000 bytes encoded) as a BEP 44 immutable item on the K nodes closest
   * to its SHA-1, the target. Resolves with the target and how many nodes stored it.
   */
  async putImmutable(value: BEncodable, opts: PutOptions = {}): Promise<PutResult> {
    this.checkAlive()
    const { result, args } = await putImmutable(this.storage.transport, value, opts)
    if (opts.republish !== false) this.storage.republisher.keep(result.target, args)
    return result
  }

  /** The immutable item under `target`: `value` when found (it hashes to the target), `discarded` otherwise. */
  getImmutable(target: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<ImmutableGetResult> {
    this.checkAlive()
    return getImmutable(this.storage.transport, target, opts)
  }

  /**
   * Signs and stores a BEP 44 mutable item under the public key (and salt). `seq` defaults to one more than the
   * newest found; meeting a newer one fails with StorageConflictError (`SEQ_TOO_LOW`, carrying it).
   */
  async putMutable(opts: PutMutableOptions & { republish?: boolean }): Promise<PutResult> {
    this.checkAlive()
    const { result, args } = await putMutable(this.storage.transport, opts)
    if (opts.republish !== false) this.storage.republisher.keep(result.target, args)
    return result
  }

  /** The newest validly signed item under `publicKey` (and salt) among the K closest nodes. */
  getMutable(publicKey: Uint8Array, opts: GetMutableOptions = {}): Promise<MutableGetResult> {
    this.checkAlive()
    return getMutable(this.storage.transport, publicKey, opts)
  }

  /** Verified mutable items as they arrive, each newer than the last. */
  getMutableItems(publicKey: Uint8Array, opts: GetMutableOptions = {}): AsyncGenerator<MutableItemResult> {
    this.checkAlive()
    return getMutableItems(this.storage.transport, publicKey, opts)
  }

  /** Stops republishing an item this node put; true if it was being republished. */
  unpublish(target: Uint8Array): boolean {
    return this.storage.republisher.stop(target)
  }

  /** An Ed25519 keypair for mutable items, from a 32-byte seed or from our random source. */
  generateKeypair(seed?: Uint8Array): LocalKeypair {
    try {
      return makeKeypair(seed, this.d.random)
    } catch (err) {
      throw new DHTError('BAD_ARGUMENT', (err as Error).message)
    }
  }

  /** BEP 51: a sample of the info hashes `node` stores, and when to ask it again. */
  sampleInfohashes(node: Endpoint, opts: { signal?: AbortSignal } = {}): Promise<SampleResult> {
    this.checkAlive()
    return sampleInfohashes(this.storage.transport, node, this.d.random.bytes(20), opts)
  }

  /** BEP 51: info hashes across the DHT as they are found, each once; never asks a node before its interval. */
  crawl(opts: CrawlOptions = {}): AsyncGenerator<Uint8Array> {
    this.checkAlive()
    return crawl(
      {
        transport: this.storage.transport,
        clock: this.d.clock,
        random: this.d.random,
        seeds: () => this.d.tableNodes(),
      },
      opts,
    )
  }

  /** BEP 33: estimated seeds and downloaders of `infoHash` from the K closest nodes' bloom filters. */
  scrape(
    infoHash: Uint8Array,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ seeds: number; peers: number; nodes: number }> {
    this.d.checkHash(infoHash, 'info hash')
    return scrape(this.storage.transport, infoHash, opts)
  }
}
