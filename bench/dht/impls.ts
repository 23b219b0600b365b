// The two DHT implementations under the same harness: ours (`DHT` over `UdpSocket`) and the anchor, webtorrent's
// `bittorrent-dht`. Both run on real UDP on 127.0.0.1 and every datagram a node sends or receives is counted by one
// `DatagramCounter` (src/net/counting.ts): through `CountingSocket` for ours, through a wrapper around the anchor's
// `dgram` socket for bittorrent-dht.
import type { Socket as DgramSocket } from 'node:dgram'
import type { DHT } from '../../src/dht/index.js'
import { CountingSocket, DatagramCounter } from '../../src/net/counting.js'
import type { Endpoint } from '../../src/net/types.js'

export interface BenchNode {
  readonly port: number
  readonly counter: DatagramCounter
  /** The node's current id. */
  id(): Uint8Array
  /** The contacts in its routing table. */
  table(): Array<{ id: Uint8Array; host: string; port: number }>
  /** Announces `port` for the infohash; resolves once the announce queries were answered. */
  announce(infoHash: Uint8Array, port: number): Promise<void>
  /** A full get_peers lookup. */
  lookup(infoHash: Uint8Array): Promise<{ peers: Endpoint[] }>
  destroy(): Promise<void>
}

export interface ImplSettings {
  /** Bucket size / lookup width; undefined = the implementation's default. */
  k?: number
  /** Lookup concurrency; undefined = the implementation's default. */
  concurrency?: number
}

export interface Impl {
  readonly name: string
  /** Starts a node on 127.0.0.1 bootstrapping off `seed` (none for node 0); resolves when its bootstrap is done.
   * `onStored` sees every announce the node stores. */
  create(seed: Endpoint | null, onStored: (infoHash: Uint8Array) => void): Promise<BenchNode>
}

/** One of our nodes as the harnesses start it: the node, its counted socket, and how to stop both. */
export interface OursNode {
  dht: DHT
  socket: CountingSocket
  destroy(): Promise<void>
}

/**
 * Loads our DHT and returns how to start a node of it on 127.0.0.1 bootstrapping off `seed` (none for node 0),
 * resolved once its bootstrap is done; `setup` sees the node before it listens.
 */
export async function oursStarter(
  s: ImplSettings,
): Promise<(seed: Endpoint | null, setup?: (dht: DHT) => void) => Promise<OursNode>> {
  const [{ DHT }, { UdpSocket }] = await Promise.all([import('../../src/dht/index.js'), import('../../src/net/udp.js')])
  return async (seed, setup) => {
    // Small kernel buffers: 1,000 sockets asking for 4 MiB each would measure the kernel, not the DHT.
    const udp = await UdpSocket.bind({ host: '127.0.0.1', recvBufferSize: 256 * 1024, sendBufferSize: 256 * 1024 })
    const socket = new CountingSocket(udp)
    const dht = new DHT({ socket, bootstrap: seed ? [seed] : [], k: s.k, alpha: s.concurrency })
    setup?.(dht)
    await dht.listen()
    await dht.bootstrapped()
    return {
      dht,
      socket,
      async destroy() {
        await dht.destroy()
        await udp.close()
      },
    }
  }
}

export async function ours(s: ImplSettings = {}): Promise<Impl> {
  const start = await oursStarter(s)
  return {
    name: 'mainline',
    async create(seed, onStored) {
      const { dht, socket, destroy } = await start(seed, (d) =>
        d.on('announce', (_peer, infoHash) => onStored(infoHash)),
      )
      return {
        port: socket.address().port,
        counter: socket.counter,
        id: () => dht.id,
        table: () => dht.nodes(),
        async announce(infoHash, port) {
          await dht.announce(infoHash, { port })
        },
        async lookup(infoHash) {
          const r = await dht.lookup(infoHash)
          return { peers: r.peers }
        },
        destroy,
      }
    },
  }
}

/** Counts every datagram of a `dgram` socket into `counter`: sends through `send`, receipts before any listener. */
function countDgram(sock: DgramSocket, counter: DatagramCounter): void {
  const send = sock.send.bind(sock) as (...a: unknown[]) => void
  ;(sock as unknown as { send: (...a: unknown[]) => void }).send = (buf: unknown, ...rest: unknown[]) => {
    // k-rpc-socket calls send(buf, offset, length, port, host, cb).
    const port = typeof rest[2] === 'number' ? rest[2] : 0
    const host = typeof rest[3] === 'string' ? rest[3] : ''
    counter.sent(buf as Uint8Array, { host, port })
    send(buf, ...rest)
  }
  sock.prependListener('message', (buf: Buffer, rinfo) =>
    counter.received(buf, { host: rinfo.address, port: rinfo.port }),
  )
}

type AnchorDHT = InstanceType<typeof import('bittorrent-dht').default>
type AnchorOptions = NonNullable<ConstructorParameters<typeof import('bittorrent-dht').default>[0]>

/**
 * Loads bittorrent-dht and returns how to start a node of it (with `extra` options) on 127.0.0.1 bootstrapping off
 * `seed`, its datagrams counted, resolved once it is ready; `setup` sees the node before it listens.
 */
export async function anchorStarter(
  s: ImplSettings,
  extra: AnchorOptions = {},
): Promise<
  (seed: Endpoint | null, setup?: (dht: AnchorDHT) => void) => Promise<{ dht: AnchorDHT; counter: DatagramCounter }>
> {
  const { default: DHT } = await import('bittorrent-dht')
  return async (seed, setup) => {
    const opts: Record<string, unknown> = { bootstrap: seed ? [`${seed.host}:${seed.port}`] : false, ...extra }
    if (s.k !== undefined) opts.k = s.k
    if (s.concurrency !== undefined) opts.concurrency = s.concurrency
    const dht = new DHT(opts)
    const counter = new DatagramCounter()
    countDgram(dht._rpc.socket.socket as DgramSocket, counter)
    setup?.(dht)
    dht.on('warning', () => {})
    dht.on('error', () => {})
    const ready = new Promise<void>((resolve) => dht.once('ready', () => resolve()))
    await new Promise<void>((resolve) => dht.listen(0, '127.0.0.1', resolve))
    await ready
    return { dht, counter }
  }
}

export async function anchor(s: ImplSettings = {}): Promise<Impl> {
  const start = await anchorStarter(s)
  return {
    name: 'bittorrent-dht',
    async create(seed, onStored) {
      const { dht, counter } = await start(seed, (d) =>
        d.on('announce', (_peer: Endpoint, infoHash: Buffer) => onStored(new Uint8Array(infoHash))),
      )
      const found: Endpoint[] = []
      dht.on('peer', (peer: Endpoint) => found.push({ host: peer.host, port: peer.port }))
      return {
        port: dht.address().port,
        counter,
        id: () => new Uint8Array(dht.nodeId),
        table: () =>
          (dht._rpc.nodes.toArray() as Array<{ id: Buffer; host: string; port: number }>).map((n) => ({
            id: new Uint8Array(n.id),
            host: n.host,
            port: n.port,
          })),
        announce: (infoHash, port) =>
          new Promise((resolve, reject) =>
            dht.announce(Buffer.from(infoHash), port, (err) => (err ? reject(err) : resolve())),
          ),
        lookup: (infoHash) =>
          new Promise((resolve, reject) => {
            found.length = 0
            dht.lookup(Buffer.from(infoHash), (err) => {
              if (err) reject(err)
              else resolve({ peers: [...found] })
            })
          }),
        destroy: () => new Promise<void>((resolve) => dht.destroy(() => resolve())),
      }
    },
  }
}
