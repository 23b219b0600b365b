// TCP through a simulated NAT, as Linux conntrack and MASQUERADE do it. A flow (one connection's 4-tuple) is
// created by an outbound SYN only: any other segment without a flow is INVALID and dropped. An inbound SYN passes
// only through a port forward, or to a live endpoint-independent mapping that the NAT's filtering admits (which
// for the port-preserving and symmetric presets, address-and-port-dependent, is never: only replies get in). TCP
// has its own port space and its own tables, apart from UDP's. Timeouts follow conntrack's TCP defaults.
import type { Endpoint } from '../types.js'
import type { NatFiltering, NatMapping } from './kinds.js'

/** The kind of a segment, as far as a NAT cares. */
export type TcpSegmentKind = 'syn' | 'synack' | 'ack' | 'data' | 'fin' | 'rst'

/** Conntrack's TCP timeouts (nf_conntrack_tcp_timeout_*), ms. */
const SYN_SENT_MS = 120_000
const ESTABLISHED_MS = 432_000_000 // five days
const CLOSING_MS = 120_000 // fin_wait, close_wait, time_wait
const CLOSE_MS = 10_000 // after a reset

/** Counters of a NAT's TCP side. */
export interface NatTcpStats {
  /** Flows (connections) created. */
  flows: number
  /** Flows held in memory, live or expired but not yet swept. */
  tracked: number
  outbound: number
  inbound: number
  /** Outbound segments other than a SYN with no flow (conntrack INVALID). */
  droppedInvalid: number
  /** Inbound segments to an external port with no flow, mapping or forward. */
  droppedNoMapping: number
  /** Inbound SYNs to a live mapping that the filtering refused. */
  droppedFiltered: number
  /** Outbound SYNs dropped because no external port was free. */
  droppedExhausted: number
}

interface Flow {
  readonly intIp: string
  readonly intPort: number
  readonly remIp: string
  readonly remPort: number
  readonly extIp: string
  readonly extPort: number
  readonly mapping: TcpMapping | null
  /** Whether the first SYN came from the inside. */
  readonly fromInside: boolean
  expires: number
  replied: boolean
  closing: boolean
  /** A RST passed: conntrack's CLOSE state, which every later segment keeps (10 s). */
  reset: boolean
}

/** An endpoint-independent mapping: one external port for an inside endpoint, while any of its flows lives. */
interface TcpMapping {
  readonly key: string
  readonly portKey: string
  readonly intIp: string
  readonly intPort: number
  readonly extPort: number
  readonly flows: Set<Flow>
}

/** What `NatTcp` needs from its NAT. */
export interface NatTcpHost {
  readonly publicIp: string
  readonly translate: boolean
  readonly mapping: NatMapping
  readonly filtering: NatFiltering
  readonly preservePort: boolean
  readonly portRange: readonly [number, number]
  /** A uniform integer in [min, max). */
  randomInt(min: number, max: number): number
}

export class NatTcp {
  /** @internal Result of the last successful `inbound`. */
  resultIp = ''
  resultPort = 0
  private readonly byInside = new Map<string, Flow>()
  private readonly byOutside = new Map<string, Flow>()
  private readonly mappings = new Map<string, TcpMapping>()
  private readonly mappingsByPort = new Map<string, TcpMapping>()
  /** External ports in use: by how many flows. */
  private readonly usedPorts = new Map<number, number>()
  private readonly forwards = new Map<string, Endpoint>()
  private insertsSinceSweep = 0
  private liveAtSweep = 0
  private readonly counters: Omit<NatTcpStats, 'tracked'> = {
    flows: 0,
    outbound: 0,
    inbound: 0,
    droppedInvalid: 0,
    droppedNoMapping: 0,
    droppedFiltered: 0,
    droppedExhausted: 0,
  }

  constructor(private readonly nat: NatTcpHost) {}

  /**
   * Forwards inbound connections to `externalPort` to an inside endpoint (a firewall, which does not translate,
   * opens `to` itself: `externalPort` must equal `to.port`).
   */
  forward(externalPort: number, to: Endpoint): void {
    if (!this.nat.translate && externalPort !== to.port)
      throw new RangeError('a firewall does not translate: the forwarded port must be the inside port')
    this.forwards.set(this.nat.translate ? `${this.nat.publicIp}|${externalPort}` : `${to.host}|${to.port}`, {
      host: to.host,
      port: to.port,
    })
  }

  flush(): void {
    this.byInside.clear()
    this.byOutside.clear()
    this.mappings.clear()
    this.mappingsByPort.clear()
    this.usedPorts.clear()
  }

