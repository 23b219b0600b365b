// Two peers behind simulated NATs and a public relay, all SwarmNodes on net/sim (uTP only, no DHT): the setting
// of the holepunch sim tests.
import type { NatOptions, NatType } from '../../src/net/sim/nat.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { DatagramSocket } from '../../src/net/types.js'
import { SwarmNode, type SwarmNodeOptions } from '../../src/swarm/node.js'

export const INFO_HASH = new Uint8Array(20).fill(0xab)
export const RELAY = { host: '198.51.100.10', port: 6881 }

export interface WorldOptions {
  seed?: number
  /** Peer id bytes (filled) of A and B. Default 0x0a, 0x0b. */
  ids?: [number, number]
  /** Loss on both NATs' uplinks. Default 0. */
  loss?: number
  node?: Partial<SwarmNodeOptions>
  /** Overrides of B's NAT behaviour (mapping, filtering, port preservation). */
  natB?: Partial<NatOptions>
}

export async function holepunchWorld(natA: NatType, natB: NatType, o: WorldOptions = {}) {
  const seed = o.seed ?? 1
  const extra = o.node ?? {}
  const [idA, idB] = o.ids ?? [0x0a, 0x0b]
  const random = new SeededRandom(seed)
  const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs: 20, jitterMs: 2 } })
  const clock = net.clock
  const nat = {
    a: net.addNat({ publicIp: '198.51.100.1', type: natA }),
    b: net.addNat({ publicIp: '203.0.113.1', type: natB, ...o.natB }),
  }
  const make = (socket: DatagramSocket, id: number) =>
    new SwarmNode({
      socket,
      clock,
      random: random.fork(),
      peerId: new Uint8Array(20).fill(id),
      dht: false,
      utp: { defer: (fn) => clock.setTimeout(fn, 0) },
      dial: { utpTimeout: 1000 },
      ...extra,
    })
  const relay = make(net.bind(RELAY.host, RELAY.port), 0x10)
  const a = make(nat.a.bind('192.0.2.2', 6881), idA)
  const b = make(nat.b.bind('192.0.2.2', 6881), idB)
  for (const n of [relay, a, b]) {
    await n.listen()
    n.add(INFO_HASH)
  }
  return { net, clock, nat, relay, a, b }
}
