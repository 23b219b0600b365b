// An in-memory UDP network on virtual time. Hosts live in realms: the internet, and one LAN per NAT. A datagram is
// routed, translated by the NATs on its way out, and given its delay when sent; one clock event delivers it, and
// the NATs on its way in filter and translate it at arrival time. Idle hosts and sockets cost memory only.
import { ipFamily, isValidPort, unmapV4 } from '../address.js'
import { NetError } from '../errors.js'
import type { AddressFamily, Endpoint } from '../types.js'
import { type SimEvent, VirtualClock } from './clock.js'
import {
  accumulate,
  type Conditions,
  DEFAULT_CONDITIONS,
  type LinkConditions,
  NEUTRAL,
  resolveConditions,
  serialize,
} from './conditions.js'
import { type NatOptions, NatRouter } from './nat.js'
import { SeededRandom } from './random.js'
import { SimSocket } from './socket.js'

/** Why the network dropped a datagram after `send` accepted it. */
export type DropReason =
  | 'loss' // random loss
  | 'mtu' // larger than the path MTU
  | 'queue' // access-link queue full
  | 'unroutable' // no host with that address is reachable from the sender
  | 'noListener' // nothing bound on the destination port (ICMP port unreachable on a real network)
  | 'natNoMapping' // inbound to a NAT port with no live mapping
  | 'natFiltered' // inbound the NAT's filter refused (unsolicited)
  | 'natHairpin' // to the sender's own NAT public address with hairpinning off
  | 'natExhausted' // the NAT had no free external port

export interface SimNetworkStats {
  /** Datagrams accepted by `send` (the copies of a duplicated one count once). */
  sent: number
  /** Sends refused at once (closed socket, bad destination, wrong family, oversize). */
  rejected: number
  /** Datagrams handed to a bound socket (including duplicates). */
  delivered: number
  deliveredBytes: number
  /** Of `delivered`, those that found no receiver set on the socket. */
  unhandled: number
  /** Extra copies created by `duplicate`. */
  duplicated: number
  dropped: Record<DropReason, number>
}

export interface SimNetworkOptions {
  /** Default: a new `VirtualClock` at time 0. */
  clock?: VirtualClock
  /** Default: `new SeededRandom(1)`. Every random choice of the network (loss, jitter, ports) comes from it. */
  random?: SeededRandom
  /** Internet path conditions; unset fields come from `DEFAULT_CONDITIONS` (10 ms, no loss, MTU 1500). */
  defaults?: LinkConditions
}

const EPHEMERAL_LO = 49152
const EPHEMERAL_SIZE = 65536 - EPHEMERAL_LO

/** A simulated machine with one IP address. Bind sockets on it through its realm (`SimNetwork.bind`). */
export class SimHost {
  readonly kind = 'host'
  readonly id: number
  readonly family: AddressFamily
  /** @internal */ readonly sockets = new Map<number, SimSocket>()
  /** @internal Access-link conditions, both directions. */ conditions: Conditions | null = null
  /** @internal */ up: { busyUntil: number } | null = null
  /** @internal */ down: { busyUntil: number } | null = null

  constructor(
    readonly realm: Realm,
    readonly ip: string,
  ) {
    this.id = realm.network.nextId()
    this.family = ip.includes(':') ? 6 : 4
  }

  /** Sets (or with `null` removes) this host's access link: added to every path from or to it. */
  setConditions(c: LinkConditions | null): void {
    this.conditions = c ? resolveConditions(c, NEUTRAL) : null
    this.up = c ? { busyUntil: 0 } : null
    this.down = c ? { busyUntil: 0 } : null
  }

  /** @internal */
  unbind(s: SimSocket): void {
    if (this.sockets.get(s.port) === s) this.sockets.delete(s.port)
  }
}

/** An address space: the internet, or the LAN behind one NAT. */
export class Realm {
  /** @internal */ readonly records = new Map<string, SimHost | NatRouter>()

  constructor(
    readonly network: SimNetwork,
    /** The NAT this realm is the LAN of; null for the internet. */
    readonly gateway: NatRouter | null,
  ) {}

