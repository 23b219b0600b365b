// NAT routers of the simulated network. A NAT owns a LAN (a realm of private hosts) and one public address in the
// realm outside it. Mapping state expires lazily on access, with an amortised sweep: an idle NAT costs no timer.
//
// Behaviour follows RFC 4787's vocabulary: mapping (endpoint-independent or address-and-port-dependent) and
// filtering (endpoint-independent, address-dependent, address-and-port-dependent). Timeouts default to Linux
// conntrack's UDP values: 30 s until the first reply, 120 s once traffic flowed both ways. TCP goes through its
// own tables with the same mapping and filtering (nat-tcp.ts).

import type { Endpoint } from '../types.js'
import type { VirtualClock } from './clock.js'
import { type Conditions, type LinkConditions, NEUTRAL, resolveConditions } from './conditions.js'
import type { NatFiltering, NatMapping } from './kinds.js'
import { NatTcp, type NatTcpStats } from './nat-tcp.js'
import { type Gateway, Realm, type RealmWorld, type SimHost } from './realm.js'
import type { SimSocket } from './socket.js'
import type { SimTcp } from './tcp.js'

export type { NatFiltering, NatMapping } from './kinds.js'

/** What a NAT needs of the network (a `SimNetwork`), beyond what its LAN needs. */
export interface NatWorld extends RealmWorld {
  readonly clock: VirtualClock
  /** The TCP stack of a host. */
  tcpStack(host: SimHost): SimTcp
}

/**
 * Presets:
 * - `port-preserving`: endpoint-independent mapping that keeps the source port when free, address-and-port-
 *   dependent filtering (Linux `masquerade`; what UDP hole punching needs and gets through).
 * - `full-cone`: endpoint-independent mapping and filtering: a mapping accepts anyone.
 * - `restricted-cone`: endpoint-independent mapping, address-dependent filtering.
 * - `symmetric`: a new random external port per destination, address-and-port-dependent filtering (Linux
 *   `masquerade fully-random`): hole punching fails.
 * - `firewall`: no translation at all (inside hosts keep their own, globally routable addresses), address-and-port-
 *   dependent filtering: the stateful firewall of an IPv6 home router (RFC 6092). Hole punching works.
 */
export type NatType = 'port-preserving' | 'full-cone' | 'restricted-cone' | 'symmetric' | 'firewall'

export interface NatOptions {
  /** The NAT's address in the outer realm (e.g. `'198.51.100.1'`). Required. */
  publicIp: string
  /** Behaviour preset. Default: `'port-preserving'`. */
  type?: NatType
  /** Overrides the preset's mapping behaviour. */
  mapping?: NatMapping
  /** Overrides the preset's filtering behaviour. */
  filtering?: NatFiltering
  /** Keep the inside source port as the external port when it is free. Default: true, false for `symmetric`. */
  preservePort?: boolean
  /** Lifetime of a mapping that has only seen outbound traffic, in ms. Default: 30,000. */
  udpTimeoutMs?: number
  /** Lifetime once a reply came back (refreshed by traffic either way), in ms. Default: 120,000. */
  udpStreamTimeoutMs?: number
  /** Let LAN hosts reach each other through the public address. Default: false. */
  hairpin?: boolean
  /** External ports to allocate from, inclusive. Default: `[1024, 65535]`. */
  portRange?: [number, number]
  /** Path conditions inside the LAN. Default: `{ latencyMs: 0.5 }`, nothing else. */
  lanConditions?: LinkConditions
  /** The NAT's uplink to the outside (an access link: latency, loss, bandwidth…). Default: none. */
  conditions?: LinkConditions
}

/** Counters of one NAT. */
export interface NatStats {
  /** Mappings created (a new external port was allocated). */
  mappingsCreated: number
  /** Live mappings. */
  mappings: number
  /** Mappings held in memory, live or expired but not yet swept (bounded by the amortised sweep). */
  tracked: number
  outbound: number
  inbound: number
  /** Inbound datagrams to an external port with no live mapping. */
  droppedNoMapping: number
  /** Inbound datagrams the filter refused (unsolicited by the inside host). */
  droppedFiltered: number
  /** LAN datagrams to the NAT's own public address with hairpinning off. */
  droppedHairpin: number
  /** Outbound datagrams dropped because no external port was free. */
  droppedExhausted: number
}

