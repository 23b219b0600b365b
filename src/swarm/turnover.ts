// Peer turnover: when every connection slot is taken, a newcomer replaces a connection that never became useful,
// rather than being refused — so peers that complete the handshake and then only hold a slot cannot lock new
// peers out (libtorrent turns peers over in the same spirit: `peer_turnover`, and on an incoming connection at
// the limit it disconnects its least useful peer). A connection is useful once the peer sent us anything beyond
// the handshakes and keep-alives (a bitfield, PEX, holepunch…), or when we dialed it. Among the others the victim
// is the oldest of the source prefix holding the most of them, so an attacker with many addresses in few
// prefixes replaces itself first.
import type { Clock } from '../net/types.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { sourcePrefix } from './admission.js'

interface Tracked {
  since: number
  useful: boolean
}

export class PeerTurnover {
  private readonly info = new WeakMap<PeerConnection, Tracked>()

  constructor(private readonly clock: Clock) {}

  /** Starts watching a connection (call once, when the swarm adopts it). */
  track(conn: PeerConnection): void {
    const t: Tracked = { since: this.clock.now(), useful: conn.direction === 'outgoing' }
    this.info.set(conn, t)
    if (t.useful) return
    const onMessage = (m: { type: string; id?: number }) => {
      if (m.type === 'keep_alive' || (m.type === 'extended' && m.id === 0)) return
      t.useful = true
      conn.off('message', onMessage)
    }
    conn.on('message', onMessage)
  }

  /** Whether the peer has done anything useful yet (see the file comment). */
  isUseful(conn: PeerConnection): boolean {
    return this.info.get(conn)?.useful ?? true
  }

  /** The connection to replace for a newcomer, or undefined when every connection is useful. */
  victim(conns: Iterable<PeerConnection>): PeerConnection | undefined {
    const candidates: { conn: PeerConnection; prefix: string; since: number }[] = []
    const counts = new Map<string, number>()
    for (const conn of conns) {
      const t = this.info.get(conn)
      if (!t || t.useful || conn.isClosed) continue
      const prefix = sourcePrefix(conn.remote.host)
      candidates.push({ conn, prefix, since: t.since })
      counts.set(prefix, (counts.get(prefix) ?? 0) + 1)
    }
    let best: (typeof candidates)[number] | undefined
    let bestCount = 0
    for (const c of candidates) {
      const n = counts.get(c.prefix) ?? 0
      if (n > bestCount || (n === bestCount && best !== undefined && c.since < best.since)) {
        best = c
        bestCount = n
      }
    }
    return best?.conn
  }
}