  /** The host with this address, created on first use. */
  host(ip: string): SimHost {
    const key = canonicalIp(ip)
    const rec = this.records.get(key)
    if (rec !== undefined) {
      if (rec.kind === 'nat') throw new NetError('EADDRNOTAVAIL', `${ip} is a NAT's public address`)
      return rec
    }
    const h = new SimHost(this, key)
    this.records.set(key, h)
    this.network.noteIp(key)
    return h
  }

  /** Binds a socket on `ip` (the host is created on first use). Port 0: a free ephemeral port. */
  bind(ip: string, port = 0): SimSocket {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new NetError('EINVAL', `bad port ${port}`)
    const h = this.host(ip)
    if (port === 0) {
      const start = this.network.random.int(0, EPHEMERAL_SIZE)
      for (let i = 0; i < EPHEMERAL_SIZE && port === 0; i++) {
        const p = EPHEMERAL_LO + ((start + i) % EPHEMERAL_SIZE)
        if (!h.sockets.has(p)) port = p
      }
      if (port === 0) throw new NetError('EADDRINUSE', `no free ephemeral port on ${ip}`)
    } else if (h.sockets.has(port)) {
      throw new NetError('EADDRINUSE', `${ip}:${port} is already bound`)
    }
    const s = new SimSocket(this.network, h, port)
    h.sockets.set(port, s)
    return s
  }

  /** Adds a NAT whose public address lives in this realm. */
  addNat(opts: NatOptions): NatRouter {
    const ip = canonicalIp(opts.publicIp)
    if (this.records.has(ip)) throw new NetError('EADDRINUSE', `${ip} is already in use`)
    const nat = new NatRouter(this.network, this, ip, opts, (n) => new Realm(this.network, n))
    this.records.set(ip, nat)
    this.network.noteIp(ip)
    return nat
  }
}

class Packet implements SimEvent {
  at = 0
  seq = 0
  dead = false
  constructor(
    private readonly net: SimNetwork,
    readonly data: Uint8Array,
    readonly srcIp: string,
    readonly srcPort: number,
    readonly dst: SimHost | NatRouter,
    readonly dstPort: number,
  ) {}

  fire(): void {
    this.net.arrive(this)
  }
}

/**
 * The simulated network. `bind(ip)` for hosts on the internet, `addNat({ publicIp })` for a NAT whose `bind(ip)`
 * puts hosts behind it. Delivery runs on `clock`; every datagram is copied on send.
 */
export class SimNetwork {
  readonly clock: VirtualClock
  readonly random: SeededRandom
  /** Internet path conditions (resolved). Change with `setDefaults`. */
  defaults: Conditions
  readonly internet: Realm
  private ids = 0
  private readonly ipUse = new Map<string, number>()
  private readonly links = new Map<string, Conditions>()
  private readonly path: Conditions = { ...NEUTRAL }
  private readonly counters: Omit<SimNetworkStats, 'dropped'> = {
    sent: 0,
    rejected: 0,
    delivered: 0,
    deliveredBytes: 0,
    unhandled: 0,
    duplicated: 0,
  }
  private readonly dropped: Record<DropReason, number> = {
    loss: 0,
    mtu: 0,
    queue: 0,
    unroutable: 0,
    noListener: 0,
    natNoMapping: 0,
    natFiltered: 0,
    natHairpin: 0,
    natExhausted: 0,
  }

  constructor(opts: SimNetworkOptions = {}) {
    this.clock = opts.clock ?? new VirtualClock()
    this.random = opts.random ?? new SeededRandom(1)
    this.defaults = resolveConditions(opts.defaults, DEFAULT_CONDITIONS)
    this.internet = new Realm(this, null)
  }

  /** Binds a socket on an internet host. Throws `NetError` `EADDRINUSE`, `EINVAL`, `EADDRNOTAVAIL`. */
  bind(ip: string, port = 0): SimSocket {
    return this.internet.bind(ip, port)
  }

  /** The internet host with this address, created on first use. */
  host(ip: string): SimHost {
    return this.internet.host(ip)
  }

  /** Adds a NAT with its public address on the internet. */
  addNat(opts: NatOptions): NatRouter {
    return this.internet.addNat(opts)
  }

