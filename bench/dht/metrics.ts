// Health of a DHT's routing graph and convergence of its lookups, computed the same way for any implementation:
// who is in whose table (in-degree, "unseen" nodes that no other node tables) and how many of the true K closest
// nodes to a target a lookup queried or an announce was stored on. Pure functions over ids and sets.
import { compareDistance } from '../../src/codec/node-id.js'

export interface Distribution {
  min: number
  p10: number
  median: number
  p90: number
  max: number
  mean: number
}

export interface GraphHealth {
  nodes: number
  /** Nodes in no other node's table. */
  unseen: number
  /** How many other nodes' tables hold each node. */
  inDegree: Distribution
}

/** A node of the network: its key (endpoint + id, so a restarted node or a stale id does not count) and the keys
 * of the entries in its routing table. */
export interface TableView {
  key: string
  table: Iterable<string>
}

export function nodeKey(host: string, port: number, id: Uint8Array): string {
  return `${host}|${port}|${Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')}`
}

export function graphHealth(views: readonly TableView[]): GraphHealth {
  const inDegree = new Map<string, number>()
  for (const v of views) inDegree.set(v.key, 0)
  for (const v of views) {
    for (const e of v.table) {
      const d = inDegree.get(e)
      if (d !== undefined && e !== v.key) inDegree.set(e, d + 1)
    }
  }
  const degrees = [...inDegree.values()]
  return { nodes: views.length, unseen: degrees.filter((d) => d === 0).length, inDegree: distribution(degrees) }
}

export function distribution(xs: readonly number[]): Distribution {
  if (xs.length === 0) return { min: 0, p10: 0, median: 0, p90: 0, max: 0, mean: 0 }
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]
  return { min: s[0], p10: at(0.1), median: median(s), p90: at(0.9), max: s[s.length - 1], mean: mean(s) }
}

/** Indices (into `ids`) of the `k` ids closest to `target` by XOR distance, skipping `exclude`. */
export function trueClosest(ids: readonly Uint8Array[], target: Uint8Array, k: number, exclude = -1): number[] {
  const idx = ids.map((_, i) => i).filter((i) => i !== exclude)
  idx.sort((a, b) => compareDistance(target, ids[a], ids[b]))
  return idx.slice(0, k)
}

/** How many of `truth` are in `reached`. */
export function reachedOf(truth: readonly number[], reached: ReadonlySet<number>): number {
  let n = 0
  for (const i of truth) if (reached.has(i)) n++
  return n
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length
}

/** The get_peers query for `target` in a datagram, found without decoding it (the tap sees every datagram). */
export function isGetPeersFor(data: Uint8Array, target: Uint8Array): boolean {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return b.indexOf(GET_PEERS) >= 0 && b.indexOf(Buffer.from(target.buffer, target.byteOffset, 20)) >= 0
}

const GET_PEERS = Buffer.from('1:q9:get_peers')
