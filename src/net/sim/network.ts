// An in-memory network on virtual time. Hosts live in realms: the internet, and one LAN per NAT. `SimNetwork` is the
// world's front: it makes hosts, NATs and TCP stacks, holds the internet's path conditions, and hands datagrams to
// its UDP fabric (udp-route.ts) and segments to its TCP fabric (tcp-route.ts).
import { NetError } from '../errors.js'
import type { Endpoint } from '../types.js'
import { canonicalIp } from './addresses.js'
import { VirtualClock } from './clock.js'
import { type Conditions, DEFAULT_CONDITIONS, type LinkConditions, resolveConditions } from './conditions.js'
import { type NatOptions, NatRouter, type NatWorld } from './nat.js'
import { SeededRandom } from './random.js'
import { type Gateway, Realm, type SimHost } from './realm.js'
import type { SimSocket } from './socket.js'
import { SimTcp, type SimTcpOptions } from './tcp.js'
import { type SimTcpNetworkStats, TcpFabric, type TcpFabricWorld } from './tcp-route.js'
import { type SimNetworkStats, type SimTrace, UdpFabric, type UdpFabricWorld } from './udp-route.js'

export type { DropReason } from './kinds.js'
export type { SimNetworkStats, SimTrace } from './udp-route.js'

export interface SimNetworkOptions {
  /** Default: a new `VirtualClock` at time 0. */
  clock?: VirtualClock
  /** Default: `new SeededRandom(1)`. Every random choice of the network (loss, jitter, ports) comes from it. */
  random?: SeededRandom
  /** Internet path conditions; unset fields come from `DEFAULT_CONDITIONS` (10 ms, no loss, MTU 1500). */
  defaults?: LinkConditions
  /** Options of every host's TCP stack (`tcp(ip)`). */
  tcp?: SimTcpOptions
}

/**
 * The simulated network. `bind(ip)` for hosts on the internet, `addNat({ publicIp })` for a NAT whose `bind(ip)`
 * puts hosts behind it. Delivery runs on `clock`; every datagram is copied on send.
 */
export class SimNetwork implements NatWorld, TcpFabricWorld, UdpFabricWorld {
  readonly clock: VirtualClock
  readonly random: SeededRandom
  /** Internet path conditions (resolved). Change with `setDefaults`. */
  defaults: Conditions
  readonly internet: Realm
  private ids = 0
  private readonly udp: UdpFabric
  private readonly tcpOptions: SimTcpOptions | undefined
  private tcpFabric: TcpFabric | undefined

  constructor(opts: SimNetworkOptions = {}) {
    this.clock = opts.clock ?? new VirtualClock()
    this.random = opts.random ?? new SeededRandom(1)
    this.defaults = resolveConditions(opts.defaults, DEFAULT_CONDITIONS)
    this.udp = new UdpFabric(this)
    this.internet = new Realm(this, null)
    this.tcpOptions = opts.tcp
  }

  /** An internet host's TCP stack (the host is created on first use): a `StreamNetwork` for `Swarm`/`SwarmNode`. */
  tcp(ip: string): SimTcp {
    return this.tcpStack(this.internet.host(ip))
  }

  /** Counters of simulated TCP (segments, drops by reason). */
  tcpStats(): SimTcpNetworkStats {
    return this.fabric().stats()
  }

  /** @internal The TCP stack of a host (of any realm). */
  tcpStack(host: SimHost): SimTcp {
    return this.fabric().stack(host) as SimTcp
  }

  /** @internal The internet path conditions from one host or NAT to another (a link override, or `defaults`). */
  linkConditions(fromId: number, toId: number): Readonly<Conditions> {
    return this.udp.linkConditions(fromId, toId)
  }

  private fabric(): TcpFabric {
    this.tcpFabric ??= new TcpFabric(this, (host) => new SimTcp(this, this.tcpFabric!, host, this.tcpOptions))
    return this.tcpFabric
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
    return new NatRouter(this, this.internet, opts)
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
      if (resolved) this.udp.links.set(key, resolved)
      else this.udp.links.delete(key)
    }
  }

  /**
   * Observes every datagram: `send` (accepted by a socket), `deliver` (handed to a socket) and `drop` (with its
   * reason). `null` removes the tap. Costs nothing while unset. For tests and debugging.
   */
  tap(fn: ((t: SimTrace) => void) | null): void {
    this.udp.tapFn = fn
  }

  stats(): SimNetworkStats {
    return this.udp.stats()
  }

  /** @internal */
  nextId(): number {
    return ++this.ids
  }

  /** @internal */
  noteIp(ip: string): void {
    this.udp.noteIp(ip)
  }

  /** @internal The send path of `SimSocket`. */
  route(src: SimHost, sock: SimSocket, data: Uint8Array, to: Endpoint): void {
    this.udp.route(src, sock, data, to)
  }

  private record(x: SimHost | NatRouter | string): SimHost | Gateway {
    if (typeof x !== 'string') return x
    const rec = this.internet.records.get(canonicalIp(x))
    if (rec === undefined) throw new NetError('EADDRNOTAVAIL', `no internet host or NAT at ${x}`)
    return rec
  }
}