  /** Replaces the internet path conditions (unset fields from `DEFAULT_CONDITIONS`). */
  setDefaults(c: LinkConditions): void {
    this.defaults = resolveConditions(c, DEFAULT_CONDITIONS)
  }

  /**
   * Overrides the internet path between two endpoints (hosts, or NATs for the hosts behind them), replacing
   * `defaults` for that pair; `null` removes the override. Both directions unless `oneWay`.
   */
  setLinkConditions(
    a: SimHost | NatRouter | string,
    b: SimHost | NatRouter | string,
    c: LinkConditions | null,
    opts: { oneWay?: boolean } = {},
  ): void {
    const ra = this.record(a)
    const rb = this.record(b)
    const resolved = c ? resolveConditions(c, this.defaults) : null
    for (const key of opts.oneWay ? [`${ra.id}>${rb.id}`] : [`${ra.id}>${rb.id}`, `${rb.id}>${ra.id}`]) {
      if (resolved) this.links.set(key, resolved)
      else this.links.delete(key)
    }
  }

  stats(): SimNetworkStats {
    return { ...this.counters, dropped: { ...this.dropped } }
  }

  /** @internal */
  nextId(): number {
    return ++this.ids
  }

  /** @internal */
  noteIp(ip: string): void {
    this.ipUse.set(ip, (this.ipUse.get(ip) ?? 0) + 1)
  }

  /** @internal The send path of `SimSocket`. */
  route(sock: SimSocket, data: Uint8Array, to: Endpoint): void {
    const now = this.clock.now()
    const dstPort = to.port
    let dstIp = to.host
    if (sock.closed || !isValidPort(dstPort) || typeof dstIp !== 'string') return this.reject(sock)
    if (!this.ipUse.has(dstIp)) {
      // Not a known spelling: unmap v4-mapped v6, canonicalise v6, or refuse what no socket could send to.
      const fam = ipFamily(dstIp)
      if (fam === 0) return this.reject(sock)
      if (fam === 6 && sock.family === 4) {
        const v4 = unmapV4(dstIp)
        if (v4 === dstIp) return this.reject(sock)
        dstIp = v4
      } else if (fam !== sock.family) {
        return this.reject(sock)
      } else if (fam === 6) {
        if (dstIp.includes('%')) return this.reject(sock) // no link-local scopes in the simulator
        dstIp = canonicalIp(dstIp)
      }
    } else if (dstIp.includes(':') !== (sock.family === 6)) {
      return this.reject(sock)
    }
    const overhead = sock.family === 4 ? 28 : 48
    const wire = data.byteLength + overhead
    if (wire > 65535) return this.reject(sock)
    sock.counters.sent++
    this.counters.sent++

    // Route: up through the NATs until a realm knows the destination address.
    const src = sock.host
    let realm = src.realm
    let srcIp = src.ip
    let srcPort = sock.port
    let rec = realm.records.get(dstIp)
    let crossed: NatRouter | null = null
    let uplinks: NatRouter[] | null = null
    let path: Readonly<Conditions>
    if (
      rec !== undefined &&
      rec.kind === 'host' &&
      realm.gateway === null &&
      src.conditions === null &&
      rec.conditions === null &&
      this.links.size === 0
    ) {
      path = this.defaults // the common case: two plain internet hosts
    } else {
      const acc = this.path
      setNeutral(acc)
      while (rec === undefined) {
        const nat: NatRouter | null = realm.gateway
        if (nat === null) return this.drop('unroutable')
        accumulate(acc, nat.lanConditions)
        if (nat.conditions !== null) {
          accumulate(acc, nat.conditions)
          ;(uplinks ??= []).push(nat)
        }
        const ext = nat.outbound(srcIp, srcPort, dstIp, dstPort, now)
        if (ext < 0) return this.drop('natExhausted')
        srcIp = nat.publicIp
        srcPort = ext
        crossed = nat
        realm = nat.outer
        rec = realm.records.get(dstIp)
      }
      if (rec === crossed) {
        if (!crossed.hairpin) {
          crossed.countHairpinDrop()
          return this.drop('natHairpin')
        }
      } else if (realm.gateway === null) {
        const link = this.links.size > 0 ? this.links.get(`${src.id}>${rec.id}`) : undefined
        accumulate(acc, link ?? this.defaults)
      } else {
        accumulate(acc, realm.gateway.lanConditions)
      }
      if (src.conditions !== null) accumulate(acc, src.conditions)
      if (rec.conditions !== null) accumulate(acc, rec.conditions)
      if (rec.kind === 'nat') accumulate(acc, rec.lanConditions)
      path = acc
    }

    if (wire > path.mtu) return this.drop('mtu')
    const rnd = this.random
    if (path.loss > 0 && rnd.float() < path.loss) return this.drop('loss')
    // Access-link queues: uplinks when sent, the destination's downlink when the datagram reaches it.
    let queued = 0
    if (src.up !== null) {
      const d = serialize(src.up, src.conditions!, wire, now)
      if (d < 0) return this.drop('queue')
      queued += d
    }
    if (uplinks !== null) {
      for (const nat of uplinks) {
        const d = serialize(nat.up, nat.conditions!, wire, now + queued)
        if (d < 0) return this.drop('queue')
        queued += d
      }
    }
    if (rec.conditions !== null && rec.down !== null) {
      const d = serialize(rec.down, rec.conditions, wire, now + queued + path.latencyMs)
      if (d < 0) return this.drop('queue')
      queued += d
    }
    const copy = data.slice()
    this.clock.schedule(new Packet(this, copy, srcIp, srcPort, rec, dstPort), now + queued + this.delay(path))
    if (path.duplicate > 0 && rnd.float() < path.duplicate) {
      this.counters.duplicated++
      const copy2 = data.slice()
      this.clock.schedule(new Packet(this, copy2, srcIp, srcPort, rec, dstPort), now + queued + this.delay(path))
    }
  }

