// Peers announced to us (announce_peer), by info hash. Entries expire 30 minutes after their last announce
// (BEP 5 leaves the time open; libtorrent and others use 30 min). Every map is capped, so a flood of announces
// costs bounded memory: a full info hash drops its oldest peer, and a store full of info hashes refuses new ones.
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
  host: string
  port: number
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

  /** True when a new info hash would be refused (the caller then hands out no token, as libtorrent does). */
  full(infoHash: Uint8Array): boolean {
    return this.byHash.size >= this.maxHashes && !this.byHash.has(hashKey(infoHash))
  }

  /** Stores (or refreshes) a peer. Returns false when the store refused it. */
  add(infoHash: Uint8Array, peer: Endpoint, seed = false): boolean {
    const hk = hashKey(infoHash)
    let peers = this.byHash.get(hk)
    if (!peers) {
      if (this.byHash.size >= this.maxHashes) return false
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
      return true
    }
    if (peers.size >= this.maxPerHash) {
      const first = peers.keys().next().value as string
      peers.delete(first)
      this.total--
    } else if (this.total >= this.maxPeers) {
      this.sweep()
      if (this.total >= this.maxPeers) {
        if (peers.size === 0) this.byHash.delete(hk)
        return false
      }
    }
    peers.set(pk, { host: peer.host, port: peer.port, seed, expires })
    this.total++
    return true
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
