// BEP 44 storage: immutable and mutable items under their targets, checked before anything is kept (size 205,
// salt 207, malformed 203, signature 206, compare-and-swap 301, stale sequence number 302). Memory is bounded by
// a cap on items, on bytes, on items per source IP and per network (/24, /64); an item lives `ttlMs` (default
// 2 h, BEP 44's minimum) after its last put. An IP or network at its own cap drops its own least recently
// announced item. A full store takes room only from the network holding the most (prefix-quota.ts: max-min
// fairness), its least recently announced item first, and refuses (202) when no network holds more than the
// newcomer's: an attacker with many addresses in a few networks cannot push out the items of the many others.
import {
  type Bep44Problem,
  checkMutableItem,
  checkValueSize,
  type HashFunction,
  INVALID_SIGNATURE,
  mutableTarget,
  signatureBuffer,
} from '../codec/bep44.js'
import { bytesEqual } from '../codec/bytes.js'
import { normalizeIP } from '../codec/ip.js'
import { KRPC_CAS_MISMATCH, KRPC_ERROR_NAMES, KRPC_SEQUENCE_TOO_LOW, KRPC_SERVER_ERROR } from '../codec/krpc-types.js'
import type { Clock } from '../net/types.js'
import { sha1 as nodeSha1, verifySignature } from './bep44-crypto.js'
import { type Held, PrefixQuota } from './prefix-quota.js'

export interface ItemStoreOptions {
  readonly clock: Pick<Clock, 'now'>
  /** Items kept at most. Default 1,000 (libtorrent: 700). */
  readonly maxItems?: number
  /** Bytes kept at most, counting values, keys, signatures, salts and a fixed overhead per item. Default 2 MiB. */
  readonly maxBytes?: number
  /** Items charged to one source IP at most. Default 50. */
  readonly maxPerIp?: number
  /** Items charged to one network (/24, /64) at most. Default maxItems / 8. */
  readonly maxPerPrefix?: number
  /** Lifetime after the last put. Default 2 hours. */
  readonly ttlMs?: number
  /** Ed25519 verification. Default node:crypto. */
  readonly verify?: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean
  /** SHA-1. Default node:crypto. */
  readonly sha1?: HashFunction
}

export interface ImmutableItem {
  readonly kind: 'immutable'
  readonly target: Uint8Array
  /** The bencoded value. */
  readonly v: Uint8Array
}

export interface MutableItem {
  readonly kind: 'mutable'
  readonly target: Uint8Array
  readonly v: Uint8Array
  readonly k: Uint8Array
  readonly sig: Uint8Array
  readonly seq: bigint
  readonly salt?: Uint8Array
}

export type StoredItem = ImmutableItem | MutableItem

/** A mutable put: the parsed `put` arguments (`PutArgs` fits). */
export interface MutablePut {
  readonly v: Uint8Array
  readonly k: Uint8Array
  readonly sig: Uint8Array
  readonly seq: bigint
  readonly salt?: Uint8Array
  readonly cas?: bigint
}

/**
 * A put's outcome. `stored`: `new`, `updated` (a newer seq), `refreshed` (the same item again: its lifetime
 * restarts) or `kept` (the same seq with another value: the stored one stays, as libtorrent does). A refusal
 * carries the KRPC error to answer with and, for 301/302, the stored `seq`.
 */
export type PutOutcome =
  | { readonly ok: true; readonly target: Uint8Array; readonly stored: 'new' | 'updated' | 'refreshed' | 'kept' }
  | { readonly ok: false; readonly code: number; readonly message: string; readonly seq?: bigint }

/** What a `get` reply carries from the store (spread into `buildGetReply`'s fields). */
export interface GetItemFields {
  readonly v?: Uint8Array
  readonly k?: Uint8Array
  readonly sig?: Uint8Array
  readonly seq?: bigint
}

/** Bytes charged per item besides its fields: the map entries, the target, the object. */
const ENTRY_OVERHEAD = 160

interface Entry extends Held {
  readonly key: string
  readonly item: StoredItem
  /** The source address (normalized) and its network: whom the item is charged to. */
  readonly host: string
  readonly prefix: string
  readonly bytes: number
  expires: number
}

const STORE_FULL: Bep44Problem = { code: KRPC_SERVER_ERROR, message: 'storage full' }

