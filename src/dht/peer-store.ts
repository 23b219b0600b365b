// Peers announced to us (announce_peer), by info hash. Entries expire 30 minutes after their last announce
// (BEP 5 leaves the time open; libtorrent and others use 30 min). Every map is capped, and as in libtorrent a
// full store makes room rather than refusing: a full info hash drops its oldest peer, a new info hash evicts the
// one with the fewest peers, and a store full of peers drops the oldest peer of the oldest info hash. So no flood
// of announces can lock it, nor cost more than bounded memory and bounded work per announce.
import type { Endpoint, Random } from '../net/types.js'

export interface PeerStoreOptions {
  now: () => number
  random: Random
  /** Peer lifetime after its last announce. Default 30 minutes. */
  ttlMs?: number
  /** Peers kept per info hash (the oldest goes first). Default 200. */
  maxPerHash?: number
  /** Info hashes kept. Default 2,000. */
  maxHashes?: number
  /** Peers kept over all info hashes. Default 20,000. */
  maxPeers?: number
}

interface Stored {
  readonly host: string
  readonly port: number
  seed: boolean
  expires: number
}

export class PeerStore {
  private readonly byHash = new Map<string, Map<string, Stored>>()
  private readonly now: () => number
  private readonly random: Random
  readonly ttlMs: number
  readonly maxPerHash: number
  readonly maxHashes: number
  readonly maxPeers: number
  private total = 0

  constructor(opts: PeerStoreOptions) {
    this.now = opts.now
    this.random = opts.random
    this.ttlMs = opts.ttlMs ?? 30 * 60_000
    this.maxPerHash = opts.maxPerHash ?? 200
    this.maxHashes = opts.maxHashes ?? 2000
    this.maxPeers = opts.maxPeers ?? 20_000
  }

  get peers(): number {
    return this.total
  }

  get infoHashes(): number {
    return this.byHash.size
  }

  /** Stores (or refreshes) a peer, making room when a cap is reached. */
  add(infoHash: Uint8Array, peer: Endpoint, seed = false): void {
    const hk = hashKey(infoHash)
    let peers = this.byHash.get(hk)
    if (!peers) {
      if (this.byHash.size >= this.maxHashes) this.evictSmallestHash()
      peers = new Map()
      this.byHash.set(hk, peers)
    }
    const pk = `${peer.host}|${peer.port}`
    const expires = this.now() + this.ttlMs
    const old = peers.get(pk)
    if (old) {
      // Re-insert so that Map order stays oldest-announce first.
      peers.delete(pk)
      old.expires = expires
      old.seed = seed
      peers.set(pk, old)
      return
    }
    if (peers.size >= this.maxPerHash) this.dropOldest(hk, peers)
    else if (this.total >= this.maxPeers) this.dropOldestAnywhere(hk)
    peers.set(pk, { host: peer.host, port: peer.port, seed, expires })
    this.total++
  }

  private dropOldest(hk: string, peers: Map<string, Stored>): void {
    const first = peers.keys().next().value
    if (first === undefined) return
    peers.delete(first)
    this.total--
    if (peers.size === 0) this.byHash.delete(hk)
  }

  /** The oldest peer of the oldest info hash other than `keep` (or of `keep` when it is the only one). */
  private dropOldestAnywhere(keep: string): void {
    for (const [hk, peers] of this.byHash) {
      if (hk === keep && this.byHash.size > 1) continue
      return this.dropOldest(hk, peers)
    }
  }

  /** Makes room for a new info hash: the one with the fewest peers goes (libtorrent's choice). */
  private evictSmallestHash(): void {
    let victim: string | undefined
    let fewest = Number.POSITIVE_INFINITY
    for (const [hk, peers] of this.byHash) {
      if (peers.size < fewest) {
        fewest = peers.size
        victim = hk
        if (fewest <= 1) break
      }
    }
    if (victim === undefined) return
    this.total -= fewest
    this.byHash.delete(victim)
  }

  /** Up to `max` live peers of one address family for `infoHash` (a random window when there are more). */
  get(infoHash: Uint8Array, family: 4 | 6, max: number): Endpoint[] {
    const peers = this.byHash.get(hashKey(infoHash))
    if (!peers || max <= 0) return []
    const now = this.now()
    const live: Endpoint[] = []
    for (const [k, p] of peers) {
      if (p.expires <= now) {
        peers.delete(k)
        this.total--
        continue
      }
      if ((p.host.includes(':') ? 6 : 4) === family) live.push({ host: p.host, port: p.port })
    }
    if (peers.size === 0) this.byHash.delete(hashKey(infoHash))
    if (live.length <= max) return live
    const r = this.random.bytes(2)
    const start = ((r[0] << 8) | r[1]) % live.length
    const out: Endpoint[] = []
    for (let i = 0; i < max; i++) out.push(live[(start + i) % live.length])
    return out
  }

  /** Drops expired peers (and info hashes left empty). */
  sweep(): void {
    const now = this.now()
    for (const [hk, peers] of this.byHash) {
      for (const [k, p] of peers) {
        if (p.expires <= now) {
          peers.delete(k)
          this.total--
        }
      }
      if (peers.size === 0) this.byHash.delete(hk)
    }
  }
}

function hashKey(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i])
  return s
}
