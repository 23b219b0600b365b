// How datagrams cross the simulated network. A datagram is routed up through the NATs of the sender's realm until a
// realm knows its destination, translated by those NATs and given its delay when sent; one clock event delivers
// it, and the NATs on its way in filter and translate it at arrival time. Idle hosts and sockets cost memory only.
import { ipFamily, isValidPort, unmapV4 } from '../address.js'
import type { Endpoint } from '../types.js'
import { canonicalIp } from './addresses.js'
import type { SimEvent, VirtualClock } from './clock.js'
import { accumulate, type Conditions, NEUTRAL, serialize, setNeutral } from './conditions.js'
import type { DropReason } from './kinds.js'
import { accumulateLastHop } from './path.js'
import type { SeededRandom } from './random.js'
import type { Gateway, SimHost } from './realm.js'
import type { SimSocket } from './socket.js'

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

/**
 * One observation from `SimNetwork.tap`. `from`/`to` are as seen where it happened: a send shows the sender's own
 * (private) address and the destination it named; a delivery the (translated) source and the receiving socket; a
 * drop at a NAT the NAT's public address and port.
 */
export interface SimTrace {
  event: 'send' | 'deliver' | 'drop'
  /** Virtual time. */
  time: number
  from: Endpoint
  to: Endpoint
  /** Payload bytes. */
  bytes: number
  reason?: DropReason
}

/** What the datagram routes need of the network (a `SimNetwork`). */
export interface UdpFabricWorld {
  readonly clock: VirtualClock
  readonly random: SeededRandom
  /** Internet path conditions, where `links` has no override. */
  readonly defaults: Readonly<Conditions>
}

const SLAB_SIZE = 64 * 1024
const SLAB_MAX_DATAGRAM = 2048

class Packet implements SimEvent {
  at = 0
  seq = 0
  dead = false
  constructor(
    private readonly fabric: UdpFabric,
    readonly data: Uint8Array,
    readonly srcIp: string,
    readonly srcPort: number,
    readonly dst: SimHost | Gateway,
    readonly dstIp: string,
    readonly dstPort: number,
  ) {}

  fire(): void {
    this.fabric.arrive(this)
  }
}

/** The datagram side of one `SimNetwork`: routes, delivers and counts datagrams between sockets. */
export class UdpFabric {
  /** Internet path overrides, keyed `fromId>toId` (see `SimNetwork.setLinkConditions`). */
  readonly links = new Map<string, Conditions>()
  /** See `SimNetwork.tap`. */
  tapFn: ((t: SimTrace) => void) | null = null
  /** Addresses in use (how many realms' records hold each): a send to one needs no canonicalisation. */
  private readonly ipUse = new Map<string, number>()
  private readonly path: Conditions = { ...NEUTRAL }
  private slab = new Uint8Array(0)
  private slabOffset = 0
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

  constructor(private readonly net: UdpFabricWorld) {}

  noteIp(ip: string): void {
    this.ipUse.set(ip, (this.ipUse.get(ip) ?? 0) + 1)
  }

  /** The internet path from host or NAT `fromId` to `toId`: its override in `links`, or the defaults. */
  linkConditions(fromId: number, toId: number): Readonly<Conditions> {
    return (this.links.size > 0 ? this.links.get(`${fromId}>${toId}`) : undefined) ?? this.net.defaults
  }

  stats(): SimNetworkStats {
    return { ...this.counters, dropped: { ...this.dropped } }
  }

  /** The send path of a socket bound on `src` (`SimSocket.send`). */
  route(src: SimHost, sock: SimSocket, data: Uint8Array, to: Endpoint): void {
    const now = this.net.clock.now()
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
    if (this.tapFn !== null) this.trace('send', src.ip, sock.port, dstIp, dstPort, data.byteLength)

    // Route: up through the NATs until a realm knows the destination address.
    let realm = src.realm
    let srcIp = src.ip
    let srcPort = sock.port
    let rec = realm.records.get(dstIp)
    let crossed: Gateway | null = null
    let uplinks: Gateway[] | null = null
    let path: Readonly<Conditions>
    if (
      rec !== undefined &&
      rec.kind === 'host' &&
      realm.gateway === null &&
      src.conditions === null &&
      rec.conditions === null &&
      this.links.size === 0
    ) {
      path = this.net.defaults // the common case: two plain internet hosts
    } else {
      const acc = this.path
      setNeutral(acc)
      while (rec === undefined) {
        const nat: Gateway | null = realm.gateway
        if (nat === null) return this.dropSent('unroutable', sock, dstIp, dstPort, data.byteLength)
        accumulate(acc, nat.lanConditions)
        if (nat.conditions !== null) {
          accumulate(acc, nat.conditions)
          ;(uplinks ??= []).push(nat)
        }
        const ext = nat.outbound(srcIp, srcPort, dstIp, dstPort, now)
        if (ext < 0) return this.dropSent('natExhausted', sock, dstIp, dstPort, data.byteLength)
        if (nat.translate) srcIp = nat.publicIp
        srcPort = ext
        crossed = nat
        realm = nat.outer
        rec = realm.records.get(dstIp)
      }
      if (!accumulateLastHop(acc, src, rec, realm, crossed, this))
        return this.dropSent('natHairpin', sock, dstIp, dstPort, data.byteLength)
      path = acc
    }

    if (wire > path.mtu) return this.dropSent('mtu', sock, dstIp, dstPort, data.byteLength)
    const rnd = this.net.random
    if (path.loss > 0 && rnd.float() < path.loss) return this.dropSent('loss', sock, dstIp, dstPort, data.byteLength)
    // Access-link queues: uplinks when sent, the destination's downlink when the datagram reaches it.
    let queued = 0
    if (src.up !== null) {
      const d = serialize(src.up, src.conditions!, wire, now)
      if (d < 0) return this.dropSent('queue', sock, dstIp, dstPort, data.byteLength)
      queued += d
    }
    if (uplinks !== null) {
      for (const nat of uplinks) {
        const d = serialize(nat.up, nat.conditions!, wire, now + queued)
        if (d < 0) return this.dropSent('queue', sock, dstIp, dstPort, data.byteLength)
        queued += d
      }
    }
    if (rec.conditions !== null && rec.down !== null) {
      const d = serialize(rec.down, rec.conditions, wire, now + queued + path.latencyMs)
      if (d < 0) return this.dropSent('queue', sock, dstIp, dstPort, data.byteLength)
      queued += d
    }
    const copy = this.copy(data)
    this.net.clock.schedule(
      new Packet(this, copy, srcIp, srcPort, rec, dstIp, dstPort),
      now + queued + this.delay(path),
    )
    if (path.duplicate > 0 && rnd.float() < path.duplicate) {
      this.counters.duplicated++
      const copy2 = this.copy(data)
      this.net.clock.schedule(
        new Packet(this, copy2, srcIp, srcPort, rec, dstIp, dstPort),
        now + queued + this.delay(path),
      )
    }
  }

