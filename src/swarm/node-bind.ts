// Binding a node's one port: a UDP socket (uTP and the DHT) whose number TCP can take as well.
import { normalizeIP } from '../codec/ip.js'
import type { DatagramSocket, StreamNetwork } from '../net/types.js'
import { UdpSocket } from '../net/udp.js'

/**
 * Binds the UDP socket on `host`:`port`. With port 0 the system picks the number, and TCP (when `tcp` is given)
 * must then get the same one: a number taken on the TCP side is given back and another tried (a few times).
 */
export async function bindNodeUdp(host: string, port: number, tcp: StreamNetwork | undefined): Promise<DatagramSocket> {
  // On '::' node:net's TCP listener takes IPv4 too (IPV6_V6ONLY off): UDP must as well, or IPv4 peers would
  // reach us over TCP but never over uTP, and a v4 rendezvous could never punch to us.
  const dualStack = normalizeIP(host) === '::'
  for (let attempt = 0; ; attempt++) {
    const socket = await UdpSocket.bind({ host, port, dualStack })
    if (port !== 0 || !tcp || attempt >= 4) return socket
    const free = await tcp
      .listen({ host, port: socket.address().port }, (s) => s.destroy())
      .then(
        (probe) => probe.close().then(() => true),
        () => false,
      )
    if (free) return socket
    await socket.close()
  }
}