  stats(): NatTcpStats {
    return { ...this.counters, tracked: this.byInside.size }
  }

  /**
   * An outbound segment. Returns the external source port; -1 when no port was free (a SYN), -2 when the segment
   * belongs to no flow and is not a SYN (dropped as INVALID).
   */
  outbound(intIp: string, intPort: number, remIp: string, remPort: number, kind: TcpSegmentKind, now: number): number {
    let f = this.live(this.byInside.get(`${intIp}|${intPort}|${remIp}|${remPort}`), now)
    if (f === undefined) {
      if (kind !== 'syn') {
        this.counters.droppedInvalid++
        return -2
      }
      f = this.createOutbound(intIp, intPort, remIp, remPort, now)
      if (f === undefined) {
        this.counters.droppedExhausted++
        return -1
      }
    }
    this.counters.outbound++
    this.touch(f, kind, false, now)
    return f.extPort
  }

  /**
   * An inbound segment to `dstIp`:`extPort` (the public address, or for a firewall the inside host's own).
   * Returns null and sets `resultIp`/`resultPort` to the inside endpoint, or returns the drop reason.
   */
  inbound(
    remIp: string,
    remPort: number,
    dstIp: string,
    extPort: number,
    kind: TcpSegmentKind,
    now: number,
  ): 'natNoMapping' | 'natFiltered' | null {
    let f = this.live(this.byOutside.get(`${dstIp}|${extPort}|${remIp}|${remPort}`), now)
    if (f === undefined) {
      if (kind !== 'syn') {
        this.counters.droppedNoMapping++
        return 'natNoMapping'
      }
      const admitted = this.admit(remIp, remPort, dstIp, extPort, now)
      if (typeof admitted === 'string') {
        if (admitted === 'natFiltered') this.counters.droppedFiltered++
        else this.counters.droppedNoMapping++
        return admitted
      }
      f = admitted
    }
    this.counters.inbound++
    this.touch(f, kind, true, now)
    this.resultIp = f.intIp
    this.resultPort = f.intPort
    return null
  }

  /** An unsolicited inbound SYN: a forward, or a mapping the filtering admits; else the drop reason. */
  private admit(
    remIp: string,
    remPort: number,
    dstIp: string,
    extPort: number,
    now: number,
  ): Flow | 'natNoMapping' | 'natFiltered' {
    const fwd = this.forwards.get(`${dstIp}|${extPort}`)
    if (fwd !== undefined) {
      return this.insert(fwd.host, fwd.port, remIp, remPort, dstIp, extPort, null, now, false)
    }
    const m = this.mappingsByPort.get(`${dstIp}|${extPort}`)
    if (m === undefined || !this.mappingLive(m, now)) return 'natNoMapping'
    const filtering = this.nat.filtering
    let ok = filtering === 'endpoint-independent'
    if (filtering === 'address-dependent') {
      for (const g of m.flows) if (g.remIp === remIp && g.expires > now) ok = true
    }
    if (!ok) return 'natFiltered'
    return this.insert(m.intIp, m.intPort, remIp, remPort, dstIp, extPort, m, now, false)
  }

  private createOutbound(intIp: string, intPort: number, remIp: string, remPort: number, now: number) {
    const extIp = this.nat.translate ? this.nat.publicIp : intIp
    if (!this.nat.translate) {
      const m = this.mapping(intIp, intPort, extIp, intPort, now)
      return this.insert(intIp, intPort, remIp, remPort, extIp, intPort, m, now, true)
    }
    if (this.nat.mapping === 'endpoint-independent') {
      const have = this.mappings.get(`${intIp}|${intPort}`)
      if (have !== undefined && this.mappingLive(have, now)) {
        return this.insert(intIp, intPort, remIp, remPort, extIp, have.extPort, have, now, true)
      }
      const ext = this.allocate(intPort, now)
      if (ext < 0) return undefined
      const m = this.mapping(intIp, intPort, extIp, ext, now)
      return this.insert(intIp, intPort, remIp, remPort, extIp, ext, m, now, true)
    }
    const ext = this.allocate(intPort, now)
    if (ext < 0) return undefined
    return this.insert(intIp, intPort, remIp, remPort, extIp, ext, null, now, true)
  }

