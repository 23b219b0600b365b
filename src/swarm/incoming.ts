// The routing of a node's incoming streams (uTP or TCP): admission (admission.ts) before anything is read, then the
// BitTorrent handshake peeked (handshake-peek.ts), and by its info hash the stream goes to the torrent's punch for
// that endpoint (a hole punch waiting for it) or to the torrent's swarm. While a stream is before its handshake its
// endpoint counts as arriving, so the initiator does not start a rendezvous with a peer already reaching us.
import type { Duplex } from 'node:stream'
import { bytesEqual, toHex } from '../codec/bytes.js'
import type { Clock, Endpoint, StreamSocket } from '../net/types.js'
import type { UtpStream } from '../utp/stream.js'
import type { Transport } from '../wire/peer-connection.js'
import type { HandshakeAdmission } from './admission.js'
import { socketEndpoint } from './dialer.js'
import { peekHandshake } from './handshake-peek.js'
import type { Initiator } from './initiator.js'
import { endpointKey } from './relay.js'
import type { Swarm } from './swarm.js'

/** What the router counts (SwarmNode's `stats`). */
export interface IncomingStats {
  incomingRefused: number
  incomingUnknownTorrent: number
  incomingBadHandshake: number
}

/** What the node lends the router. */
export interface IncomingHost {
  readonly clock: Clock
  readonly peerId: Uint8Array
  readonly admission: HandshakeAdmission
  readonly stats: IncomingStats
  /** How long a stream may take to send its handshake, ms. */
  readonly handshakeTimeout: number
  closed(): boolean
  /** The torrent joined under the hex info hash. */
  torrent(infoHashHex: string): { swarm: Swarm; initiator: Initiator } | undefined
  /** The uTP socket's local address (the local end of an incoming uTP stream). */
  utpAddress(): Endpoint
}

export class IncomingRouter {
  /** Endpoints with an incoming stream still before its BitTorrent handshake completed. */
  private readonly arriving = new Map<string, number>()
  /** Incoming streams whose handshake is still being read (destroyed by `close()`). */
  private readonly peeking = new Set<Duplex>()

  constructor(private readonly host: IncomingHost) {}

  /** True while a stream from `ep` is before its handshake. */
  isArriving(ep: Endpoint): boolean {
    return this.arriving.has(endpointKey(ep))
  }

  /** Destroys the streams still sending their handshake: they would hold the TCP server's close until they time out. */
  close(): void {
    for (const s of this.peeking) s.destroy()
  }

  /** An incoming stream: read its handshake, find the torrent, hand it to the punch for its endpoint or the swarm. */
  route(stream: Duplex, transport: Transport): void {
    const host = this.host
    const remote =
      transport === 'utp'
        ? (stream as UtpStream).remote
        : socketEndpoint((stream as StreamSocket).remoteAddress, (stream as StreamSocket).remotePort)
    // Silent streams must not lock everyone else out: see admission.ts.
    const ticket =
      host.closed() || !remote ? undefined : host.admission.admit(transport, remote.host, () => stream.destroy())
    if (!remote || !ticket) {
      host.stats.incomingRefused++
      stream.destroy()
      return
    }
    this.peeking.add(stream)
    const peeked = () => {
      this.peeking.delete(stream)
      ticket.release()
    }
    const k = endpointKey(remote)
    this.arriving.set(k, (this.arriving.get(k) ?? 0) + 1)
    const arrived = () => {
      const n = (this.arriving.get(k) ?? 1) - 1
      if (n > 0) this.arriving.set(k, n)
      else this.arriving.delete(k)
    }
    peekHandshake(stream, host.clock, host.handshakeTimeout).then(
      (h) => {
        peeked()
        const t = host.torrent(toHex(h.infoHash))
        if (!t || host.closed() || bytesEqual(h.peerId, host.peerId)) {
          arrived()
          host.stats.incomingUnknownTorrent++
          stream.destroy()
          return
        }
        const punch = transport === 'utp' ? t.initiator.punchFor(remote) : undefined
        if (punch && !punch.isSettled) {
          arrived()
          return punch.offerIncoming(stream as UtpStream, h)
        }
        const local =
          transport === 'utp'
            ? host.utpAddress()
            : socketEndpoint((stream as StreamSocket).localAddress, (stream as StreamSocket).localPort)
        const conn = t.swarm.addStream(stream, { remote, local, transport, direction: 'incoming' })
        stream.resume()
        if (!conn || conn.isOpen || conn.isClosed) arrived()
        else {
          conn.once('handshake', arrived)
          conn.once('close', () => conn.remoteHandshake || arrived())
        }
      },
      () => {
        peeked()
        arrived()
        host.stats.incomingBadHandshake++
      },
    )
  }
}
