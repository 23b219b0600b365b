// Peers announced to us (announce_peer), by info hash. Entries expire 30 minutes after their last announce
// (BEP 5 leaves the time open; libtorrent and others use 30 min). Every map is capped, and a flood must not evict
// what legitimate peers stored. An announce needs a token sent to its source address, so announcers are real
// addresses — but an attacker may have thousands. Hence every entry is accounted to its address's network (/24,
// /64; prefix-quota.ts) and a full store takes room only from the network that holds the most, never from one
// holding no more than the newcomer's (then the announce is refused). Within an info hash the same holds, with
// the network's share of that hash first; a whole info hash is evicted only when one network alone announced it,
// so info hashes announced by many networks are kept longest. A refresh (re-announce) is always accepted.
import type { Endpoint, Random } from '../net/types.js'
import { type Held, PrefixQuota } from './prefix-quota.js'

export interface PeerStoreOptions {
  now: () => number
  random: Random
  /** Peer lifetime after its last announce. Default 30 minutes. */
  ttlMs?: number
  /** Peers kept per info hash. Default 200. */
  maxPerHash?: number
  /** Info hashes kept. Default 2,000. */
  maxHashes?: number
  /** Peers kept over all info hashes. Default 20,000. */
  maxPeers?: number
  /** Peers one network (/24, /64) may hold over all info hashes. Default maxPeers / 16. */
  maxPerPrefix?: number
  /** Peers one address may hold over all info hashes. Default maxPerPrefix / 4. */
  maxPerAddress?: number
}

interface Stored extends Held {
  readonly host: string
  readonly port: number
  readonly prefix: string
  readonly hash: HashEntry
  readonly key: string
  seed: boolean
  expires: number
}

interface HashEntry {
  readonly key: string
  /** Peers by host|port, oldest announce first. */
  readonly peers: Map<string, Stored>
  /** Peers per network in this info hash: its size is the number of distinct networks that announced it. */
  readonly prefixes: Map<string, number>
}

/** How far a full store looks through one network's entries for an info hash it alone announced. */
const HASH_VICTIM_SCAN = 256

export class PeerStore {
  private readonly byHash = new Map<string, HashEntry>()
  private readonly quota: PrefixQuota<Stored>
  private readonly now: () => number
  private readonly random: Random
  readonly ttlMs: number
  readonly maxPerHash: number
  readonly maxHashes: number
  readonly maxPeers: number
  private total = 0
  /** Announces refused because the store was full with no network over its share (a counter, for stats). */
  refused = 0

  constructor(opts: PeerStoreOptions) {
    this.now = opts.now
    this.random = opts.random
    this.ttlMs = opts.ttlMs ?? 30 * 60_000
    this.maxPerHash = opts.maxPerHash ?? 200
    this.maxHashes = opts.maxHashes ?? 2000
    this.maxPeers = opts.maxPeers ?? 20_000
    const perPrefix = opts.maxPerPrefix ?? Math.ceil(this.maxPeers / 16)
    this.quota = new PrefixQuota({
      maxPerPrefix: perPrefix,
      maxPerAddress: opts.maxPerAddress ?? Math.ceil(perPrefix / 4),
    })
  }

  get peers(): number {
    return this.total
  }

  get infoHashes(): number {
    return this.byHash.size
  }

  /** Peers the network (/24, /64) of `host` holds. */
  heldBy(host: string): number {
    return this.quota.count(PrefixQuota.prefixOf(host))
  }

  /**
   * Stores (or refreshes) a peer. When a cap is reached, room is taken from the network holding the most; false
   * when there is none to take from fairly (the announce is refused, nothing is evicted).
   */
  add(infoHash: Uint8Array, peer: Endpoint, seed = false): boolean {
    const hk = hashKey(infoHash)
    const pk = `${peer.host}|${peer.port}`
    const now = this.now()
    let h = this.byHash.get(hk)
    const old = h?.peers.get(pk)
    if (h && old) {
      // Re-insert so that the maps stay oldest-announce first.
      h.peers.delete(pk)
      h.peers.set(pk, old)
      this.quota.touch(old)
      old.expires = now + this.ttlMs
      old.seed = seed
      return true
    }
    const who: Held = { host: peer.host, prefix: PrefixQuota.prefixOf(peer.host) }
    // Over its own caps, a network (or address) makes room from its own oldest entries only.
    if (!this.quota.fits(who)) {
      const own = this.quota.oldestOwn(who)
      if (own) this.remove(own)
    }
    h = this.byHash.get(hk)
    if (h && h.peers.size >= this.maxPerHash && !this.freeInHash(h, who.prefix)) return this.refuse()
    if (!h && this.byHash.size >= this.maxHashes && !this.freeHashSlot(who.prefix)) return this.refuse()
    if (this.total >= this.maxPeers && !this.freePeer(who.prefix)) return this.refuse()
    h = this.byHash.get(hk)
    if (!h) {
      h = { key: hk, peers: new Map(), prefixes: new Map() }
      this.byHash.set(hk, h)
    }
    const expires = now + this.ttlMs
    const s: Stored = { host: peer.host, port: peer.port, prefix: who.prefix, hash: h, key: pk, seed, expires }
    h.peers.set(pk, s)
    h.prefixes.set(s.prefix, (h.prefixes.get(s.prefix) ?? 0) + 1)
    this.quota.add(s)
    this.total++
    return true
  }

  private refuse(): false {
    this.refused++
    return false
  }