  private mapping(intIp: string, intPort: number, extIp: string, extPort: number, now: number): TcpMapping {
    const key = `${intIp}|${intPort}`
    const have = this.mappings.get(key)
    if (have !== undefined && this.mappingLive(have, now)) return have
    if (have !== undefined) this.dropMapping(have)
    const m: TcpMapping = { key, portKey: `${extIp}|${extPort}`, intIp, intPort, extPort, flows: new Set() }
    this.mappings.set(key, m)
    this.mappingsByPort.set(m.portKey, m)
    return m
  }

  private insert(
    intIp: string,
    intPort: number,
    remIp: string,
    remPort: number,
    extIp: string,
    extPort: number,
    mapping: TcpMapping | null,
    now: number,
    fromInside: boolean,
  ): Flow {
    const f: Flow = {
      intIp,
      intPort,
      remIp,
      remPort,
      extIp,
      extPort,
      mapping,
      fromInside,
      expires: now + SYN_SENT_MS,
      replied: false,
      closing: false,
      reset: false,
    }
    this.byInside.set(`${intIp}|${intPort}|${remIp}|${remPort}`, f)
    this.byOutside.set(`${extIp}|${extPort}|${remIp}|${remPort}`, f)
    mapping?.flows.add(f)
    if (this.nat.translate) this.usedPorts.set(extPort, (this.usedPorts.get(extPort) ?? 0) + 1)
    this.counters.flows++
    this.noteInsert(now)
    return f
  }

  /** Updates a flow's state and lifetime for a segment passing it. */
  private touch(f: Flow, kind: TcpSegmentKind, inbound: boolean, now: number): void {
    // Replied (conntrack's ESTABLISHED once the handshake ends): traffic against the direction of the first SYN.
    if (inbound === f.fromInside) f.replied = true
    if (kind === 'rst') f.reset = true
    if (f.reset) {
      f.expires = now + CLOSE_MS
      return
    }
    if (kind === 'fin') f.closing = true
    f.expires = now + (f.closing ? CLOSING_MS : f.replied ? ESTABLISHED_MS : SYN_SENT_MS)
  }

  private live(f: Flow | undefined, now: number): Flow | undefined {
    if (f === undefined || f.expires > now) return f
    this.remove(f)
    return undefined
  }

  private mappingLive(m: TcpMapping, now: number): boolean {
    for (const f of m.flows) {
      if (f.expires > now) return true
      this.remove(f)
    }
    return false
  }

  private remove(f: Flow): void {
    const ik = `${f.intIp}|${f.intPort}|${f.remIp}|${f.remPort}`
    if (this.byInside.get(ik) === f) this.byInside.delete(ik)
    const ok = `${f.extIp}|${f.extPort}|${f.remIp}|${f.remPort}`
    if (this.byOutside.get(ok) === f) this.byOutside.delete(ok)
    if (this.nat.translate) {
      const n = (this.usedPorts.get(f.extPort) ?? 1) - 1
      if (n > 0) this.usedPorts.set(f.extPort, n)
      else this.usedPorts.delete(f.extPort)
    }
    const m = f.mapping
    if (m !== null) {
      m.flows.delete(f)
      if (m.flows.size === 0) this.dropMapping(m)
    }
  }

  private dropMapping(m: TcpMapping): void {
    if (this.mappings.get(m.key) === m) this.mappings.delete(m.key)
    if (this.mappingsByPort.get(m.portKey) === m) this.mappingsByPort.delete(m.portKey)
  }

  private allocate(intPort: number, now: number): number {
    const port = this.pick(intPort)
    if (port >= 0) return port
    // Expired flows may still hold ports until swept: sweep, then try once more.
    this.sweep(now)
    return this.pick(intPort)
  }

  private pick(intPort: number): number {
    const [lo, hi] = this.nat.portRange
    if (this.nat.preservePort && intPort >= lo && intPort <= hi && !this.usedPorts.has(intPort)) return intPort
    const size = hi - lo + 1
    const start = this.nat.randomInt(0, size)
    for (let i = 0; i < size; i++) {
      const port = lo + ((start + i) % size)
      if (!this.usedPorts.has(port)) return port
    }
    return -1
  }

  /** Sweeps expired flows once inserts since the last sweep outnumber what was live then: amortised O(1). */
  private noteInsert(now: number): void {
    if (++this.insertsSinceSweep < 256 || this.insertsSinceSweep < this.liveAtSweep) return
    this.sweep(now)
  }

  private sweep(now: number): void {
    this.insertsSinceSweep = 0
    let live = 0
    for (const f of [...this.byInside.values()]) {
      if (f.expires <= now) this.remove(f)
      else live++
    }
    this.liveAtSweep = live
  }
}