  /** The delivery event: NATs on the way in filter and translate, then the socket receives. */
  arrive(p: Packet): void {
    let rec = p.dst
    let ip = p.dstIp
    let port = p.dstPort
    while (rec.kind === 'nat') {
      const nat: Gateway = rec
      const refused = nat.inbound(p.srcIp, p.srcPort, ip, port, this.net.clock.now())
      if (refused !== null) return this.dropArrived(refused, p, ip, port)
      const next = nat.lan.records.get(nat.resultIp)
      if (next === undefined) return this.dropArrived('unroutable', p, nat.resultIp, nat.resultPort)
      rec = next
      ip = nat.resultIp
      port = nat.resultPort
    }
    const sock = rec.sockets.get(port)
    if (sock === undefined) return this.dropArrived('noListener', p, rec.ip, port)
    this.counters.delivered++
    this.counters.deliveredBytes += p.data.byteLength
    if (this.tapFn !== null) this.trace('deliver', p.srcIp, p.srcPort, rec.ip, port, p.data.byteLength)
    if (!sock.deliver(p.data, { host: p.srcIp, port: p.srcPort })) this.counters.unhandled++
  }

  /**
   * A private copy of `data` for the receiver. Small datagrams are carved from 64 KiB slabs (like Node's Buffer
   * pool): one ArrayBuffer allocation per ~40 datagrams instead of one each, the main cost of a send otherwise.
   * Each copy is its own 8-byte-aligned region, so the receiver may keep or modify it.
   */
  private copy(data: Uint8Array): Uint8Array {
    const n = data.byteLength
    if (n > SLAB_MAX_DATAGRAM) return data.slice()
    if (this.slabOffset + n > this.slab.length) {
      this.slab = new Uint8Array(SLAB_SIZE)
      this.slabOffset = 0
    }
    const view = this.slab.subarray(this.slabOffset, this.slabOffset + n)
    view.set(data)
    this.slabOffset += (n + 7) & ~7
    return view
  }

  private delay(path: Readonly<Conditions>): number {
    let d = path.latencyMs
    if (path.jitterMs > 0) d += this.net.random.float() * path.jitterMs
    if (path.reorder > 0 && this.net.random.float() < path.reorder)
      d += this.net.random.float() * 2 * Math.max(path.latencyMs, 1)
    return d
  }

  private reject(sock: SimSocket): void {
    sock.counters.sendRejected++
    this.counters.rejected++
  }

  private dropSent(reason: DropReason, sock: SimSocket, ip: string, port: number, bytes: number): void {
    this.dropped[reason]++
    if (this.tapFn !== null) this.trace('drop', sock.host.ip, sock.port, ip, port, bytes, reason)
  }

  private dropArrived(reason: DropReason, p: Packet, ip: string, port: number): void {
    this.dropped[reason]++
    if (this.tapFn !== null) this.trace('drop', p.srcIp, p.srcPort, ip, port, p.data.byteLength, reason)
  }

  private trace(
    event: SimTrace['event'],
    fromIp: string,
    fromPort: number,
    toIp: string,
    toPort: number,
    bytes: number,
    reason?: DropReason,
  ): void {
    const t: SimTrace = {
      event,
      time: this.net.clock.now(),
      from: { host: fromIp, port: fromPort },
      to: { host: toIp, port: toPort },
      bytes,
    }
    if (reason !== undefined) t.reason = reason
    try {
      this.tapFn!(t)
    } catch (err) {
      // A send must never throw: surface the tap's bug as an uncaught exception instead.
      queueMicrotask(() => {
        throw err
      })
    }
  }
}
