// BEP 55 relay role for one torrent. A connection asks us (rendezvous) to introduce it to a target endpoint; if
// the target is one of this torrent's connections and supports ut_holepunch, both get `connect` with the other's
// endpoint, otherwise the asker gets an `error` with the BEP's code.
//
// Matching the target: by the connection's remote endpoint (what libtorrent does) OR by its advertised listen
// endpoint (remote IP + `p`, what anacrolix does), so an initiator may name either.
//
// The endpoint we hand out for a peer is where its punching uTP socket can be reached. Over uTP that is exactly
// the connection's remote endpoint: the peer's shared UDP port as its NAT mapped it, right even for a NAT that
// does not preserve ports. Over TCP it is the remote IP (what its NAT mapped) with its advertised listen port `p`
// (the UDP port it shares with the DHT, which a port-preserving NAT keeps), since an outgoing TCP connection's
// ephemeral source port says nothing about the UDP mapping; without `p`, the connection's remote port.
// (libtorrent always sends the connection's remote endpoint.)
import { EventEmitter } from 'node:events'
import { HolepunchError } from '../codec/holepunch.js'
import { isUnicastAddress, normalizeIP } from '../codec/ip.js'
import type { Clock, Endpoint } from '../net/types.js'
import { WireError } from '../wire/errors.js'
import type { PeerConnection } from '../wire/peer-connection.js'

export interface RelayOptions {
  /** Rendezvous requests answered per connection per `rateWindow`; more are ignored (counted). Default 10. */
  rateLimit?: number
  /** The rate window. Default 60 s. */
  rateWindow?: number
  /** A connection sending more than `floodFactor` × `rateLimit` requests in a window is closed. Default 5. */
  floodFactor?: number
}

export type RelayEvents = {
  /** A rendezvous was relayed: `connect` went to both. */
  relayed: [from: PeerConnection, to: PeerConnection]
  /** A rendezvous was refused with a BEP 55 error code (sent back to `from`). */
  refused: [from: PeerConnection, code: number, target: Endpoint]
  /** A rendezvous was ignored (rate limit). */
  ignored: [from: PeerConnection, reason: string]
}

export interface RelayHost {
  /** This torrent's connections (open or not; the relay skips closed ones). */
  connections(): Iterable<PeerConnection>
  /** True for an endpoint that is us (our listen port at any address others may name us by). */
  isSelf(ep: Endpoint): boolean
  clock: Clock
}

/** Map key of an endpoint, by its canonical address (an IPv4-mapped or uncompressed IPv6 form names the same). */
export function endpointKey(e: Endpoint): string {
  return `${normalizeIP(e.host) ?? e.host}|${e.port}`
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && (normalizeIP(a.host) ?? a.host) === (normalizeIP(b.host) ?? b.host)
}

/** The endpoint we give the other side for `conn` (see the file comment for why). */
export function reachableEndpoint(conn: PeerConnection): Endpoint {
  const host = normalizeIP(conn.remote.host) ?? conn.remote.host
  if (conn.transport === 'utp') return { host, port: conn.remote.port }
  return { host, port: conn.remoteExtended?.p ?? conn.remote.port }
}

/** True for an endpoint no peer can be at: port 0, unspecified, broadcast or multicast addresses. */
export function invalidTarget(ep: Endpoint): boolean {
  return ep.port === 0 || !isUnicastAddress(ep.host)
}

export class Relay extends EventEmitter<RelayEvents> {
  readonly stats = {
    relayed: 0,
    refused: { NoSuchPeer: 0, NotConnected: 0, NoSupport: 0, NoSelf: 0 } as Record<string, number>,
    rateLimited: 0,
    closedForFlood: 0,
  }
  private readonly rateLimit: number
  private readonly rateWindow: number
  private readonly floodFactor: number
  private readonly requests = new WeakMap<PeerConnection, number[]>()

  constructor(
    private readonly host: RelayHost,
    options: RelayOptions = {},
  ) {
    super()
    this.rateLimit = options.rateLimit ?? 10
    this.rateWindow = options.rateWindow ?? 60_000
    this.floodFactor = options.floodFactor ?? 5
  }

  /** Starts serving rendezvous requests that arrive on `conn`. */
  attach(conn: PeerConnection): void {
    conn.holepunch.on('hp_rendezvous', (target) => this.onRendezvous(conn, target))
  }

  /** Handles one rendezvous from `from` for `target`. Public for tests and for callers without `attach`. */
  onRendezvous(from: PeerConnection, target: Endpoint): void {
    if (from.isClosed) return
    if (!this.admit(from)) return
    if (invalidTarget(target)) return this.refuse(from, HolepunchError.NoSuchPeer, target)
    if (this.host.isSelf(target)) return this.refuse(from, HolepunchError.NoSelf, target)
    if (sameEndpoint(from.remote, target) || sameEndpoint(reachableEndpoint(from), target)) {
      return this.refuse(from, HolepunchError.NoSelf, target)
    }
    const to = this.find(target, from)
    if (!to) return this.refuse(from, HolepunchError.NotConnected, target)
    if (!to.holepunch.supported) return this.refuse(from, HolepunchError.NoSupport, target)
    this.introduce(from, to)
  }

  /**
   * Sends `connect` to both connections, each with the other's reachable endpoint (what a rendezvous ends in).
   * Returns false when one of them closed or does not support ut_holepunch.
   */
  introduce(from: PeerConnection, to: PeerConnection): boolean {
    const a = reachableEndpoint(from)
    const b = reachableEndpoint(to)
    try {
      to.holepunch.sendHpConnect(a.host, a.port)
      from.holepunch.sendHpConnect(b.host, b.port)
    } catch (err) {
      if (err instanceof WireError) return false // one side closed meanwhile: nothing useful to tell
      throw err
    }
    this.stats.relayed++
    this.emit('relayed', from, to)
    return true
  }

  private find(target: Endpoint, from: PeerConnection): PeerConnection | undefined {
    let byListen: PeerConnection | undefined
    for (const c of this.host.connections()) {
      if (c === from || !c.isOpen) continue
      if (sameEndpoint(c.remote, target)) return c
      if (!byListen && c.remoteExtended?.p !== undefined && sameEndpoint(c.listenEndpoint, target)) byListen = c
    }
    return byListen
  }

  private admit(from: PeerConnection): boolean {
    const now = this.host.clock.now()
    let times = this.requests.get(from)
    if (!times) {
      times = []
      this.requests.set(from, times)
    }
    while (times.length > 0 && now - times[0] >= this.rateWindow) times.shift()
    times.push(now)
    if (times.length <= this.rateLimit) return true
    this.stats.rateLimited++
    from.countDrop('holepunch_rate_limited')
    this.emit('ignored', from, 'rate limited')
    if (times.length > this.rateLimit * this.floodFactor) {
      this.stats.closedForFlood++
      from.close(new WireError('HOLEPUNCH_FLOOD', `more than ${times.length - 1} rendezvous in ${this.rateWindow} ms`))
    }
    return false
  }

  private refuse(from: PeerConnection, code: number, target: Endpoint): void {
    const name = Object.entries(HolepunchError).find(([, c]) => c === code)?.[0] ?? String(code)
    this.stats.refused[name] = (this.stats.refused[name] ?? 0) + 1
    try {
      from.holepunch.sendHpError(code, target)
    } catch (err) {
      if (!(err instanceof WireError)) throw err
    }
    this.emit('refused', from, code, target)
  }
}
