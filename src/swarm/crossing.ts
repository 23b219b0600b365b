// The duplicate rule: one connection per peer id. When two connections cross (one each way, both peers dialing at
// once), both ends must keep the same one: the one the greater peer id initiated, as libtorrent does. Keeping the
// older one would make each end keep a different connection and close the other's: none would be left.
import { bytesEqual, compareBytes, toHex } from '../codec/bytes.js'
import { WireError } from '../wire/errors.js'
import type { PeerConnection } from '../wire/peer-connection.js'

/**
 * What to close now that `conn` finished its handshake with peer `remoteId` (we are `ourId`), given the swarm's
 * `conns`: another open connection to the same peer when the two cross and the greater peer id initiated `conn`,
 * else `conn` itself; undefined when `conn` is the only connection to that peer.
 */
export function duplicateToClose(
  conns: Iterable<PeerConnection>,
  conn: PeerConnection,
  ourId: Uint8Array,
  remoteId: Uint8Array,
): { conn: PeerConnection; reason: WireError } | undefined {
  for (const c of conns) {
    if (c === conn || !c.isOpen || !c.remotePeerId || !bytesEqual(c.remotePeerId, remoteId)) continue
    if (c.direction !== conn.direction && greaterInitiated(conn, ourId, remoteId))
      return { conn: c, reason: new WireError('DUPLICATE', `kept the crossing connection to peer ${toHex(remoteId)}`) }
    return { conn, reason: new WireError('DUPLICATE', `already connected to peer ${toHex(remoteId)}`) }
  }
  return undefined
}

/** Whether `conn` was initiated by the greater of our peer id and `remoteId`. */
function greaterInitiated(conn: PeerConnection, ourId: Uint8Array, remoteId: Uint8Array): boolean {
  return compareBytes(ourId, remoteId) > 0 === (conn.direction === 'outgoing')
}
