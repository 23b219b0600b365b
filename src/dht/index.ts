/**
 * The Mainline DHT node (BEP 5, 32, 42, 43). See docs/dht.md.
 * @packageDocumentation
 */
export { type AnnounceResult, DHT, type LookupResult } from './dht.js'
export { DHTError, type DHTErrorCode } from './errors.js'
export type { DHTEvents, DHTNode, DHTOptions, DHTStats } from './node.js'
export type {
  ClosestNode,
  QueryFn,
  QueryReply,
  TraversalEvent,
  TraversalOptions,
  TraversalResult,
} from './traversal.js'
export { traversalEvents, traverse } from './traversal.js'
