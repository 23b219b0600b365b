// Address spaces of the simulated network: the internet, and the LAN behind each NAT. A realm maps an IP to a
// host (with its bound sockets) or to a NAT's public side.
import { ipFamily } from '../address.js'
import { NetError } from '../errors.js'
import type { AddressFamily } from '../types.js'
import { type Conditions, type LinkConditions, NEUTRAL, resolveConditions } from './conditions.js'
import { type NatOptions, NatRouter } from './nat.js'
import type { SimNetwork } from './network.js'
import { SimSocket } from './socket.js'

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

/** Canonical spelling of an IP literal (so `0:0::1` and `::1` are one host); throws `EINVAL` otherwise. */
export function canonicalIp(ip: string): string {
  const fam = typeof ip === 'string' ? ipFamily(ip) : 0
  if (fam === 0 || ip.includes('%')) throw new NetError('EINVAL', `not an IP literal: ${JSON.stringify(ip)}`)
  if (ip === '0.0.0.0' || ip === '::') throw new NetError('EINVAL', 'bind a concrete address in the simulator')
  if (fam === 4) return ip
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
}
