// Scripted BEP 9 peers for hostile tests on net/sim: a TCP listener whose connections are PeerConnections that
// announce any `metadata_size` (4 GiB too) and answer `ut_metadata` requests however the script says: with
// pieces out of range, of the wrong size, with nothing at all…
import { encode } from '../../src/codec/bencode.js'
import { concatBytes } from '../../src/codec/bytes.js'
import { decodeUtMetadata } from '../../src/codec/ut-metadata.js'
import type { SimNetwork } from '../../src/net/sim/network.js'
import type { Clock, StreamListener } from '../../src/net/types.js'
import { PeerConnection } from '../../src/wire/peer-connection.js'
import { METADATA_EXTENSION } from '../../src/wire/ut-metadata.js'

/** What to send for a request of `piece`: payloads of ut_metadata messages (none: stay silent). */
export type Script = (piece: number, size: number) => Uint8Array[]

/** A `data` message, unchecked (the piece index, total_size and bytes are whatever the script wants). */
export function rawData(piece: number, totalSize: number, bytes: Uint8Array): Uint8Array {
  return concatBytes([encode({ msg_type: 1, piece, total_size: totalSize }), bytes])
}

export interface HostilePeer {
  requests: number
  connections: PeerConnection[]
  server: StreamListener
}

export async function hostilePeer(
  net: SimNetwork,
  clock: Clock,
  host: string,
  o: { infoHash: Uint8Array; size: number; script: Script; id: number },
): Promise<HostilePeer> {
  const peer: HostilePeer = { requests: 0, connections: [], server: undefined as unknown as StreamListener }
  peer.server = await net.tcp(host).listen({ host, port: 6881 }, (socket) => {
    const conn = new PeerConnection({
      stream: socket,
      transport: 'tcp',
      direction: 'incoming',
      remote: { host: socket.remoteAddress ?? '0.0.0.0', port: socket.remotePort ?? 0 },
      peerId: new Uint8Array(20).fill(o.id),
      infoHash: o.infoHash,
      clock,
      listenPort: 6881,
    })
    // Announce whatever size the script is about, without holding that many bytes.
    Object.defineProperty(conn.utMetadata, 'localSize', { get: () => o.size })
    conn.handleExtension(METADATA_EXTENSION, (payload) => {
      const m = decodeUtMetadata(payload)
      if (m.type !== 'request') return
      peer.requests++
      for (const p of o.script(m.piece, o.size)) conn.sendExtended(METADATA_EXTENSION, p)
    })
    peer.connections.push(conn)
  })
  return peer
}
