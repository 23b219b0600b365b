// A network of our DHT nodes on net/sim (virtual time) with the measurements of issue 9: routing-graph health
// (unseen nodes, in-degree) and lookup convergence on the true K closest nodes, every datagram counted at each
// node's socket by net/counting. Used by the sim tests and by bench/dht/sim.ts.
import {
  distribution,
  type GraphHealth,
  graphHealth,
  isGetPeersFor,
  mean,
  median,
  nodeKey,
  reachedOf,
  trueClosest,
} from '../../bench/dht/metrics.js'
import { DHT, type DHTOptions } from '../../src/dht/index.js'
import { CountingSocket } from '../../src/net/counting.js'
import { SeededRandom, SimNetwork, simIPv4 } from '../../src/net/sim/index.js'
import type { Endpoint } from '../../src/net/types.js'

export interface WorldOptions {
  n: number
  seed: number
  /** Nodes joining together (each batch bootstraps off node 0 and finishes before the next starts); `n` = all at once. */
  batch: number
  latencyMs?: number
  k?: number
  alpha?: number
  /** Further options of every node (e.g. `storage`). */
  dht?: Partial<DHTOptions>
}

export interface World {
  net: SimNetwork
  nodes: DHT[]
  sockets: CountingSocket[]
  alive: boolean[]
  random: SeededRandom
  /** Node i received a get_peers query for the target being measured. */
  queried: Set<number>
  /** Node i stored an announce of the target being measured. */
  stored: Set<number>
  target: Uint8Array | undefined
}

/**
 * Node i's address: its own IPv4 address in 198.18.0.0/15, spread over all 512 /24s of that range (nodes i and
 * i + 512 share one), so the IP-diversity rules of the table and of lookups stay on and mostly do not bind.
 */
export function ipOf(i: number): string {
  return simIPv4((i % 512) * 256 + 1 + Math.floor(i / 512))
}

export async function buildWorld(o: WorldOptions): Promise<World> {
  const random = new SeededRandom(o.seed)
  const net = new SimNetwork({ random: new SeededRandom(o.seed + 1), defaults: { latencyMs: o.latencyMs ?? 20 } })
  const clock = net.clock
  const w: World = {
    net,
    nodes: [],
    sockets: [],
    alive: [],
    random,
    queried: new Set(),
    stored: new Set(),
    target: undefined,
  }
  const make = (i: number, bootstrap: Endpoint[]) => {
    const socket = new CountingSocket(net.bind(ipOf(i), 6881))
    socket.counter.onReceive = (data) => {
      if (w.target && isGetPeersFor(data, w.target)) w.queried.add(i)
    }
    const dht = new DHT({ ...o.dht, socket, clock, random, bootstrap, k: o.k, alpha: o.alpha })
    dht.on('announce', (_peer, infoHash) => {
      if (w.target && Buffer.compare(infoHash, w.target) === 0) w.stored.add(i)
    })
    w.nodes.push(dht)
    w.sockets.push(socket)
    w.alive.push(true)
    return dht
  }
  await clock.settle(make(0, []).listen())
  const boot = [{ host: ipOf(0), port: 6881 }]
  for (let start = 1; start < o.n; start += o.batch) {
    const joining: DHT[] = []
    for (let i = start; i < Math.min(o.n, start + o.batch); i++) joining.push(make(i, boot))
    await clock.settle(Promise.all(joining.map((d) => d.listen().then(() => d.bootstrapped()))), {
      timeout: 3_600_000,
    })
  }
  return w
}

/** Who is in whose (confirmed) table, among the live nodes. */
export function health(w: World): GraphHealth {
  const views = []
  for (let i = 0; i < w.nodes.length; i++) {
    if (!w.alive[i]) continue
    const d = w.nodes[i]
    const a = d.address()
    views.push({ key: nodeKey(a.host, a.port, d.id), table: d.nodes().map((n) => nodeKey(n.host, n.port, n.id)) })
  }
  return graphHealth(views)
}

/** Takes nodes out of the network (destroyed, their sockets closed: a query to them gets no answer). */
export async function leave(w: World, which: number[]): Promise<void> {
  for (const i of which) {
    w.alive[i] = false
    await w.nodes[i].destroy()
    await w.sockets[i].close()
  }
}

export interface Convergence {
  lookups: number
  /** Of the true K closest (live, the looker excepted), how many each lookup sent get_peers to. */
  queried: number[]
  /** Of the true K closest, how many stored each announce. */
  stored: number[]
  datagramsSent: number[]
  bytesSent: number[]
  bytesReceived: number[]
  ms: number[]
}

function liveIndex(w: World): number[] {
  return w.nodes.map((_, i) => i).filter((i) => w.alive[i])
}

/** `count` lookups of random targets (from random live nodes), then `announces` announces of random targets. */
export async function convergence(w: World, count: number, announces: number, k = 8): Promise<Convergence> {
  const clock = w.net.clock
  const out: Convergence = {
    lookups: 0,
    queried: [],
    stored: [],
    datagramsSent: [],
    bytesSent: [],
    bytesReceived: [],
    ms: [],
  }
  const live = liveIndex(w)
  const ids = () => live.map((i) => w.nodes[i].id)
  for (let r = 0; r < count + announces; r++) {
    const looker = live[w.random.int(0, live.length)]
    const target = w.random.bytes(20).slice()
    const truth = trueClosest(ids(), target, k, live.indexOf(looker)).map((j) => live[j])
    w.target = target
    w.queried.clear()
    w.stored.clear()
    const c0 = w.sockets[looker].counter.snapshot()
    const t0 = clock.now()
    if (r < count) {
      await clock.settle(w.nodes[looker].lookup(target), { timeout: 600_000 })
      const c1 = w.sockets[looker].counter.snapshot()
      out.lookups++
      out.queried.push(reachedOf(truth, w.queried))
      out.ms.push(clock.now() - t0)
      out.datagramsSent.push(c1.datagramsSent - c0.datagramsSent)
      out.bytesSent.push(c1.bytesSent - c0.bytesSent)
      out.bytesReceived.push(c1.bytesReceived - c0.bytesReceived)
    } else {
      await clock.settle(w.nodes[looker].announce(target, { port: 6881 }), { timeout: 600_000 })
      await clock.runFor(200) // the last announce_peer datagrams land
      out.stored.push(reachedOf(truth, w.stored))
    }
  }
  w.target = undefined
  return out
}

export function summary(c: Convergence): Record<string, number> {
  return {
    queried_median: median(c.queried),
    queried_mean: mean(c.queried),
    queried_min: distribution(c.queried).min,
    stored_median: median(c.stored),
    stored_mean: mean(c.stored),
    datagrams_per_lookup: mean(c.datagramsSent),
    bytes_sent_per_lookup: mean(c.bytesSent),
    bytes_received_per_lookup: mean(c.bytesReceived),
    ms_median: median(c.ms),
  }
}

export async function destroyWorld(w: World): Promise<void> {
  await Promise.all(w.nodes.map((d, i) => (w.alive[i] ? d.destroy() : undefined)))
}
