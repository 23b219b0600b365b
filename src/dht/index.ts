/**
 * The Mainline DHT node (BEP 5, 32, 42, 43). See docs/dht.md.
 * @packageDocumentation
 */

export { generateKeypair, type Keypair, type LocalKeypair, type Signer } from './bep44-crypto.js'
export { PUBLIC_BOOTSTRAP } from './bootstrap.js'
export type { CrawlOptions, SampleResult } from './crawl.js'
export { type AnnounceResult, DHT, type LookupResult } from './dht.js'
export { DHTError, type DHTErrorCode } from './errors.js'
export type { DHTEvents, DHTNode, DHTOptions, DHTStats } from './options.js'
export {
  type IncomingQuery,
  KrpcHandlerError,
  type QueryHandler,
  type QueryHandlerResult,
  type ServerContext,
} from './query-server.js'
export type { QueryResponse } from './rpc-layer.js'
export type { DHTState, SavedNode, StateStorage } from './state.js'
export type { PutOptions } from './storage-api.js'
export {
  type GetMutableOptions,
  type ImmutableGetResult,
  type MutableGetResult,
  type MutableItemResult,
  type PutMutableOptions,
  type PutResult,
  StorageConflictError,
} from './storage-client.js'
export type {
  ClosestNode,
  QueryFn,
  QueryReply,
  TraversalEvent,
  TraversalOptions,
  TraversalResult,
} from './traversal.js'
export { traverse } from './traversal.js'
export { traversalEvents } from './traversal-events.js'
