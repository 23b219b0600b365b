// Two peers behind simulated NATs and a public relay, all SwarmNodes on net/sim (uTP and simulated TCP, no DHT):
// the setting of the holepunch sim tests.
import type { NatOptions, NatType } from '../../src/net/sim/nat.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { DatagramSocket, StreamNetwork } from '../../src/net/types.js'
import { SwarmNode, type SwarmNodeOptions } from '../../src/swarm/node.js'
import { until } from './until.js'

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
  const make = (socket: DatagramSocket, streams: StreamNetwork, id: number) =>
    new SwarmNode({
      socket,
      streams,
      clock,
      random: random.fork(),
      peerId: new Uint8Array(20).fill(id),
      dht: false,
      utp: { defer: (fn) => clock.setTimeout(fn, 0) },
      dial: { utpTimeout: 1000 },
      ...extra,
    })
  const relay = make(net.bind(RELAY.host, RELAY.port), net.tcp(RELAY.host), 0x10)
  const a = make(nat.a.bind('192.0.2.2', 6881), nat.a.tcp('192.0.2.2'), idA)
  const b = make(nat.b.bind('192.0.2.2', 6881), nat.b.tcp('192.0.2.2'), idB)
  for (const n of [relay, a, b]) {
    await n.listen()
    n.add(INFO_HASH)
  }
  return { net, clock, nat, relay, a, b }
}

/** B's public endpoint in `holepunchWorld`. */
export const B_AT = { host: '203.0.113.1', port: 6881 }

type World = Awaited<ReturnType<typeof holepunchWorld>>

/** Waits `ms` of virtual time (the clock advances by itself while `autoAdvance` runs). */
export function vsleep(w: World, ms: number): Promise<void> {
  return new Promise((resolve) => w.clock.setTimeout(resolve, ms))
}

/**
 * A world with the clock running, A and B connected to the relay, A knowing B supports holepunch, no auto-dial;
 * A's holepunch events recorded as `sent|connected|failed <host>[ <reason>]`. `done()` stops it all.
 */
export async function connectedWorld(natA: NatType = 'port-preserving', o: WorldOptions = {}) {
  const w = await holepunchWorld(natA, 'port-preserving', {
    ...o,
    node: { ...o.node, swarm: { autoDial: false, ...o.node?.swarm } },
  })
  const stop = w.clock.autoAdvance()
  await w.b.connect(INFO_HASH, RELAY)
  await w.a.connect(INFO_HASH, RELAY)
  await until(() => w.a.initiator(INFO_HASH)!.supportsHolepunch(B_AT), {
    clock: w.clock,
    within: 60_000,
    every: 50,
    what: 'A knows B supports holepunch',
  })
  const events: string[] = []
  w.a.on('hp_rendezvous_sent', (_r, t) => events.push(`sent ${t.host}`))
  w.a.on('hp_connected', (r) => events.push(`connected ${r.target.host}`))
  w.a.on('hp_failed', (t, why) => events.push(`failed ${t.host} ${why}`))
  const done = async (...extra: SwarmNode[]) => {
    stop()
    for (const n of [w.a, w.b, w.relay, ...extra]) await n.close()
  }
  return { w, events, done }
}
