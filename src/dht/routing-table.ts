// The routing table (BEP 5): K-buckets over the XOR distance to our own id, where only the bucket holding our id
// splits. It decides — insert, split, park in the replacement cache, "ping these" — and never sends anything.
// One table serves one address family (BEP 32); the node keeps one per family.
import { isLocalNetwork, parseIPv4, parseIPv6 } from '../codec/ip.js'
import { commonPrefixLength, compareDistance, NODE_ID_BITS } from '../codec/node-id.js'
import type { Endpoint } from '../net/types.js'
import { BAD_FAILS, copyId, GOOD_MS, MAX_FAILS, type NodeContact, REPING_MS, sameId, TableNode } from './table-node.js'

interface Bucket {
  nodes: TableNode[]
  /** Confirmed nodes waiting for a slot, most recent last. */
  repl: TableNode[]
  /** Last time a node in this bucket was added or replied (for the 15-minute refresh). */
  touched: number
}

export interface RoutingTableOptions {
  /** Bucket size. Default 8. */
  k?: number
  /** IP diversity as libtorrent does it: one entry per IP, one node per /24 (v4) or /64 (v6) in a bucket.
   * Loopback, private and link-local addresses are exempt. Default true. */
  restrictIps?: boolean
  /** Clock reading in ms. */
  now: () => number
}

/**
 * `added`: a confirmed node entered the table (new, or an unconfirmed entry that now replied). `pending`: an
 * unconfirmed entry took a free slot until it is verified. `updated`: already known. `replacement`: parked in the
 * bucket's replacement cache. `rejected`: not kept (IP rules, full bucket, conflicting endpoint).
 */
export type InsertStatus = 'added' | 'pending' | 'updated' | 'replacement' | 'rejected'

export interface InsertResult {
  status: InsertStatus
  /** Nodes the caller should ping: an unconfirmed newcomer to verify, or questionable nodes of a full bucket (a
   * failure lets a waiting replacement in). */
  ping: TableNode[]
}

const NO_PING: TableNode[] = []

/**
 * Whether `host` lies in `prefix` (a defined result of `restrictedPrefix`). For a canonical IPv4 literal that is a
 * string comparison, with no parsing: the table asks this of every node of a bucket for every newcomer.
 */
export function inPrefix(host: string, prefix: string): boolean {
  if (!host.includes(':')) {
    const dot = host.lastIndexOf('.')
    if (dot === prefix.length && host.startsWith(prefix)) return true
    if (/^[0-9.]+$/.test(host)) return false // canonical dotted quad: the comparison was exact
  }
  return restrictedPrefix(host) === prefix
}