  private remove(s: Stored): void {
    const h = s.hash
    if (h.peers.get(s.key) !== s) return
    h.peers.delete(s.key)
    const n = (h.prefixes.get(s.prefix) ?? 1) - 1
    if (n === 0) h.prefixes.delete(s.prefix)
    else h.prefixes.set(s.prefix, n)
    if (h.peers.size === 0) this.byHash.delete(h.key)
    this.quota.delete(s)
    this.total--
  }

  /** One peer from the network holding the most overall (its oldest), if that is fair to `prefix`. */
  private freePeer(prefix: string): boolean {
    const victim = this.quota.victimFor(prefix)
    if (victim === undefined) return false
    const s = this.quota.entries(victim).next().value
    if (!s) return false
    this.remove(s)
    return true
  }

  /**
   * Room in a full info hash: from the network with the most peers in it, when it has at least two more there
   * than `prefix` (or `prefix` itself is among them: its own oldest goes); between networks with equal shares of
   * the hash, from one that holds at least two more entries in the whole store (a spammer of many hashes).
   */
  private freeInHash(h: HashEntry, prefix: string): boolean {
    const mineHere = h.prefixes.get(prefix) ?? 0
    const mineAll = this.quota.count(prefix)
    let best: string | undefined
    let bestHere = -1
    let bestAll = -1
    for (const [p, here] of h.prefixes) {
      const all = this.quota.count(p)
      if (here > bestHere || (here === bestHere && all > bestAll)) {
        best = p
        bestHere = here
        bestAll = all
      }
    }
    let victim: string | undefined
    if (best === undefined) return false
    if (bestHere > mineHere + 1) victim = best
    else if (mineHere === bestHere && mineHere > 0) victim = prefix
    else if (bestHere === mineHere + 1 && bestAll > mineAll + 1) victim = best
    if (victim === undefined) return false
    for (const s of h.peers.values()) {
      if (s.prefix === victim) {
        this.remove(s)
        return true
      }
    }
    return false
  }

  /** A free info hash slot: an info hash that only the network holding the most announced, if that is fair. */
  private freeHashSlot(prefix: string): boolean {
    const victim = this.quota.victimFor(prefix)
    if (victim === undefined) return false
    let scanned = 0
    for (const s of this.quota.entries(victim)) {
      if (s.hash.prefixes.size === 1) {
        for (const p of [...s.hash.peers.values()]) this.remove(p)
        return true
      }
      if (++scanned >= HASH_VICTIM_SCAN) break
    }
    return false
  }

  /**
   * Up to `max` live peers of one address family for `infoHash`. When there are more, a random window of them, one
   * peer per network first: peers from a few networks (a flood) cannot crowd out the peers of many.
   */
  get(infoHash: Uint8Array, family: 4 | 6, max: number, opts?: { noseed?: boolean }): Endpoint[] {
    const h = this.byHash.get(hashKey(infoHash))
    if (!h || max <= 0) return []
    const now = this.now()
    const live: Stored[] = []
    let expired: Stored[] | undefined
    // BEP 33 `noseed`: a downloader asking for peers wants the others that download, not seeds.
    const noseed = opts?.noseed === true
    for (const p of h.peers.values()) {
      if (p.expires <= now) (expired ??= []).push(p)
      else if ((p.host.includes(':') ? 6 : 4) === family && !(noseed && p.seed)) live.push(p)
    }
    if (expired) for (const p of expired) this.remove(p)
    if (live.length <= max) return live.map(endpointOf)
    const r = this.random.bytes(2)
    const start = ((r[0] << 8) | r[1]) % live.length
    const out: Endpoint[] = []
    const networks = new Set<string>()
    const later: Stored[] = []
    for (let i = 0; i < live.length; i++) {
      const p = live[(start + i) % live.length]
      if (out.length < max && !networks.has(p.prefix)) {
        networks.add(p.prefix)
        out.push(endpointOf(p))
      } else {
        later.push(p)
      }
    }
    for (let i = 0; out.length < max && i < later.length; i++) out.push(endpointOf(later[i]))
    return out
  }

  /** The live peers of `infoHash` with whether each announced `seed: 1` (BEP 33 scrape filters). */
  scrapePeers(infoHash: Uint8Array): Array<{ host: string; seed: boolean }> {
    const h = this.byHash.get(hashKey(infoHash))
    if (!h) return []
    const now = this.now()
    const out: Array<{ host: string; seed: boolean }> = []
    for (const p of h.peers.values()) if (p.expires > now) out.push({ host: p.host, seed: p.seed })
    return out
  }

  /** The info hashes stored (BEP 51 samples): `size`, and `keys()` as 20-byte arrays, walked only when asked. */
  infoHashList(): { readonly size: number; keys(): Iterable<Uint8Array> } {
    const byHash = this.byHash
    return {
      size: byHash.size,
      *keys() {
        for (const k of byHash.keys()) {
          const b = new Uint8Array(k.length)
          for (let i = 0; i < k.length; i++) b[i] = k.charCodeAt(i)
          yield b
        }
      },
    }
  }

  /** Drops expired peers (and info hashes left empty). */
  sweep(): void {
    const now = this.now()
    for (const h of [...this.byHash.values()])
      for (const p of [...h.peers.values()]) if (p.expires <= now) this.remove(p)
  }
}

function endpointOf(p: Stored): Endpoint {
  return { host: p.host, port: p.port }
}

function hashKey(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i])
  return s
}