interface Permission {
  expires: number
  twoWay: boolean
}

interface Mapping {
  readonly intIp: string
  readonly intPort: number
  readonly extPort: number
  readonly key: string
  expires: number
  readonly perms: Map<string, Permission>
}

const APDF = 'address-and-port-dependent'
const PRESETS: Record<NatType, { mapping: NatMapping; filtering: NatFiltering; preservePort: boolean }> = {
  'port-preserving': { mapping: 'endpoint-independent', filtering: APDF, preservePort: true },
  'full-cone': { mapping: 'endpoint-independent', filtering: 'endpoint-independent', preservePort: true },
  'restricted-cone': { mapping: 'endpoint-independent', filtering: 'address-dependent', preservePort: true },
  symmetric: { mapping: 'address-and-port-dependent', filtering: APDF, preservePort: false },
  firewall: { mapping: 'endpoint-independent', filtering: APDF, preservePort: true },
}

const LAN_DEFAULT: Readonly<Conditions> = Object.freeze({ ...NEUTRAL, latencyMs: 0.5 })

export class NatRouter implements Gateway {
  readonly kind = 'nat'
  readonly id: number
  readonly type: NatType
  readonly mapping: NatMapping
  readonly filtering: NatFiltering
  readonly preservePort: boolean
  /** False for `firewall`: addresses and ports pass unchanged, only the filter applies. */
  readonly translate: boolean
  readonly udpTimeoutMs: number
  readonly udpStreamTimeoutMs: number
  hairpin: boolean
  /** The NAT's address in `outer`. */
  readonly publicIp: string
  /** The private side: bind hosts here with `bind`/`host`. */
  readonly lan: Realm
  /** @internal Resolved LAN path and uplink conditions. */
  lanConditions: Conditions
  /** @internal */ conditions: Conditions | null
  /** @internal Uplink / downlink queue state when `conditions` limits bandwidth. */
  readonly up = { busyUntil: 0 }
  readonly down = { busyUntil: 0 }
  /** @internal Result of the last successful `inbound`. */
  resultIp = ''
  resultPort = 0

  private tcpTable: NatTcp | undefined
  private readonly byInternal = new Map<string, Mapping>()
  private readonly byExternal = new Map<number, Mapping>()
  private readonly lo: number
  private readonly hi: number
  private insertsSinceSweep = 0
  private liveAtSweep = 0
  private readonly counters: Omit<NatStats, 'mappings' | 'tracked'> = {
    mappingsCreated: 0,
    outbound: 0,
    inbound: 0,
    droppedNoMapping: 0,
    droppedFiltered: 0,
    droppedHairpin: 0,
    droppedExhausted: 0,
  }

