// The holepunch demo's world, on net/sim (virtual time, in-memory, offline): a public Mainline DHT of N nodes, a
// relay (a SwarmNode with its own DHT node) on a public address, and Alice and Bob, each behind a home NAT of the
// kind Linux `masquerade` makes (port-preserving; or symmetric, where punching cannot work).
import { DHT } from '../../dht/index.js'
import { simIPv4 } from '../../net/sim/addresses.js'
import type { NatRouter, NatType } from '../../net/sim/nat.js'
import { SimNetwork } from '../../net/sim/network.js'
import { SeededRandom } from '../../net/sim/random.js'
import type { Endpoint } from '../../net/types.js'
import { SwarmNode } from '../../swarm/node.js'

export const RELAY_AT: Endpoint = { host: '198.51.100.10', port: 6881 }

export interface NatWorld {
  net: SimNetwork
  dht: DHT[]
  relay: SwarmNode
  alice: SwarmNode
  bob: SwarmNode
  natA: NatRouter
  natB: NatRouter
  close(): Promise<void>
}

export interface NatWorldOptions {
  /** Public DHT nodes. Default 120. */
  nodes?: number
  /** Bob's NAT. Default 'port-preserving'. */
  natB?: NatType
  seed?: number
  signal?: AbortSignal
}

/** Builds the world; virtual time advances by itself (autoAdvance) until `close()`. */
export async function buildNatWorld(o: NatWorldOptions = {}): Promise<NatWorld> {
  const random = new SeededRandom(o.seed ?? 55)
  const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs: 20, jitterMs: 5 } })
  const clock = net.clock
  const stop = clock.autoAdvance()
  const dht: DHT[] = []
  const swarms: SwarmNode[] = []
  const close = async () => {
    for (const n of swarms) await n.close().catch(() => {})
    await Promise.all(dht.map((d) => d.destroy().catch(() => {})))
    stop()
  }
  try {
    const size = o.nodes ?? 120
    const seedAt = { host: simIPv4(0), port: 6881 }
    const make = (i: number, bootstrap: Endpoint[]) => {
      const d = new DHT({ socket: net.bind(simIPv4(i), 6881), clock, random: random.fork(), bootstrap })
      dht.push(d)
      return d
    }
    await make(0, []).listen()
    for (let start = 1; start < size; start += 40) {
      o.signal?.throwIfAborted()
      const wave: DHT[] = []
      for (let i = start; i < Math.min(size, start + 40); i++)
        wave.push(make(i, [seedAt, { host: simIPv4(random.int(0, start)), port: 6881 }]))
      await Promise.all(wave.map((d) => d.listen().then(() => d.bootstrapped())))
    }
    const natA = net.addNat({ publicIp: '198.51.100.1', type: 'port-preserving' })
    const natB = net.addNat({ publicIp: '203.0.113.1', type: o.natB ?? 'port-preserving' })
    const node = (socket: ReturnType<typeof net.bind>, passive: boolean, name: string) => {
      const n = new SwarmNode({
        socket,
        clock,
        random: random.fork(),
        peerId: new Uint8Array([...new TextEncoder().encode(`-ML0100-${name}`.padEnd(20, '-'))].slice(0, 20)),
        // Behind a NAT a DHT node cannot answer unsolicited queries: read-only (BEP 43).
        dht: { bootstrap: [seedAt], readOnly: name !== 'relay' },
        utp: { defer: (fn) => clock.setTimeout(fn, 0) },
        dial: { utpTimeout: 1500 },
        swarm: { autoDial: !passive, connection: { pex: { interval: 1000 } } },
      })
      swarms.push(n)
      return n
    }
    const relay = node(net.bind(RELAY_AT.host, RELAY_AT.port), true, 'relay')
    const alice = node(natA.bind('192.0.2.2', 6881), false, 'alice')
    const bob = node(natB.bind('192.0.2.2', 6881), true, 'bob')
    for (const n of [relay, alice, bob]) await n.listen()
    await Promise.all([relay, alice, bob].map((n) => n.dht?.bootstrapped()))
    return { net, dht, relay, alice, bob, natA, natB, close }
  } catch (err) {
    await close()
    throw err
  }
}