export class ItemStore {
  readonly maxItems: number
  readonly maxBytes: number
  readonly maxPerIp: number
  readonly maxPerPrefix: number
  readonly ttlMs: number
  private readonly clock: Pick<Clock, 'now'>
  private readonly verify: NonNullable<ItemStoreOptions['verify']>
  private readonly sha1: HashFunction
  /** By key, least recently announced first (an announce moves its entry to the end). */
  private readonly entries = new Map<string, Entry>()
  /** Entries charged to each network and address, least recently announced first. */
  private readonly quota: PrefixQuota<Entry>
  /** Puts refused because the store was full and no network held more than the newcomer's (202). */
  refused = 0
  private totalBytes = 0

  constructor(opts: ItemStoreOptions) {
    this.clock = opts.clock
    this.maxItems = opts.maxItems ?? 1000
    this.maxBytes = opts.maxBytes ?? 2 * 1024 * 1024
    this.maxPerIp = opts.maxPerIp ?? 50
    this.maxPerPrefix = opts.maxPerPrefix ?? Math.ceil(this.maxItems / 8)
    this.quota = new PrefixQuota({ maxPerPrefix: this.maxPerPrefix, maxPerAddress: this.maxPerIp })
    this.ttlMs = opts.ttlMs ?? 2 * 3600_000
    this.verify = opts.verify ?? verifySignature
    this.sha1 = opts.sha1 ?? nodeSha1
  }

  /** Items stored. */
  get size(): number {
    return this.entries.size
  }

  /** Bytes charged (see `maxBytes`). */
  get bytes(): number {
    return this.totalBytes
  }

  /** Distinct source IPs with items charged to them. */
  get sources(): number {
    return this.quota.addresses
  }

  /** Distinct networks (/24, /64) with items charged to them. */
  get networks(): number {
    return this.quota.prefixes
  }

  /** Items charged to `ip`. */
  itemsFrom(ip: string): number {
    return this.quota.addressCount(ipKey(ip))
  }

  /** Items charged to the network (/24, /64) of `ip`. */
  itemsFromNetwork(ip: string): number {
    return this.quota.count(PrefixQuota.prefixOf(ipKey(ip)))
  }

  /** Stores an immutable item (its target is the SHA-1 of `v`) put from `ip`. */
  putImmutable(v: Uint8Array, ip: string): PutOutcome {
    const bad = checkValueSize(v)
    if (bad) return refuse(bad)
    const target = this.sha1(v)
    const key = `i${hex(target)}`
    this.expire()
    const old = this.entries.get(key)
    if (old) {
      this.touch(old)
      return { ok: true, target, stored: 'refreshed' }
    }
    if (!this.insert(key, { kind: 'immutable', target, v: v.slice() }, ip)) return this.full()
    return { ok: true, target, stored: 'new' }
  }

  /**
   * Stores a mutable item put from `ip`, after checking it in libtorrent's order: sizes and shape (205, 207,
   * 203), the signature (206), then against the stored item `cas` (301) and `seq` (302).
   */
  putMutable(put: MutablePut, ip: string): PutOutcome {
    const bad = checkMutableItem(put)
    if (bad) return refuse(bad)
    if (!this.verify(put.k, signatureBuffer(put.v, put.seq, put.salt), put.sig)) return refuse(INVALID_SIGNATURE)
    const salt = put.salt !== undefined && put.salt.length > 0 ? put.salt : undefined
    const target = mutableTarget(put.k, salt, this.sha1)
    const key = `m${hex(target)}`
    this.expire()
    const old = this.entries.get(key)
    if (old && old.item.kind === 'mutable') {
      const cur = old.item.seq
      if (put.cas !== undefined && put.cas !== cur) {
        return { ok: false, code: KRPC_CAS_MISMATCH, message: KRPC_ERROR_NAMES[KRPC_CAS_MISMATCH], seq: cur }
      }
      if (put.seq < cur) {
        return { ok: false, code: KRPC_SEQUENCE_TOO_LOW, message: KRPC_ERROR_NAMES[KRPC_SEQUENCE_TOO_LOW], seq: cur }
      }
      if (put.seq === cur) {
        if (!bytesEqual(put.v, old.item.v)) return { ok: true, target, stored: 'kept' }
        this.touch(old)
        return { ok: true, target, stored: 'refreshed' }
      }
      this.remove(old)
      if (!this.insert(key, mutableItem(target, put, salt), ip)) return this.full()
      return { ok: true, target, stored: 'updated' }
    }
    if (!this.insert(key, mutableItem(target, put, salt), ip)) return this.full()
    return { ok: true, target, stored: 'new' }
  }

