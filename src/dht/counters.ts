// The node's counters, shared by its parts (the RPC layer counts packets, queries and drops; the server and the
// lookups count what they refuse) and read by `stats()`, which `dhtStats` assembles from them and the parts.
import { toHex } from '../codec/bytes.js'
import type { DHTStats } from './options.js'
import type { NodeWiring } from './wiring.js'

export interface DHTCounters {
  queriesIn: Record<string, number>
  queriesOut: Record<string, number>
  drops: Record<string, number>
  repliesIn: number
  errorsIn: number
  timeouts: number
  packetsIn: number
  packetsOut: number
  bytesIn: number
  bytesOut: number
}

export function newCounters(): DHTCounters {
  return {
    // Literal objects with every key up front stay small "fast" objects (a null-prototype dictionary costs more).
    queriesIn: { ping: 0, find_node: 0, get_peers: 0, announce_peer: 0, unknown: 0 } as Record<string, number>,
    queriesOut: { ping: 0, find_node: 0, get_peers: 0, announce_peer: 0 } as Record<string, number>,
    drops: {
      not_krpc: 0,
      wrong_family: 0,
      rate_limited: 0,
      malformed: 0,
      bad_tid: 0,
      read_only: 0,
      unsolicited: 0,
      bad_token: 0,
      bad_nodes: 0,
      dark_nodes: 0,
      bep42_storage: 0,
      handler_error: 0,
    } as Record<string, number>,
    repliesIn: 0,
    errorsIn: 0,
    timeouts: 0,
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  }
}

/** Counts `n` drops for `reason`. */
export function countDrop(c: DHTCounters, reason: string, n = 1): void {
  c.drops[reason] = (c.drops[reason] ?? 0) + n
}

/** The counts that are not zero (for stats()). */
export function nonZero(counts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const k in counts) if (counts[k] !== 0) out[k] = counts[k]
  return out
}

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