  /** @internal The delivery event: NATs on the way in filter and translate, then the socket receives. */
  arrive(p: Packet): void {
    let rec = p.dst
    let port = p.dstPort
    while (rec.kind === 'nat') {
      const nat: NatRouter = rec
      const refused = nat.inbound(p.srcIp, p.srcPort, port, this.clock.now())
      if (refused !== null) return this.drop(refused)
      const next = nat.lan.records.get(nat.resultIp)
      if (next === undefined) return this.drop('unroutable')
      rec = next
      port = nat.resultPort
    }
    const sock = rec.sockets.get(port)
    if (sock === undefined) return this.drop('noListener')
    this.counters.delivered++
    this.counters.deliveredBytes += p.data.byteLength
    if (!sock.deliver(p.data, { host: p.srcIp, port: p.srcPort })) this.counters.unhandled++
  }

  private delay(path: Readonly<Conditions>): number {
    let d = path.latencyMs
    if (path.jitterMs > 0) d += this.random.float() * path.jitterMs
    if (path.reorder > 0 && this.random.float() < path.reorder)
      d += this.random.float() * 2 * Math.max(path.latencyMs, 1)
    return d
  }

  private reject(sock: SimSocket): void {
    sock.counters.sendRejected++
    this.counters.rejected++
  }

  private drop(reason: DropReason): void {
    this.dropped[reason]++
  }

  private record(x: SimHost | NatRouter | string): SimHost | NatRouter {
    if (typeof x !== 'string') return x
    const rec = this.internet.records.get(canonicalIp(x))
    if (rec === undefined) throw new NetError('EADDRNOTAVAIL', `no internet host or NAT at ${x}`)
    return rec
  }
}

function setNeutral(c: Conditions): void {
  c.latencyMs = 0
  c.jitterMs = 0
  c.loss = 0
  c.duplicate = 0
  c.reorder = 0
  c.mtu = Number.POSITIVE_INFINITY
}

/** Canonical spelling of an IP literal (so `0:0::1` and `::1` are one host); throws `EINVAL` otherwise. */
function canonicalIp(ip: string): string {
  const fam = typeof ip === 'string' ? ipFamily(ip) : 0
  if (fam === 0 || ip.includes('%')) throw new NetError('EINVAL', `not an IP literal: ${JSON.stringify(ip)}`)
  if (ip === '0.0.0.0' || ip === '::') throw new NetError('EINVAL', 'bind a concrete address in the simulator')
  if (fam === 4) return ip
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
}
