// Address spaces of the simulated network: the internet, and the LAN behind each NAT. A realm maps an IP to a
// host (with its bound sockets) or to a NAT's public side. Realms and hosts see the network and the NATs only
// through the two views below (`RealmWorld`, `Gateway`), so this module imports neither network.ts nor nat.ts.
import { NetError } from '../errors.js'
import type { AddressFamily, Endpoint } from '../types.js'
import { canonicalIp } from './addresses.js'
import { type Conditions, type LinkConditions, NEUTRAL, resolveConditions } from './conditions.js'
import type { NatTcp } from './nat-tcp.js'
import type { SeededRandom } from './random.js'
import { SimSocket, type SocketHost } from './socket.js'

/** What realms and hosts need of the network (a `SimNetwork`). */
export interface RealmWorld {
  readonly random: SeededRandom
  /** A fresh id for a host or NAT (link conditions are keyed by ids). */
  nextId(): number
  /** Notes that an address is in use (so sends to it skip canonicalisation). */
  noteIp(ip: string): void
  /** The send path of a socket bound on `src`. */
  route(src: SimHost, sock: SimSocket, data: Uint8Array, to: Endpoint): void
}

/** What realms and the routes of datagrams and segments need of a NAT (a `NatRouter`). */
export interface Gateway {
  readonly kind: 'nat'
  readonly id: number
  readonly publicIp: string
  /** False for a firewall: addresses and ports pass unchanged. */
  readonly translate: boolean
  readonly hairpin: boolean
  /** The realm the public address lives in. */
  readonly outer: Realm
  /** The private side. */
  readonly lan: Realm
  readonly lanConditions: Conditions
  readonly conditions: Conditions | null
  /** Uplink / downlink queue state when `conditions` limits bandwidth. */
  readonly up: { busyUntil: number }
  readonly down: { busyUntil: number }
  /** Result of the last successful `inbound`. */
  readonly resultIp: string
  readonly resultPort: number
  /** The TCP side (conntrack for TCP flows). */
  readonly tcpTrack: NatTcp
  /** Translates an outbound datagram; returns the external source port, or -1 (no port free). */
  outbound(intIp: string, intPort: number, remIp: string, remPort: number, now: number): number
  /** Filters and translates an inbound datagram: null (and `resultIp`/`resultPort` set), or the drop reason. */
  inbound(
    remIp: string,
    remPort: number,
    dstIp: string,
    extPort: number,
    now: number,
  ): 'natNoMapping' | 'natFiltered' | null
  countHairpinDrop(): void
}

const EPHEMERAL_LO = 49152
const EPHEMERAL_SIZE = 65536 - EPHEMERAL_LO

/** A simulated machine with one IP address. Bind sockets on it through its realm (`SimNetwork.bind`). */
export class SimHost implements SocketHost {
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
  send(sock: SimSocket, data: Uint8Array, to: Endpoint): void {
    this.realm.network.route(this, sock, data, to)
  }

  /** @internal */
  unbind(s: SimSocket): void {
    if (this.sockets.get(s.port) === s) this.sockets.delete(s.port)
  }
}

/** An address space: the internet, or the LAN behind one NAT. */
export class Realm {
  /** @internal */ readonly records = new Map<string, SimHost | Gateway>()

  constructor(
    readonly network: RealmWorld,
    /** The NAT this realm is the LAN of; null for the internet. */
    readonly gateway: Gateway | null,
  ) {}

  /** The host with this address, created on first use. */
  host(ip: string): SimHost {
    const key = canonicalIp(ip)
    const rec = this.records.get(key)
    if (rec !== undefined) {
      if (rec.kind === 'nat') throw new NetError('EADDRNOTAVAIL', `${ip} is a NAT's public address`)
      return rec
    }
    // Behind a firewall (no translation) the host's address is routable outside too: there it leads to the
    // firewall, which filters what comes in.
    const fw = this.gateway?.translate === false ? this.gateway : null
    if (fw?.outer.records.has(key)) throw new NetError('EADDRINUSE', `${ip} is already in use outside`)
    const h = new SimHost(this, key)
    this.records.set(key, h)
    this.network.noteIp(key)
    if (fw !== null) fw.outer.records.set(key, fw)
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
    const s = new SimSocket(h, port)
    h.sockets.set(port, s)
    return s
  }

  /** @internal Claims `ip` in this realm for a NAT's public side (see `NatRouter`); returns it canonical. */
  claim(ip: string): string {
    const key = canonicalIp(ip)
    if (this.records.has(key)) throw new NetError('EADDRINUSE', `${key} is already in use`)
    return key
  }

  /** @internal Registers a NAT at the address `claim` returned. */
  attach(nat: Gateway): void {
    this.records.set(nat.publicIp, nat)
    this.network.noteIp(nat.publicIp)
  }
}
