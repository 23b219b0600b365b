// Admission of incoming streams that have not sent their BitTorrent handshake yet. A stream costs a socket and a
// timer until it does, and silent streams (a slowloris) could otherwise hold every slot. So: each transport has its
// own budget (uTP streams exist only after the peer proved its address, see utp/syn-cookie.ts; TCP ones after a
// three-way handshake — neither may starve the other); a full budget never refuses a newcomer but evicts the oldest
// stream of the source prefix (/24, /64) holding the most, so an attacker with many addresses in few prefixes
// evicts itself; and under pressure streams get a much shorter time to send their handshake, which a real peer
// sends at once.
import { tryParseIP, unmapV4 } from '../codec/ip.js'
import type { Clock, Timer } from '../net/types.js'

export type AdmissionTransport = 'tcp' | 'utp'

export interface HandshakeAdmissionOptions {
  /** Streams of one transport waiting for their handshake at once (each transport has its own). Default 64. */
  maxPending?: number
  /** Streams from one IP address waiting at once; more are refused. Default 8. */
  maxPendingPerIp?: number
  /** How long a stream may take to send its handshake, ms. Default 10 s. */
  timeout?: number
  /** The same, once a transport's budget is at least `pressureAt` full, ms. Default 2 s. */
  pressureTimeout?: number
  /** The fraction of the budget from which `pressureTimeout` applies. Default 0.5. */
  pressureAt?: number
}

/** A slot held by one stream: `release()` when its handshake arrived or it closed (idempotent). */
export interface AdmissionTicket {
  release(): void
}

export interface AdmissionStats {
  admitted: number
  /** Refused by the per-IP limit. */
  refused: number
  /** Evicted to make room for a newcomer. */
  evicted: number
  /** Timed out under pressure (the base timeout is the stream reader's). */
  expired: number
}

interface Entry {
  transport: AdmissionTransport
  ip: string
  prefix: string
  since: number
  evict: () => void
  live: boolean
}

/**
 * The source prefix an address is judged by: its /24 (IPv4) or /64 (IPv6), as libtorrent's DHT restricts routing
 * IPs. Loopback is no exception: each 127.x.y.0/24 is its own prefix, so tests on one machine can play many
 * attackers. Anything that is not an IP address is its own prefix.
 */
export function sourcePrefix(host: string): string {
  const b = tryParseIP(host)
  if (!b) return host
  const a = unmapV4(b)
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}/24`
  let s = ''
  for (let i = 0; i < 8; i += 2) s += `${((a[i] << 8) | a[i + 1]).toString(16)}:`
  return `${s}/64`
}

export class HandshakeAdmission {
  readonly stats: AdmissionStats = { admitted: 0, refused: 0, evicted: 0, expired: 0 }
  private readonly maxPending: number
  private readonly maxPerIp: number
  private readonly timeout: number
  private readonly pressureTimeout: number
  private readonly pressureAt: number
  /** Each transport's entries, oldest first (a Set keeps insertion order). */
  private readonly pools: Record<AdmissionTransport, Set<Entry>> = { tcp: new Set(), utp: new Set() }
  private readonly byIp = new Map<string, number>()
  private timer: Timer | null = null

  constructor(
    private readonly clock: Clock,
    options: HandshakeAdmissionOptions = {},
  ) {
    this.maxPending = Math.max(1, options.maxPending ?? 64)
    this.maxPerIp = options.maxPendingPerIp ?? 8
    this.timeout = options.timeout ?? 10_000
    this.pressureTimeout = Math.min(options.pressureTimeout ?? 2000, this.timeout)
    this.pressureAt = options.pressureAt ?? 0.5
  }

  /** Streams of `transport` waiting for their handshake. */
  pending(transport: AdmissionTransport): number {
    return this.pools[transport].size
  }

  /**
   * Admits a stream from `ip`, or returns undefined (refused: that IP has too many waiting). `evict` is called if
   * the stream must make room for another or waited too long under pressure: it should destroy the stream.
   */
  admit(transport: AdmissionTransport, ip: string, evict: () => void): AdmissionTicket | undefined {
    const now = this.clock.now()
    this.expire(now)
    const fromIp = this.byIp.get(ip) ?? 0
    if (fromIp >= this.maxPerIp) {
      this.stats.refused++
      return undefined
    }
    const pool = this.pools[transport]
    if (pool.size >= this.maxPending) {
      const victim = this.victim(pool)
      if (victim) {
        this.stats.evicted++
        this.drop(victim)
      }
    }
    const e: Entry = { transport, ip, prefix: sourcePrefix(ip), since: now, evict, live: true }
    pool.add(e)
    this.byIp.set(ip, fromIp + 1)
    this.stats.admitted++
    if (this.timer === null) this.timer = this.clock.setInterval(() => this.expire(this.clock.now()), 250)
    return { release: () => this.remove(e) }
  }

  /** Forgets every stream (without evicting them) and stops the timer. */
  close(): void {
    for (const pool of Object.values(this.pools)) {
      for (const e of pool) e.live = false
      pool.clear()
    }
    this.byIp.clear()
    this.timer?.cancel()
    this.timer = null
  }

  /** The oldest entry of the prefix holding the most entries (ties: the prefix whose oldest entry is oldest). */
  private victim(pool: Set<Entry>): Entry | undefined {
    const counts = new Map<string, number>()
    let max = 0
    for (const e of pool) {
      const n = (counts.get(e.prefix) ?? 0) + 1
      counts.set(e.prefix, n)
      if (n > max) max = n
    }
    for (const e of pool) if (counts.get(e.prefix) === max) return e
    return undefined
  }

  /** Under pressure, streams that had `pressureTimeout` to send a handshake and did not are evicted. */
  private expire(now: number): void {
    for (const pool of Object.values(this.pools)) {
      if (pool.size < this.maxPending * this.pressureAt) continue
      for (const e of pool) {
        if (now - e.since < this.pressureTimeout) break
        this.stats.expired++
        this.drop(e)
      }
    }
    if (this.timer && this.pools.tcp.size === 0 && this.pools.utp.size === 0) {
      this.timer.cancel()
      this.timer = null
    }
  }

  private drop(e: Entry): void {
    this.remove(e)
    try {
      e.evict()
    } catch {
      // Destroying a stream must not stop admission for the others.
    }
  }

  private remove(e: Entry): void {
    if (!e.live) return
    e.live = false
    this.pools[e.transport].delete(e)
    const n = (this.byIp.get(e.ip) ?? 1) - 1
    if (n > 0) this.byIp.set(e.ip, n)
    else this.byIp.delete(e.ip)
  }
}