  /** The item under `target` (immutable first, as libtorrent looks), or undefined. Does not refresh it. */
  peek(target: Uint8Array): StoredItem | undefined {
    this.expire()
    const h = hex(target)
    return (this.entries.get(`i${h}`) ?? this.entries.get(`m${h}`))?.item
  }

  /**
   * What a `get` for `target` answers (BEP 44): an immutable item's `v`; a mutable item's `v`, `k`, `sig` and
   * `seq`; with `seq` asked, only mutable items, and only `seq` unless the stored one is newer. Undefined when
   * there is nothing to add to the reply.
   */
  get(target: Uint8Array, seq?: bigint): GetItemFields | undefined {
    this.expire()
    const h = hex(target)
    if (seq === undefined) {
      const im = this.entries.get(`i${h}`)
      if (im) return { v: im.item.v }
    }
    const m = this.entries.get(`m${h}`)?.item
    if (m === undefined || m.kind !== 'mutable') return undefined
    if (seq !== undefined && m.seq <= seq) return { seq: m.seq }
    return { v: m.v, k: m.k, sig: m.sig, seq: m.seq }
  }

  /** Drops items whose lifetime has run out. Called by every put and get; cheap when nothing expired. */
  expire(): void {
    const now = this.clock.now()
    for (const e of this.entries.values()) {
      if (e.expires > now) break // announce order: the rest are younger
      this.remove(e)
    }
  }

  /** Every stored item (expired ones dropped first), least recently announced first. */
  *items(): IterableIterator<StoredItem> {
    this.expire()
    for (const e of [...this.entries.values()]) yield e.item
  }

  private full(): PutOutcome {
    this.refused++
    return refuse(STORE_FULL)
  }

  private touch(e: Entry): void {
    e.expires = this.clock.now() + this.ttlMs
    this.entries.delete(e.key)
    this.entries.set(e.key, e)
    this.quota.touch(e)
  }

  /** Stores `item`, making room as the header says; false when the store is full and nobody is over their share. */
  private insert(key: string, item: StoredItem, ip: string): boolean {
    const host = ipKey(ip)
    const who: Held = { host, prefix: PrefixQuota.prefixOf(host) }
    const bytes = sizeOf(item)
    // Over its own caps, an address (or network) makes room from its own oldest items only.
    if (!this.quota.fits(who)) {
      const own = this.quota.oldestOwn(who)
      if (own) this.remove(own)
    }
    while (this.entries.size > 0 && (this.entries.size >= this.maxItems || this.totalBytes + bytes > this.maxBytes)) {
      const victim = this.quota.victimFor(who.prefix)
      if (victim === undefined) return false
      const oldest = this.quota.entries(victim).next().value
      if (oldest === undefined) return false
      this.remove(oldest)
    }
    const e: Entry = { key, item, host, prefix: who.prefix, bytes, expires: this.clock.now() + this.ttlMs }
    this.entries.set(key, e)
    this.totalBytes += bytes
    this.quota.add(e)
    return true
  }

  private remove(e: Entry): void {
    if (!this.entries.delete(e.key)) return
    this.totalBytes -= e.bytes
    this.quota.delete(e)
  }
}

function refuse(p: Bep44Problem): PutOutcome {
  return { ok: false, code: p.code, message: p.message }
}

function mutableItem(target: Uint8Array, put: MutablePut, salt: Uint8Array | undefined): MutableItem {
  const item: MutableItem = {
    kind: 'mutable',
    target,
    v: put.v.slice(),
    k: put.k.slice(),
    sig: put.sig.slice(),
    seq: put.seq,
    ...(salt === undefined ? {} : { salt: salt.slice() }),
  }
  return item
}

function sizeOf(item: StoredItem): number {
  const base = ENTRY_OVERHEAD + item.target.length + item.v.length
  return item.kind === 'immutable' ? base : base + item.k.length + item.sig.length + (item.salt?.length ?? 0)
}

/** One key per address, whatever its spelling (a v4-mapped IPv6 address is its IPv4 address). */
function ipKey(ip: string): string {
  return normalizeIP(ip) ?? ip
}

function hex(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16)
  return s
}
