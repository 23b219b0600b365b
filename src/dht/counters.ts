// The node's counters, shared by its parts (the RPC layer counts packets, queries and drops; the server and the
// lookups count what they refuse) and read by `stats()` (stats.ts).

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