/** The /24 (v4) or /64 (v6) prefix of an IP literal as a short string, or undefined if exempt/unparseable. */
export function restrictedPrefix(host: string): string | undefined {
  if (isLocalNetwork(host)) return undefined
  const v4 = parseIPv4(host)
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}`
  const v6 = parseIPv6(host)
  if (!v6) return undefined
  let s = ''
  for (let i = 0; i < 8; i++) s += v6[i].toString(16).padStart(2, '0')
  return s
}

export class RoutingTable {
  readonly k: number
  readonly restrictIps: boolean
  private own: Uint8Array
  private buckets: Bucket[]
  private readonly now: () => number
  /** Restricted (public) IPs in the live table → their node: one entry per IP. */
  private readonly byIp = new Map<string, TableNode>()
  private count = 0
  private unconfirmedCount = 0

  constructor(own: Uint8Array, opts: RoutingTableOptions) {
    this.own = own
    this.k = opts.k ?? 8
    this.restrictIps = opts.restrictIps ?? true
    this.now = opts.now
    this.buckets = [{ nodes: [], repl: [], touched: this.now() }]
  }

  get id(): Uint8Array {
    return this.own
  }

  /** Confirmed nodes in the table (unconfirmed entries are not counted). */
  get size(): number {
    return this.count - this.unconfirmedCount
  }

  /** Unconfirmed entries waiting for their verification. */
  get pending(): number {
    return this.unconfirmedCount
  }

  get bucketCount(): number {
    return this.buckets.length
  }

  private indexOf(id: Uint8Array): number {
    return Math.min(commonPrefixLength(this.own, id), this.buckets.length - 1)
  }

  /** The table entry (confirmed or not) with this id, if any. */
  get(id: Uint8Array): TableNode | undefined {
    const b = this.buckets[this.indexOf(id)]
    for (const n of b.nodes) if (sameId(n.id, id)) return n
    return undefined
  }

  /**
   * A node replied to one of our queries (`replied`) or sent us a query. A reply confirms a node: it is tabled if
   * there is room (an unconfirmed or bad entry gives way to it), else parked as a replacement. A query alone could
   * be spoofed: the sender takes a free slot as an unconfirmed entry and the result asks the caller to ping it —
   * its reply confirms it, a failure removes it (libtorrent adds querying nodes the same way, unconfirmed).
   */
  seen(contact: NodeContact, replied: boolean): InsertResult {
    return this.learn(contact, replied ? REPLY : QUERY)
  }

  /**
   * A reply named this node (libtorrent's `heard_about`). It may take a free slot as an unconfirmed entry, verified
   * later by `unverified()` or by a lookup that queries it; nothing is sent because of it now, so a lookup that
   * learns 50 nodes does not turn into 50 pings.
   */
  heardAbout(contact: NodeContact): InsertResult {
    return this.learn(contact, HEARD)
  }

  private learn(contact: NodeContact, how: number): InsertResult {
    const { id } = contact
    if (sameId(id, this.own)) return REJECTED
    const now = this.now()
    const existing = this.get(id)
    if (existing) {
      if (existing.host !== contact.host || existing.port !== contact.port) {
        // Same id from another endpoint: keep the one we know until it fails (libtorrent does the same).
        return REJECTED
      }
      if (how === REPLY) {
        const was = existing.confirmed
        existing.lastReply = now
        existing.fails = 0
        if (!was) this.unconfirmedCount--
        this.buckets[this.indexOf(id)].touched = now
        return { status: was ? 'updated' : 'added', ping: NO_PING }
      }
      if (how === QUERY) existing.lastQuery = now
      return { status: 'updated', ping: NO_PING }
    }
    if (how === HEARD) {
      // Most names in replies fall in a full bucket that cannot split: rejected either way, so skip parsing the
      // address (replies bring 8 names each, this is the hot path).
      const i = this.indexOf(id)
      if (this.buckets[i].nodes.length >= this.k && (i !== this.buckets.length - 1 || i + 1 >= NODE_ID_BITS))
        return REJECTED
    }
    const prefix = this.restrictIps ? restrictedPrefix(contact.host) : undefined
    if (prefix !== undefined) {
      const other = this.byIp.get(contact.host)
      if (other) {
        // One entry per IP. The same endpoint with a new id is a restarted node: a reply under the new id replaces
        // the old entry; a query under it only earns a ping, whose reply decides (once per REPING_MS).
        if (other.port !== contact.port || how === HEARD) return REJECTED
        if (how === QUERY) {
          if (other.pingedAt >= 0 && now - other.pingedAt <= REPING_MS) return REJECTED
          other.pingedAt = now
          return { status: 'rejected', ping: [new TableNode(contact.id, contact.host, contact.port, now, false)] }
        }
        this.remove(other.id)
      }
    }
    if (how === REPLY) return this.insert(new TableNode(copyId(id), contact.host, contact.port, now), prefix, now)
    return this.admit(contact, prefix, how === QUERY, now)
  }

  /** A confirmed node: a free slot, an unconfirmed or bad entry's slot, a split, or the replacement cache. */
  private insert(node: TableNode, prefix: string | undefined, now: number): InsertResult {
    for (;;) {
      const i = this.indexOf(node.id)
      const b = this.buckets[i]
      if (prefix !== undefined) {
        const same = b.nodes.findIndex((n) => inPrefix(n.host, prefix))
        // One node per /24 (/64) in a bucket; a confirmed node takes the place of an unconfirmed one there.
        if (same >= 0 && b.nodes[same].confirmed) return REJECTED
        if (same >= 0) this.drop(b, same)
      }
      if (b.nodes.length < this.k) {
        this.add(b, node, prefix, now)
        return { status: 'added', ping: NO_PING }
      }
      let out = b.nodes.findIndex((n) => !n.confirmed)
      if (out < 0) out = b.nodes.findIndex((n) => n.fails >= BAD_FAILS)
      if (out >= 0) {
        this.drop(b, out)
        this.add(b, node, prefix, now)
        return { status: 'added', ping: NO_PING }
      }
      if (i === this.buckets.length - 1 && this.buckets.length < NODE_ID_BITS) {
        this.split()
        continue
      }
      this.park(b, node, prefix)
      const ping = b.nodes.filter(
        (n) => now - n.lastReply > GOOD_MS && (n.pingedAt < 0 || now - n.pingedAt > REPING_MS),
      )
      for (const n of ping) n.pingedAt = now
      return { status: 'replacement', ping }
    }
  }

  /**
   * An unconfirmed node takes a free slot (splitting the bucket holding our id if that makes room) and never
   * displaces anyone: at most `k` entries per bucket wait for verification, so a flood of spoofed queries or made-up
   * node lists costs us at most one ping per free slot at a time, and real nodes that answer take their place.
   */
  private admit(contact: NodeContact, prefix: string | undefined, verify: boolean, now: number): InsertResult {
    for (;;) {
      const i = this.indexOf(contact.id)
      const b = this.buckets[i]
      if (prefix !== undefined && b.nodes.some((n) => inPrefix(n.host, prefix))) return REJECTED
      if (b.nodes.length < this.k) {
        const node = new TableNode(copyId(contact.id), contact.host, contact.port, now, false)
        this.add(b, node, prefix, now)
        if (!verify) return PENDING
        node.pingedAt = now
        return { status: 'pending', ping: [node] }
      }
      if (i !== this.buckets.length - 1 || this.buckets.length >= NODE_ID_BITS) return REJECTED
      this.split()
    }
  }

  private add(b: Bucket, node: TableNode, prefix: string | undefined, now: number): void {
    b.nodes.push(node)
    this.count++
    if (node.confirmed) b.touched = now
    else this.unconfirmedCount++
    if (prefix !== undefined) this.byIp.set(node.host, node)
    const r = b.repl.findIndex((n) => sameId(n.id, node.id))
    if (r >= 0) b.repl.splice(r, 1)
  }

  private drop(b: Bucket, index: number): TableNode {
    const [n] = b.nodes.splice(index, 1)
    this.count--
    if (!n.confirmed) this.unconfirmedCount--
    if (this.byIp.get(n.host) === n) this.byIp.delete(n.host)
    return n
  }

  private park(b: Bucket, node: TableNode, prefix: string | undefined): void {
    const r = b.repl.findIndex((n) => sameId(n.id, node.id) || (prefix !== undefined && inPrefix(n.host, prefix)))
    if (r >= 0) b.repl.splice(r, 1)
    b.repl.push(node)
    if (b.repl.length > this.k) b.repl.shift()
  }

  /** Splits the last bucket: nodes sharing one more bit with our id move to a new last bucket. */
  private split(): void {
    const last = this.buckets.length - 1
    const old = this.buckets[last]
    const near: Bucket = { nodes: [], repl: [], touched: old.touched }
    const far: Bucket = { nodes: [], repl: [], touched: old.touched }
    for (const n of old.nodes) (commonPrefixLength(this.own, n.id) > last ? near : far).nodes.push(n)
    for (const n of old.repl) (commonPrefixLength(this.own, n.id) > last ? near : far).repl.push(n)
    this.buckets[last] = far
    this.buckets.push(near)
    // Fill both from their replacements, under the IP rules of any insertion (one per IP, one per /24 or /64).
    for (const b of [far, near]) while (b.nodes.length < this.k && b.repl.length > 0) this.promote(b)
  }

  /**
   * A query to this node failed (timeout or error). An unconfirmed entry is removed at once (it was never shown to
   * be there); a bad node is replaced by the newest replacement; a node that kept failing is removed even without.
   */
  failed(id: Uint8Array, at?: Endpoint): void {
    const b = this.buckets[this.indexOf(id)]
    const i = b.nodes.findIndex((n) => sameId(n.id, id) && isAt(n, at))
    if (i < 0) {
      const r = b.repl.findIndex((n) => sameId(n.id, id) && isAt(n, at))
      if (r >= 0) b.repl.splice(r, 1)
      return
    }
    const n = b.nodes[i]
    n.fails++
    if (!n.confirmed) {
      this.drop(b, i)
      this.promote(b)
    } else if (n.fails >= BAD_FAILS && b.repl.length > 0) {
      this.drop(b, i)
      this.promote(b)
    } else if (n.fails >= MAX_FAILS) {
      this.drop(b, i)
    }
  }

  private promote(b: Bucket): void {
    const n = b.repl.pop()
    if (!n) return
    const p = this.restrictIps ? restrictedPrefix(n.host) : undefined
    if (p !== undefined && (this.byIp.has(n.host) || b.nodes.some((m) => inPrefix(m.host, p)))) return
    this.add(b, n, p, this.now())
  }

  /** Removes an entry (e.g. it answered with another id). */
  remove(id: Uint8Array, at?: Endpoint): boolean {
    const b = this.buckets[this.indexOf(id)]
    const i = b.nodes.findIndex((n) => sameId(n.id, id) && isAt(n, at))
    if (i < 0) return false
    this.drop(b, i)
    this.promote(b)
    return true
  }

  /** Up to `n` confirmed nodes closest to `target`, closest first; bad nodes are left out. */
  closest(target: Uint8Array, n = this.k): TableNode[] {
    // Every query we answer asks for this, so it visits buckets in order of distance and stops when full instead of
    // scanning the table. With c = the bucket `target` falls in: bucket c's ids share more leading bits with the
    // target than any other; the buckets nearer our id (c+1…) all differ from it first at bit c; bucket j < c
    // differs first at bit j, farther as j falls. Each group is strictly farther than the one before it.
    const out: TableNode[] = []
    if (n <= 0) return out
    const last = this.buckets.length - 1
    const c = this.indexOf(target)
    this.collect(this.buckets[c], target, n, out)
    // The buckets nearer our id form one distance group: the whole group, or none of it.
    if (out.length < n) for (let j = c + 1; j <= last; j++) this.collect(this.buckets[j], target, n, out)
    for (let j = c - 1; j >= 0 && out.length < n; j--) this.collect(this.buckets[j], target, n, out)
    return out
  }

  /** Inserts the confirmed, not-bad nodes of `b` into `out` (sorted, at most `n`) by distance to `target`. */
  private collect(b: Bucket, target: Uint8Array, n: number, out: TableNode[]): void {
    for (const node of b.nodes) {
      if (node.fails >= BAD_FAILS || node.lastReply < 0) continue
      if (out.length === n && compareDistance(target, node.id, out[n - 1].id) >= 0) continue
      let i = out.length === n ? n - 1 : out.length
      while (i > 0 && compareDistance(target, node.id, out[i - 1].id) < 0) {
        out[i] = out[i - 1]
        i--
      }
      out[i] = node
    }
  }

  /** Every confirmed node (for saving state, stats and `DHT.nodes()`). */
  nodes(): TableNode[] {
    const out: TableNode[] = []
    for (const b of this.buckets) for (const n of b.nodes) if (n.lastReply >= 0) out.push(n)
    return out
  }

  /** Indices of buckets not touched for `idleMs` (BEP 5 refreshes them with a lookup of a random id inside). */
  staleBuckets(idleMs = GOOD_MS): number[] {
    const now = this.now()
    const out: number[] = []
    this.buckets.forEach((b, i) => {
      if (now - b.touched > idleMs) out.push(i)
    })
    return out
  }

  /** Confirmed nodes in bucket `index` (0 when there is no such bucket). */
  bucketSize(index: number): number {
    const b = this.buckets[index]
    if (!b) return 0
    let n = 0
    for (const x of b.nodes) if (x.lastReply >= 0) n++
    return n
  }

  /** Marks a bucket refreshed (a lookup into it was started). */
  touch(index: number): void {
    const b = this.buckets[index]
    if (b) b.touched = this.now()
  }

  /** The questionable node (no reply for 15 minutes) that was heard from longest ago, to be pinged. */
  stalest(): TableNode | undefined {
    const now = this.now()
    let best: TableNode | undefined
    for (const b of this.buckets) {
      for (const n of b.nodes) {
        if (!n.confirmed || now - n.lastReply <= GOOD_MS || (n.pingedAt >= 0 && now - n.pingedAt <= REPING_MS)) continue
        if (!best || n.lastReply < best.lastReply) best = n
      }
    }
    if (best) best.pingedAt = now
    return best
  }

  /**
   * The unconfirmed entry to verify next (not asked for in the last REPING_MS), nearest bucket first: those are the
   * slots that matter most for lookups near our id and for the nodes whose neighbours we are.
   */
  unverified(): TableNode | undefined {
    const now = this.now()
    for (let i = this.buckets.length - 1; i >= 0; i--) {
      for (const n of this.buckets[i].nodes) {
        if (n.confirmed || (n.pingedAt >= 0 && now - n.pingedAt <= REPING_MS)) continue
        n.pingedAt = now
        return n
      }
    }
    return undefined
  }

  /** Re-keys the table for a new own id (BEP 42 made us change it): every confirmed node is re-inserted. */
  reset(own: Uint8Array): void {
    const all = this.nodes()
    const repl = this.buckets.flatMap((b) => b.repl)
    this.own = own
    this.buckets = [{ nodes: [], repl: [], touched: this.now() }]
    this.byIp.clear()
    this.count = 0
    this.unconfirmedCount = 0
    const now = this.now()
    for (const n of [...all, ...repl]) {
      if (sameId(n.id, own)) continue
      const p = this.restrictIps ? restrictedPrefix(n.host) : undefined
      if (p !== undefined && this.byIp.has(n.host)) continue
      this.insert(n, p, now)
    }
  }
}

const REPLY = 0
const QUERY = 1
const HEARD = 2
const REJECTED: InsertResult = { status: 'rejected', ping: NO_PING }
const PENDING: InsertResult = { status: 'pending', ping: NO_PING }

/**
 * Whether a table entry is the node at `at` (any entry when `at` is not given). A query to an endpoint that some
 * third node named with this id says nothing about the node we know under it elsewhere.
 */
function isAt(n: NodeContact, at: Endpoint | undefined): boolean {
  return at === undefined || (n.port === at.port && n.host === at.host)
}
