// Our DHT at scale on net/sim (virtual time, in-memory network), in its own process:
//   node --expose-gc --import tsx bench/dht/sim.ts <N> [lookups]
// N nodes (node 0 first, every other bootstrapping off node 0), one announce, then lookups from nodes that do not
// store it. Reports queries and hops ("rounds") per lookup beside log2(N), and memory per node. One JSON line.
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'
import type { Endpoint } from '../../src/net/types.js'

const N = Number(process.argv[2] ?? 10_000)
const LOOKUPS = Number(process.argv[3] ?? 20)
const BATCH = 200

function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Node i's address: documentation ranges only, many ports per address. */
function ipOf(i: number): string {
  const block = i % 2 === 0 ? '198.51.100' : '203.0.113'
  return `${block}.${1 + ((i >> 1) % 254)}`
}

async function main(): Promise<void> {
  const random = new SeededRandom(42)
  const net = new SimNetwork({ random, defaults: { latencyMs: 20 } })
  const clock = net.clock
  const t0 = performance.now()
  gc()
  const mem0 = process.memoryUsage()
  const storing = new Set<number>()
  const infoHash = random.bytes(20)
  const key = Buffer.from(infoHash).toString('hex')
  const nodes: DHT[] = []
  const make = (i: number, seed: Endpoint | null) => {
    const socket = net.internet.bind(ipOf(i), 0)
    // Every simulated node shares its address with ~40 others, so IP diversity rules would be meaningless here.
    const d = new DHT({ socket, clock, random, bootstrap: seed ? [seed] : [], restrictIps: false })
    d.on('announce', (_p, ih) => {
      if (Buffer.from(ih).toString('hex') === key) storing.add(i)
    })
    nodes.push(d)
    return d
  }
  const seed = await clock.settle(make(0, null).listen())
  for (let i = 1; i < N; i += BATCH) {
    const batch: Promise<void>[] = []
    for (let j = i; j < Math.min(N, i + BATCH); j++) {
      const d = make(j, seed)
      batch.push(d.listen().then(() => d.bootstrapped()))
    }
    await clock.settle(Promise.all(batch), { timeout: 600_000 })
  }
  const bootWallMs = performance.now() - t0
  gc()
  const mem1 = process.memoryUsage()

  const a = await clock.settle(nodes[1].announce(infoHash, { port: 6881 }))
  await clock.runFor(1000)
  const queries: number[] = []
  const hops: number[] = []
  const virtMs: number[] = []
  let found = 0
  const candidates = nodes.map((_, i) => i).filter((i) => i > 1 && !storing.has(i))
  const step = Math.max(1, Math.floor(candidates.length / LOOKUPS))
  for (let k = 0; k < LOOKUPS; k++) {
    const r = await clock.settle(nodes[candidates[k * step]].lookup(infoHash))
    queries.push(r.queries)
    hops.push(r.hops)
    virtMs.push(r.ms)
    if (r.peers.some((p) => p.port === 6881)) found++
  }
  const out = {
    n: N,
    log2N: Math.log2(N),
    bootWallMs,
    announceNodes: a.nodes,
    stored: storing.size,
    lookups: LOOKUPS,
    found,
    queries_per_lookup: queries.reduce((x, y) => x + y, 0) / LOOKUPS,
    queries_median: median(queries),
    hops_per_lookup: hops.reduce((x, y) => x + y, 0) / LOOKUPS,
    hops_max: Math.max(...hops),
    lookup_virtual_ms: median(virtMs),
    rss_per_node_kb: (mem1.rss - mem0.rss) / 1024 / N,
    heap_per_node_kb: (mem1.heapUsed - mem0.heapUsed) / 1024 / N,
    wallMs: performance.now() - t0,
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
  process.exit(0)
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
