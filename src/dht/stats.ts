// The node's `stats()`: its counters (counters.ts) and the sizes of its parts, read through the wiring.
import { toHex } from '../codec/bytes.js'
import { nonZero } from './counters.js'
import type { DHTStats } from './options.js'
import type { NodeWiring } from './wiring.js'

/** The node's `stats()`: its counters and the sizes of its parts; `items` is the BEP 44 store. */
export function dhtStats(w: NodeWiring, items: { readonly size: number; readonly bytes: number }): DHTStats {
  const c = w.counters
  const tables = w.routing.tables
  return {
    id: toHex(w.routing.id),
    nodes: { v4: tables[4].size, v6: tables[6].size },
    buckets: tables[w.rpc.family].bucketCount,
    queriesIn: nonZero(c.queriesIn),
    queriesOut: nonZero(c.queriesOut),
    repliesIn: c.repliesIn,
    errorsIn: c.errorsIn,
    timeouts: c.timeouts,
    packetsIn: c.packetsIn,
    packetsOut: c.packetsOut,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    drops: nonZero(c.drops),
    peersStored: w.store.peers,
    infoHashesStored: w.store.infoHashes,
    itemsStored: items.size,
    itemBytes: items.bytes,
    pendingQueries: w.rpc.inFlight,
    rateLimiterEntries: w.limiter.size,
    bans: w.limiter.bans,
    externalIp: w.routing.voter.external,
  }
}
