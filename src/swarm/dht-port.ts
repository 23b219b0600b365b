// BEP 5's PORT message between peers: when both ends set the DHT bit (reserved byte 7, 0x01) in their handshakes,
// each tells the other its DHT port in a `port` message (id 9). A port received names a DHT node at the peer's IP;
// it becomes a *candidate*: the DHT pings it, and only a reply puts it in the routing table (a peer can claim any
// port, and a port message proves nothing about what listens there).

import { isUnicastAddress, normalizeIP } from '../codec/ip.js'
import { reservedFlags } from '../codec/peer-wire.js'
import type { Endpoint } from '../net/types.js'
import type { PeerConnection } from '../wire/peer-connection.js'

/** What the exchange needs of a DHT: `addNode` pings the endpoint and tables it only if it answers. */
export interface DhtCandidateSink {
  addNode(node: Endpoint): void
}

export interface DhtPortOptions {
  /** Where candidates go. */
  dht: DhtCandidateSink
  /** Our DHT's UDP port (undefined while it is not listening: nothing is sent). */
  port: () => number | undefined
  /**
   * Candidates taken from one connection at most. A peer re-sends PORT when its DHT port changes (rare); more
   * than this is a peer trying to make us ping ports on its behalf, and is dropped (counted). Default 2.
   */
  maxPerConnection?: number
}

/** Counters of the exchange, for stats and tests. */
export interface DhtPortStats {
  /** PORT messages we sent. */
  sent: number
  /** PORT messages received. */
  received: number
  /** Endpoints handed to the DHT to ping. */
  candidates: number
  /** PORT messages ignored: port 0, an address that is not unicast, or over the per-connection budget. */
  ignored: number
}

/**
 * Attached to each open connection of a SwarmNode that runs a DHT (and so sets the DHT bit). Sends our port when
 * the peer set the bit too; turns the peer's PORT into a DHT candidate at the connection's remote IP.
 */
export class DhtPortExchange {
  readonly stats: DhtPortStats = { sent: 0, received: 0, candidates: 0, ignored: 0 }
  private readonly max: number

  constructor(private readonly opts: DhtPortOptions) {
    this.max = opts.maxPerConnection ?? 2
  }

  /** Call once the handshake is done (`connected`): the peer's reserved bits are known then. */
  attach(conn: PeerConnection): void {
    const h = conn.remoteHandshake
    if (!h || conn.isClosed) return
    let taken = 0
    let last = -1
    conn.on('port', ({ port }) => {
      this.stats.received++
      // The IP is the connection's own (never an address the message names): at worst a peer makes us ping
      // itself. Port 0 is no port; a multicast/unspecified remote cannot be a node.
      const host = normalizeIP(conn.remote.host)
      if (port === 0 || host === undefined || !isUnicastAddress(host) || port === last || taken >= this.max) {
        this.stats.ignored++
        conn.countDrop('dht_port_ignored')
        return
      }
      taken++
      last = port
      this.stats.candidates++
      this.opts.dht.addNode({ host, port })
    })
    if (!reservedFlags(h.reserved).dht) return
    const port = this.opts.port()
    if (port === undefined || port === 0 || !conn.isOpen) return
    conn.send({ type: 'port', port })
    this.stats.sent++
  }
}
