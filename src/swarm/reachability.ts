// What kind of NAT mapping our UDP port sits behind, from how other hosts see it. Every DHT reply carries BEP 42's
// `ip`: the address and port the replying node saw our query come from. A NAT that keeps one mapping per socket
// (endpoint-independent mapping, "consistent") shows every node the same external port; one that makes a mapping
// per destination (endpoint-dependent, "random", a symmetric NAT) shows each node another port; no NAT at all shows
// our own address and port ("public"). Reports are kept per reporter address (the latest one wins, a sliding window
// of `maxReporters`), so one liar, or many reports from one address, cannot decide the kind alone: a kind needs at
// least `minReporters` distinct addresses, "consistent" needs two thirds of them to agree on one port and "random"
// needs no port to have more than half. Until then the kind is `unknown`.
import { EventEmitter } from 'node:events'
import { networkInterfaces } from 'node:os'
import { normalizeIP } from '../codec/ip.js'
import type { Endpoint } from '../net/types.js'

export type MappingKind = 'unknown' | 'public' | 'consistent' | 'random'

export interface Reachability {
  kind: MappingKind
  /** External endpoints we were seen at, most reported first (at most 8). */
  external: Endpoint[]
  /** How the kind was learnt: from DHT nodes' BEP 42 reports, or nothing yet. */
  learnt: 'none' | 'dht'
  /** Distinct reporter addresses behind the kind. */
  reporters: number
  /**
   * Whether a router port mapping (UPnP IGD, NAT-PMP, PCP) is active; undefined when the node has no port mapping
   * support (the port-mapping part fills it in).
   */
  portMapping: boolean | undefined
}

export interface ReachabilityOptions {
  /** Distinct reporter addresses needed before a kind is given. Default 2. */
  minReporters?: number
  /** Most reporter addresses remembered (oldest dropped first). Default 32. */
  maxReporters?: number
  /** True for an address of this host (a report of it, with our port, means "public"). */
  isLocalAddress?: (host: string) => boolean
}

export type ReachabilityEvents = {
  /** The kind or the main external endpoint changed. */
  change: [r: Reachability]
}

interface Report {
  host: string
  port: number
}

export class ReachabilityTracker extends EventEmitter<ReachabilityEvents> {
  private readonly reports = new Map<string, Report>() // reporter IP → what it saw
  private last: Reachability
  private readonly minReporters: number
  private readonly maxReporters: number

  constructor(
    /** Our local port (the one the reports are about). */
    private readonly localPort: number,
    private readonly options: ReachabilityOptions = {},
  ) {
    super()
    this.minReporters = Math.max(2, options.minReporters ?? 2)
    this.maxReporters = Math.max(this.minReporters, options.maxReporters ?? 32)
    this.last = { kind: 'unknown', external: [], learnt: 'none', reporters: 0, portMapping: undefined }
  }

  get current(): Reachability {
    return { ...this.last, external: this.last.external.map((e) => ({ ...e })) }
  }

  /** `reporter` says it sees us at `seen`. Returns true when this changed the kind or the main endpoint. */
  report(seen: Endpoint, reporter: Endpoint): boolean {
    const host = normalizeIP(seen.host)
    const from = normalizeIP(reporter.host)
    if (!host || !from || !Number.isInteger(seen.port) || seen.port <= 0 || seen.port > 65535) return false
    const prev = this.reports.get(from)
    if (prev?.host === host && prev.port === seen.port) return false
    this.reports.delete(from)
    if (this.reports.size >= this.maxReporters) this.reports.delete(this.reports.keys().next().value as string)
    this.reports.set(from, { host, port: seen.port })
    return this.update()
  }

  private update(): boolean {
    const next = this.classify()
    const was = this.last
    this.last = next
    const changed =
      was.kind !== next.kind ||
      was.external[0]?.host !== next.external[0]?.host ||
      was.external[0]?.port !== next.external[0]?.port
    if (changed) this.emit('change', this.current)
    return changed
  }

  private classify(): Reachability {
    const base: Reachability = { kind: 'unknown', external: [], learnt: 'none', reporters: 0, portMapping: undefined }
    if (this.reports.size === 0) return base
    // The address most reporters agree on; reports of other addresses (liars, a second egress IP) are left out.
    const byHost = tally([...this.reports.values()].map((r) => r.host))
    const host = byHost[0][0]
    const ports = tally([...this.reports.values()].filter((r) => r.host === host).map((r) => String(r.port)))
    const n = ports.reduce((s, [, c]) => s + c, 0)
    const top = ports[0][1]
    const external = ports.slice(0, 8).map(([p]) => ({ host, port: Number(p) }))
    let kind: MappingKind = 'unknown'
    if (n >= this.minReporters) {
      if (top >= 2 && top * 3 >= n * 2) {
        const own = Number(ports[0][0]) === this.localPort && (this.options.isLocalAddress?.(host) ?? false)
        kind = own ? 'public' : 'consistent'
      } else if (top * 2 <= n) kind = 'random'
    }
    return { kind, external, learnt: 'dht', reporters: n, portMapping: undefined }
  }
}

/** Values with their counts, most frequent first (ties: first seen first). */
function tally(values: string[]): [string, number][] {
  const m = new Map<string, number>()
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1)
  return [...m].sort((a, b) => b[1] - a[1])
}

/** True for an address of this host: the one we are bound to, or one of its interfaces'. */
export function isLocalAddress(host: string, bound: Endpoint): boolean {
  if (host === bound.host) return true
  for (const list of Object.values(networkInterfaces())) {
    if (list?.some((i) => i.address === host)) return true
  }
  return false
}
