// The two DHT implementations under the same harness: ours (`DHT` over `UdpSocket`) and the anchor, webtorrent's
// `bittorrent-dht`. Both run on real UDP on 127.0.0.1; every byte a node sends is counted at its socket.
import type { Endpoint } from '../../src/net/types.js'
import type { UdpSocket as Udp } from '../../src/net/udp.js'

export interface BenchNode {
  readonly port: number
  /** Announces `port` for the infohash; resolves once the announce queries were answered. */
  announce(infoHash: Uint8Array, port: number): Promise<void>
  /** A full get_peers lookup; `queries` is the number of queries this node sent for it. */
  lookup(infoHash: Uint8Array): Promise<{ peers: Endpoint[]; queries: number }>
  destroy(): Promise<void>
}

export interface Impl {
  readonly name: string
  /** Starts a node on 127.0.0.1 bootstrapping off `seed` (none for node 0); resolves when its bootstrap is done. */
  create(seed: Endpoint | null, onStored: (infoHash: Uint8Array) => void): Promise<BenchNode>
  /** Total UDP payload bytes sent by every node of this implementation so far. */
  bytesSent(): number
}

export async function ours(): Promise<Impl> {
  const [{ DHT }, { UdpSocket }] = await Promise.all([import('../../src/dht/index.js'), import('../../src/net/udp.js')])
  const sockets: Udp[] = []
  // Closed sockets keep their final count here so bytesSent() stays monotonic.
  let closedBytes = 0
  return {
    name: 'mainline',
    bytesSent: () => closedBytes + sockets.reduce((n, s) => n + s.stats().sentBytes, 0),
    async create(seed, onStored) {
      // Small kernel buffers: 1,000 sockets asking for 4 MiB each would measure the kernel, not the DHT.
      const socket = await UdpSocket.bind({ host: '127.0.0.1', recvBufferSize: 256 * 1024, sendBufferSize: 256 * 1024 })
      sockets.push(socket)
      const dht = new DHT({ socket, bootstrap: seed ? [seed] : [] })
      dht.on('announce', (_peer, infoHash) => onStored(infoHash))
      await dht.listen()
      await dht.bootstrapped()
      return {
        port: socket.address().port,
        async announce(infoHash, port) {
          await dht.announce(infoHash, { port })
        },
        async lookup(infoHash) {
          const r = await dht.lookup(infoHash)
          return { peers: r.peers, queries: r.queries }
        },
        async destroy() {
          await dht.destroy()
          await socket.close()
          closedBytes += socket.stats().sentBytes
          sockets.splice(sockets.indexOf(socket), 1)
        },
      }
    },
  }
}

export async function anchor(): Promise<Impl> {
  const { default: DHT } = await import('bittorrent-dht')
  let bytes = 0
  return {
    name: 'bittorrent-dht',
    bytesSent: () => bytes,
    async create(seed, onStored) {
      const dht = new DHT({ bootstrap: seed ? [`${seed.host}:${seed.port}`] : false })
      // Count every datagram at the dgram socket, and every query this node sends.
      const sock = dht._rpc.socket.socket
      const send = sock.send.bind(sock)
      sock.send = (buf: unknown, ...rest: unknown[]) => {
        bytes += (buf as Uint8Array).length
        return send(buf, ...rest)
      }
      let queries = 0
      const krpcSocket = dht._rpc.socket
      const query = krpcSocket.query.bind(krpcSocket)
      krpcSocket.query = (...a: unknown[]) => {
        queries++
        return query(...a)
      }
      dht.on('announce', (_peer: Endpoint, infoHash: Buffer) => onStored(new Uint8Array(infoHash)))
      dht.on('warning', () => {})
      dht.on('error', () => {})
      const ready = new Promise<void>((resolve) => dht.once('ready', () => resolve()))
      await new Promise<void>((resolve) => dht.listen(0, '127.0.0.1', resolve))
      await ready
      const found: Endpoint[] = []
      dht.on('peer', (peer: Endpoint) => found.push({ host: peer.host, port: peer.port }))
      return {
        port: dht.address().port,
        announce: (infoHash, port) =>
          new Promise((resolve, reject) =>
            dht.announce(Buffer.from(infoHash), port, (err) => (err ? reject(err) : resolve())),
          ),
        lookup: (infoHash) =>
          new Promise((resolve, reject) => {
            const q0 = queries
            found.length = 0
            dht.lookup(Buffer.from(infoHash), (err) => {
              if (err) reject(err)
              else resolve({ peers: [...found], queries: queries - q0 })
            })
          }),
        destroy: () => new Promise<void>((resolve) => dht.destroy(() => resolve())),
      }
    },
  }
}
