// A BEP 9 world on net/sim: an info dictionary of a chosen size, SwarmNodes (uTP and simulated TCP, no DHT unless
// asked) that serve it, fetch it, or serve corrupted copies, and a recorder of the fetcher's metadata events.
import { encode } from '../../src/codec/bencode.js'
import { type Metainfo, parseInfo } from '../../src/codec/metainfo.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { DatagramSocket, Endpoint, StreamNetwork } from '../../src/net/types.js'
import { SwarmNode, type SwarmNodeOptions } from '../../src/swarm/node.js'
import { infoHashV1 } from '../../src/torrent/hash.js'

/** A v1 info dictionary of at least `size` bytes (its `pieces` string makes up the bulk), deterministic. */
export function bigInfo(size: number, seed = 1): Uint8Array {
  const pieceLength = 16384
  const n = Math.max(1, Math.ceil((size - 80) / 20))
  const pieces = new Uint8Array(n * 20)
  for (let i = 0; i < pieces.length; i++) pieces[i] = (i * 31 + seed * 17 + (i >> 9)) & 0xff
  return encode({ length: n * pieceLength, name: `big-${seed}.bin`, 'piece length': pieceLength, pieces })
}

export function metainfoOf(info: Uint8Array): Metainfo {
  return { info: parseInfo(info), extra: Object.create(null) }
}

export function simWorld(seed = 1, latencyMs = 10) {
  const random = new SeededRandom(seed)
  const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs, jitterMs: 1 } })
  const clock = net.clock
  const nodes: SwarmNode[] = []
  const make = (socket: DatagramSocket, streams: StreamNetwork, extra: Partial<SwarmNodeOptions> = {}) => {
    const n = new SwarmNode({
      socket,
      streams,
      clock,
      random: random.fork(),
      dht: false,
      utp: { defer: (fn) => clock.setTimeout(fn, 0) },
      dial: { utpTimeout: 1000, tcpTimeout: 1000 },
      ...extra,
    })
    nodes.push(n)
    return n
  }
  /** A node on a public address. */
  const node = (ip: string, extra: Partial<SwarmNodeOptions> = {}) => make(net.bind(ip, 6881), net.tcp(ip), extra)
  const close = async () => {
    for (const n of nodes) await n.close()
  }
  return { net, clock, random, make, node, nodes, close }
}

export const at = (host: string): Endpoint => ({ host, port: 6881 })

export { infoHashV1 }

/** Records a node's metadata events as short strings (`dropped 198.51.100.3 corrupt`…) and counts pieces. */
export function recordMetadata(n: SwarmNode) {
  const events: string[] = []
  const pieces = new Map<string, number>()
  n.on('metadata:connected', (e) => events.push(`connected ${e.peer.host} ${e.transport}`))
  n.on('metadata:dropped', (e) => events.push(`dropped ${e.peer.host} ${e.reason}`))
  n.on('metadata:verify_failed', () => events.push('verify_failed'))
  n.on('metadata:piece', (e) => pieces.set(e.peer.host, (pieces.get(e.peer.host) ?? 0) + 1))
  const dropped = (reason?: string) =>
    events
      .filter((e) => e.startsWith('dropped ') && (!reason || e.endsWith(` ${reason}`)))
      .map((e) => e.split(' ')[1])
      .sort()
  return { events, pieces, dropped }
}
