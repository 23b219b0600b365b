// The peers a swarm knows and tells of. `PeerBook`: the peers it has heard of (from PEX and from handshakes), by
// listen endpoint, with their peer id when a handshake told us and their PEX flags; a Map's insertion order is age,
// so it is also the LRU that bounds it (`maxKnownPeers`). `pexSource`: what one connection advertises in PEX.
import { bytesEqual } from '../codec/bytes.js'
import { PexFlags, type PexPeer } from '../codec/pex.js'
import type { Endpoint } from '../net/types.js'
import type { PeerConnection } from '../wire/peer-connection.js'

interface KnownPeer {
  listen: Endpoint
  peerId?: Uint8Array
  flags: number
}

/** An endpoint as a map key (the address as given: the swarm's peers come from PEX and sockets as they are). */
export function peerKey(e: Endpoint): string {
  return `${e.host}|${e.port}`
}

export class PeerBook {
  /** Peers by listen endpoint; insertion order is age (a Map is our LRU). */
  private readonly known = new Map<string, KnownPeer>()

  /** `opts` is read at each `remember` (the swarm's options; default 1000 peers). */
  constructor(private readonly opts: { maxKnownPeers?: number }) {}

  /** Records (or refreshes, as newest) the peer at `listen`; true if it was not known before. */
  remember(listen: Endpoint, peerId: Uint8Array | undefined, flags: number): boolean {
    const k = peerKey(listen)
    const had = this.known.get(k)
    this.known.delete(k)
    this.known.set(k, { listen, peerId: peerId ?? had?.peerId, flags: flags || had?.flags || 0 })
    const max = this.opts.maxKnownPeers ?? 1000
    while (this.known.size > max) this.known.delete(this.known.keys().next().value as string)
    return had === undefined
  }

  /** The listen endpoint of the peer with `peerId`, if known. */
  endpointOf(peerId: Uint8Array): Endpoint | undefined {
    for (const k of this.known.values()) if (k.peerId && bytesEqual(k.peerId, peerId)) return k.listen
    return undefined
  }

  /** The peer id of the peer listening at `ep`, if a handshake told us. */
  peerIdAt(ep: Endpoint): Uint8Array | undefined {
    return this.known.get(peerKey(ep))?.peerId
  }

  /** The known peers, newest last. */
  list(): PexPeer[] {
    return [...this.known.values()].map((k) => ({ ...k.listen, flags: k.flags }))
  }
}

/**
 * What `conn` may advertise in PEX: the other open connections (of `conns`) whose listen endpoint we know (an
 * incoming one only once its extended handshake gave its port).
 */
export function pexSource(conns: Iterable<PeerConnection>, conn: PeerConnection): PexPeer[] {
  const out: PexPeer[] = []
  for (const c of conns) {
    if (c === conn || !c.isOpen) continue
    if (c.direction === 'incoming' && c.remoteExtended?.p === undefined) continue
    let flags = 0
    if (c.holepunch.supported) flags |= PexFlags.holepunch
    if (c.transport === 'utp') flags |= PexFlags.utp
    if (c.direction === 'outgoing') flags |= PexFlags.reachable
    out.push({ ...c.listenEndpoint, flags })
  }
  return out
}