  /** @internal Use `SimNetwork.addNat` (or `NatRouter.addNat` for a NAT behind this one). */
  constructor(
    private readonly network: NatWorld,
    /** The realm the public address lives in. */
    readonly outer: Realm,
    opts: NatOptions,
  ) {
    this.publicIp = outer.claim(opts.publicIp)
    this.id = network.nextId()
    this.type = opts.type ?? 'port-preserving'
    const preset = PRESETS[this.type]
    if (!preset) throw new RangeError(`unknown NAT type ${JSON.stringify(opts.type)}`)
    this.mapping = opts.mapping ?? preset.mapping
    this.filtering = opts.filtering ?? preset.filtering
    this.translate = this.type !== 'firewall'
    // Without translation a mapping is per inside endpoint and keeps its port by definition.
    if (!this.translate) this.mapping = 'endpoint-independent'
    this.preservePort = this.translate ? (opts.preservePort ?? preset.preservePort) : true
    this.udpTimeoutMs = opts.udpTimeoutMs ?? 30_000
    this.udpStreamTimeoutMs = opts.udpStreamTimeoutMs ?? 120_000
    this.hairpin = opts.hairpin ?? false
    const [lo, hi] = opts.portRange ?? [1024, 65535]
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi <= 65535 && lo <= hi))
      throw new RangeError(`bad NAT port range [${lo}, ${hi}]`)
    this.lo = lo
    this.hi = hi
    this.lanConditions = resolveConditions(opts.lanConditions, LAN_DEFAULT)
    this.conditions = opts.conditions ? resolveConditions(opts.conditions, NEUTRAL) : null
    this.lan = new Realm(network, this)
    outer.attach(this)
  }

  /** Binds a socket on a LAN host (created on first use). `port` 0 or omitted: ephemeral. */
  bind(ip: string, port = 0): SimSocket {
    return this.lan.bind(ip, port)
  }

  /** The LAN host with this address, created on first use (to set its access-link conditions). */
  host(ip: string): SimHost {
    return this.lan.host(ip)
  }

  /** A NAT inside this NAT's LAN (carrier-grade NAT in front of home NATs). */
  addNat(opts: NatOptions): NatRouter {
    return new NatRouter(this.network, this.lan, opts)
  }

  /** Sets the LAN path conditions (see `NatOptions.lanConditions`). */
  setLanConditions(c: LinkConditions): void {
    this.lanConditions = resolveConditions(c, LAN_DEFAULT)
  }

  /** Sets (or with `null` removes) the uplink conditions (see `NatOptions.conditions`). */
  setConditions(c: LinkConditions | null): void {
    this.conditions = c ? resolveConditions(c, NEUTRAL) : null
  }

  /** Forgets every mapping at once (like flushing conntrack), UDP and TCP. */
  flush(): void {
    this.byInternal.clear()
    this.byExternal.clear()
    this.tcpTable?.flush()
  }

  /** A LAN host's TCP stack (the host is created on first use). */
  tcp(ip: string): SimTcp {
    return this.network.tcpStack(this.lan.host(ip))
  }

  /** @internal The TCP side (conntrack for TCP flows; see nat-tcp.ts), created on first use. */
  get tcpTrack(): NatTcp {
    this.tcpTable ??= new NatTcp({
      publicIp: this.publicIp,
      translate: this.translate,
      mapping: this.mapping,
      filtering: this.filtering,
      preservePort: this.preservePort,
      portRange: [this.lo, this.hi],
      randomInt: (min, max) => this.network.random.int(min, max),
    })
    return this.tcpTable
  }

  /**
   * Forwards inbound TCP connections to `externalPort` to an inside endpoint (a port forward, DNAT). On a
   * `firewall` NAT, which does not translate, it opens `to` (and `externalPort` must be `to.port`).
   */
  forwardTcp(externalPort: number, to: Endpoint): void {
    this.tcpTrack.forward(externalPort, to)
  }

  /** Counters of the TCP side. */
  tcpStats(): NatTcpStats {
    return this.tcpTrack.stats()
  }

  stats(): NatStats {
    const now = this.network.clock.now()
    let live = 0
    for (const m of this.byInternal.values()) if (m.expires > now) live++
    return { ...this.counters, mappings: live, tracked: this.byInternal.size }
  }

  /** The external port currently mapped for an inside endpoint (endpoint-independent mapping only). */
  externalPort(intIp: string, intPort: number): number | undefined {
    const m = this.byInternal.get(`${intIp}|${intPort}`)
    return m && m.expires > this.network.clock.now() ? m.extPort : undefined
  }

  /** @internal Translates an outbound datagram; returns the external source port, or -1 (no port free). */
  outbound(intIp: string, intPort: number, remIp: string, remPort: number, now: number): number {
    this.counters.outbound++
    const key =
      this.mapping === 'endpoint-independent' ? `${intIp}|${intPort}` : `${intIp}|${intPort}|${remIp}|${remPort}`
    let m = this.byInternal.get(key)
    if (m !== undefined && m.expires <= now) {
      this.remove(m)
      m = undefined
    }
    if (m === undefined) {
      const ext = this.translate ? this.allocate(intPort, now) : intPort
      if (ext < 0) {
        this.counters.droppedExhausted++
        return -1
      }
      m = { intIp, intPort, extPort: ext, key, expires: 0, perms: new Map() }
      this.byInternal.set(key, m)
      if (this.translate) this.byExternal.set(ext, m)
      this.counters.mappingsCreated++
      this.noteInsert(now)
    }
    const pk = this.permKey(remIp, remPort)
    let p = m.perms.get(pk)
    if (p !== undefined && p.expires > now) {
      p.expires = now + (p.twoWay ? this.udpStreamTimeoutMs : this.udpTimeoutMs)
    } else {
      p = { expires: now + this.udpTimeoutMs, twoWay: false }
      m.perms.set(pk, p)
      this.noteInsert(now)
    }
    if (p.expires > m.expires) m.expires = p.expires
    return m.extPort
  }

  /**
   * @internal Filters and translates an inbound datagram. Returns null and sets `resultIp`/`resultPort` to the
   * inside endpoint, or returns the drop reason.
   */
  inbound(
    remIp: string,
    remPort: number,
    dstIp: string,
    extPort: number,
    now: number,
  ): 'natNoMapping' | 'natFiltered' | null {
    const m = this.translate ? this.byExternal.get(extPort) : this.byInternal.get(`${dstIp}|${extPort}`)
    if (m === undefined || m.expires <= now) {
      if (m !== undefined) this.remove(m)
      this.counters.droppedNoMapping++
      return 'natNoMapping'
    }
    const pk = this.permKey(remIp, remPort)
    let p = m.perms.get(pk)
    if (p !== undefined && p.expires <= now) {
      m.perms.delete(pk)
      p = undefined
    }
    if (p === undefined) {
      if (this.filtering !== 'endpoint-independent') {
        this.counters.droppedFiltered++
        return 'natFiltered'
      }
      p = { expires: 0, twoWay: true }
      m.perms.set(pk, p)
      this.noteInsert(now)
    }
    p.twoWay = true
    p.expires = now + this.udpStreamTimeoutMs
    if (p.expires > m.expires) m.expires = p.expires
    this.counters.inbound++
    this.resultIp = m.intIp
    this.resultPort = m.intPort
    return null
  }

  /** @internal */
  countHairpinDrop(): void {
    this.counters.droppedHairpin++
  }

  private permKey(remIp: string, remPort: number): string {
    return this.filtering === 'address-dependent' ? remIp : `${remIp}|${remPort}`
  }

  private allocate(intPort: number, now: number): number {
    if (this.preservePort && intPort >= this.lo && intPort <= this.hi && this.portFree(intPort, now)) return intPort
    const size = this.hi - this.lo + 1
    const start = this.network.random.int(0, size)
    for (let i = 0; i < size; i++) {
      const port = this.lo + ((start + i) % size)
      if (this.portFree(port, now)) return port
    }
    return -1
  }

  private portFree(port: number, now: number): boolean {
    const m = this.byExternal.get(port)
    if (m === undefined) return true
    if (m.expires > now) return false
    this.remove(m)
    return true
  }

  private remove(m: Mapping): void {
    if (this.byExternal.get(m.extPort) === m) this.byExternal.delete(m.extPort)
    if (this.byInternal.get(m.key) === m) this.byInternal.delete(m.key)
  }

  /** Sweeps expired state once inserts since the last sweep outnumber what was live then: amortised O(1). */
  private noteInsert(now: number): void {
    if (++this.insertsSinceSweep < 256 || this.insertsSinceSweep < this.liveAtSweep) return
    this.insertsSinceSweep = 0
    let live = 0
    for (const m of [...this.byInternal.values()]) {
      if (m.expires <= now) {
        this.remove(m)
        continue
      }
      for (const [k, p] of m.perms) if (p.expires <= now) m.perms.delete(k)
      live += 1 + m.perms.size
    }
    this.liveAtSweep = live
  }
}
