// One routing-table entry and the compact storage of node ids: what the table holds, apart from how it decides.
/** A node's contact as the table hands it out. */
export interface NodeContact {
  id: Uint8Array
  host: string
  port: number
}

/** BEP 5: a node that replied (or queried us after having replied) within 15 minutes is good. */
export const GOOD_MS = 15 * 60_000
/** A node that failed this many queries in a row is bad: replaced at once by a replacement when one exists. */
export const BAD_FAILS = 2
/** A node that failed this many queries in a row is removed even when no replacement exists. */
export const MAX_FAILS = 5
/** A questionable node is handed out for pinging at most once per this interval. */
export const REPING_MS = 10_000

/**
 * One table entry. Kept small: thousands of tables may live in one process (simulations, benchmarks). An entry that
 * has never replied to us is *unconfirmed* (`lastReply` −1, as libtorrent's "not pinged" entries): it holds a slot
 * while we verify it with a query of our own, but is never handed out, never a lookup seed, and never saved.
 */
export class TableNode implements NodeContact {
  /** Last time it replied to us (clock ms), or −1 while unconfirmed. */
  lastReply: number
  /** Last time it sent us a query (clock ms), or -1. */
  lastQuery = -1
  /** Last time the table asked for it to be pinged, or -1. */
  pingedAt = -1
  /** Queries that failed in a row. */
  fails = 0
  constructor(
    readonly id: Uint8Array,
    readonly host: string,
    readonly port: number,
    now: number,
    confirmed = true,
  ) {
    this.lastReply = confirmed ? now : -1
  }

  get confirmed(): boolean {
    return this.lastReply >= 0
  }
}

/**
 * A copy of a small byte string (an id, a token). `new Uint8Array(n)` of a few bytes lives inside the JS heap;
 * `slice()` would give each copy its own malloc'd backing store, and thousands of those fragment native memory.
 */
/** Ids per shared chunk of `copyId`. */
const IDS_PER_CHUNK = 16
let idChunk = new Uint8Array(0)
let idChunkUsed = 0

/**
 * A copy of a 20-byte node id for a table entry, as a view into a chunk shared with the next ids copied. A lone
 * `Uint8Array(20)` costs ~230 bytes of heap (its ArrayBuffer, backing store and bookkeeping); a view of a chunk ~100
 * plus its share of the chunk. Chunks are never written again once handed out (no slot reuse), so a view's bytes
 * never change under it; a chunk is freed by the GC when its last id is. Table entries live long, so chunks rarely
 * stay alive for one id.
 */
export function copyId(id: Uint8Array): Uint8Array {
  if (id.length !== 20) return copyBytes(id)
  if (idChunkUsed + 20 > idChunk.length) {
    idChunk = new Uint8Array(20 * IDS_PER_CHUNK)
    idChunkUsed = 0
  }
  const v = idChunk.subarray(idChunkUsed, idChunkUsed + 20)
  v.set(id)
  idChunkUsed += 20
  return v
}

export function copyBytes(b: Uint8Array): Uint8Array {
  const c = new Uint8Array(b.length)
  c.set(b)
  return c
}

export function sameId(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 20; i++) if (a[i] !== b[i]) return false
  return a.length === b.length
}
