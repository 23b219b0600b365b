// Dialing the peers PEX names (Swarm's `autoDial` option): a few dials in flight at once, none while the swarm is
// full or already connected to the peer, and an endpoint dialed again only after `redialInterval`: PEX repeats its
// peers every minute, and a peer that never answers would otherwise be dialed each time. The memory of past dials is
// bounded like the known peers (oldest forgotten first).
import type { Clock, Endpoint } from '../net/types.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { peerKey } from './peer-book.js'

/** What the swarm lends the auto-dialer. */
export interface AutoDialHost {
  readonly clock: Clock
  readonly stats: { autoDials: number; dialFailures: number }
  closed(): boolean
  /** Connections, handshaking and open. */
  connectionCount(): number
  connectionTo(ep: Endpoint, handshaking: boolean): PeerConnection | undefined
  connect(ep: Endpoint): Promise<PeerConnection>
}

/** The swarm options it reads (SwarmOptions' defaults apply). */
export interface AutoDialOptions {
  maxConnections?: number
  maxPendingDials?: number
  redialInterval?: number
  maxKnownPeers?: number
}

export class AutoDialer {
  private readonly dialing = new Set<string>()
  /** When we last auto-dialed an endpoint: PEX repeats peers, we do not redial them every minute. */
  private readonly lastDial = new Map<string, number>()

  constructor(
    private readonly host: AutoDialHost,
    private readonly opts: AutoDialOptions,
  ) {}

  /** Dials `p` unless a rule above says not now. */
  dial(p: Endpoint): void {
    const host = this.host
    const k = peerKey(p)
    if (host.closed() || this.dialing.has(k) || this.dialing.size >= (this.opts.maxPendingDials ?? 4)) return
    if (host.connectionCount() >= (this.opts.maxConnections ?? 50)) return
    if (host.connectionTo(p, true)) return
    const now = host.clock.now()
    const last = this.lastDial.get(k)
    if (last !== undefined && now - last < (this.opts.redialInterval ?? 300_000)) return
    this.lastDial.delete(k)
    this.lastDial.set(k, now)
    if (this.lastDial.size > (this.opts.maxKnownPeers ?? 1000))
      this.lastDial.delete(this.lastDial.keys().next().value as string)
    this.dialing.add(k)
    host.stats.autoDials++
    host.connect(p).then(
      () => this.dialing.delete(k),
      () => {
        this.dialing.delete(k)
        host.stats.dialFailures++
      },
    )
  }
}
