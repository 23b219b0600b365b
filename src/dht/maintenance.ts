// Table upkeep: the join (ping saved nodes, look ourselves up, then refresh every bucket that is not full, far to
// near), and the 5-second tick (ping the stalest node, verify one unconfirmed entry, refresh a stale bucket, look
// ourselves up again while the table is short, sweep the stores). It sends nothing itself: it asks the lookups and
// the RPC layer's quiet ping.
import type { Endpoint } from '../net/types.js'
import type { SeedList } from './lookup-service.js'
import type { PeerLookups } from './lookups.js'
import type { Routing } from './routing.js'

/** Saved nodes pinged at start-up at most. */
const MAX_STARTUP_PINGS = 64

export interface MaintenanceOptions {
  k: number
  routing: Routing
  lookups: PeerLookups
  seeds: SeedList
  /** The families we run. */
  families: () => ReadonlyArray<4 | 6>
  ping: (node: Endpoint & { id?: Uint8Array }) => void
  /** Every minute: expire stored peers, forget idle rate-limit buckets. */
  sweep: () => void
  destroyed: () => boolean
  onReady: () => void
  warn: (err: Error) => void
}

export class Maintenance {
  private readonly refreshing = { 4: false, 6: false }
  /** Self-lookups while the table is short of K nodes: the tick of the next one, and the growing pause. */
  private readonly selfLookupTick = { 4: 0, 6: 0 }
  private readonly selfBackoff = { 4: 1, 6: 1 }
  private ticks = 0

  constructor(private readonly o: MaintenanceOptions) {}

  /** The join: resolves once the first self-lookup has finished (with or without nodes); then refreshes buckets. */
  async bootstrap(): Promise<void> {
    const o = this.o
    await o.seeds.ready
    for (const n of o.seeds.saved.slice(0, MAX_STARTUP_PINGS)) o.ping(n)
    try {
      if (o.seeds.bootstrap.length > 0 || o.seeds.saved.length > 0) await o.lookups.findNode(o.routing.id)
    } catch (err) {
      if (!o.destroyed()) o.warn(err as Error)
    }
    if (!o.destroyed()) o.onReady()
    for (const f of o.families()) void this.refreshBuckets(f)
  }

  /** BEP 42 gave us a new id: look it up so that our new neighbours learn of us, then refresh the buckets. */
  idChanged(): void {
    this.o.lookups
      .findNode(this.o.routing.id)
      .catch(() => {})
      .then(() => {
        for (const f of this.o.families()) if (!this.o.destroyed()) void this.refreshBuckets(f)
      })
  }

  /**
   * After the bootstrap lookup, each bucket that is not full is refreshed once, far to near, one lookup after the
   * other (Kademlia's join: "refresh all buckets further away than the closest neighbour"). The self-lookup meets
   * only the nodes next to us; without this a subtree beside ours stays unknown until the 15-minute refresh, and
   * lookups into it from us or from our neighbours end on our side of it. The bucket holding our id (the last) is
   * the self-lookup's.
   */
  private async refreshBuckets(family: 4 | 6): Promise<void> {
    const table = this.o.routing.tables[family]
    if (this.refreshing[family] || table.size === 0) return
    this.refreshing[family] = true
    try {
      for (let i = 0; i < table.bucketCount - 1 && !this.o.destroyed(); i++) {
        if (table.bucketSize(i) >= this.o.k) continue
        table.touch(i)
        await this.o.lookups.findNodeIn(family, this.o.routing.refreshTarget(i)).catch(() => {})
      }
    } finally {
      this.refreshing[family] = false
    }
  }

  tick(): void {
    if (this.o.destroyed()) return
    this.ticks++
    for (const f of this.o.families()) this.maintain(f)
    if (this.ticks % 12 === 0) this.o.sweep()
  }

  /**
   * One family's table upkeep: ping the stalest node and verify one unconfirmed entry, refresh a stale bucket, and
   * look ourselves up again while the table is short of K nodes (after 1, 2, 4, 8, then every 12 ticks): the
   * first nodes to join a network learn of the others only that way.
   */
  private maintain(family: 4 | 6): void {
    const o = this.o
    const table = o.routing.tables[family]
    const stale = table.stalest()
    if (stale) o.ping(stale)
    const unverified = table.unverified()
    if (unverified) o.ping(unverified)
    if (this.refreshing[family]) return
    let target: Uint8Array | undefined
    if (table.size > 0) {
      const buckets = table.staleBuckets()
      if (buckets.length > 0) {
        table.touch(buckets[0])
        target = o.routing.refreshTarget(buckets[0])
      }
    }

    // Few or no nodes (alone at first, or the network was down): look ourselves up again, backing off.
    const short = table.size < o.k && (table.size > 0 || o.seeds.bootstrap.length || o.seeds.saved.length)
    if (!short) this.selfBackoff[family] = 1
    else if (!target && this.ticks >= this.selfLookupTick[family]) {
      target = o.routing.id
      this.selfLookupTick[family] = this.ticks + this.selfBackoff[family]
      this.selfBackoff[family] = Math.min(12, this.selfBackoff[family] * 2)
    }
    if (!target) return
    this.refreshing[family] = true
    o.lookups
      .findNodeIn(family, target)
      .catch(() => {})
      .finally(() => {
        this.refreshing[family] = false
      })
  }
}
