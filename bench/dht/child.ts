// One benchmark run of one implementation, in its own process so its RSS is its own:
//   node --expose-gc --import tsx bench/dht/child.ts <ours|anchor> <N> <k|-> <concurrency|-> [settleMs] [lookups]
// Starts N nodes on 127.0.0.1 (node 0 first, the others joining off node 0 twenty at a time), lets them settle,
// then measures: the routing graph (unseen nodes, in-degree), lookups of an announced infohash and of random
// targets (datagrams and bytes at the looking node's socket, time, the true 8 closest queried), and announces of
// random targets (the true 8 closest that stored them). Prints one JSON line.
import { randomBytes } from 'node:crypto'
import { anchor, type BenchNode, ours } from './impls.js'
import { distribution, graphHealth, isGetPeersFor, mean, median, nodeKey, reachedOf, trueClosest } from './metrics.js'

const [which, nArg, kArg, cArg, settleArg, lookupsArg] = process.argv.slice(2)
const N = Number(nArg)
const settings = {
  k: kArg && kArg !== '-' ? Number(kArg) : undefined,
  concurrency: cArg && cArg !== '-' ? Number(cArg) : undefined,
}
const SETTLE_MS = Number(settleArg ?? 65_000)
const LOOKUPS = Number(lookupsArg ?? 20)
const ANNOUNCES = 10
const BATCH = 20
const TRUE_K = 8

function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

interface LookupFigures {
  datagrams: number[]
  bytesSent: number[]
  bytesReceived: number[]
  ms: number[]
  trueQueried: number[]
  found: number
}

function figures(): LookupFigures {
  return { datagrams: [], bytesSent: [], bytesReceived: [], ms: [], trueQueried: [], found: 0 }
}

function summarize(f: LookupFigures) {
  return {
    lookups: f.ms.length,
    found: f.found,
    datagrams_per_lookup: mean(f.datagrams),
    bytes_per_lookup: mean(f.bytesSent) + mean(f.bytesReceived),
    bytes_sent_per_lookup: mean(f.bytesSent),
    ms_median: median(f.ms),
    true8_queried_median: median(f.trueQueried),
    true8_queried_mean: mean(f.trueQueried),
  }
}

async function main(): Promise<void> {
  const impl = which === 'ours' ? await ours(settings) : await anchor(settings)
  let target: Uint8Array | undefined
  const queried = new Set<number>()
  const stored = new Set<number>()
  gc()
  const mem0 = process.memoryUsage()
  const t0 = performance.now()
  const nodes: BenchNode[] = []
  const create = async (i: number, seed: { host: string; port: number } | null) => {
    const node = await impl.create(seed, (ih) => {
      if (target && hex(ih) === hex(target)) stored.add(i)
    })
    node.counter.onReceive = (data) => {
      if (target && isGetPeersFor(data, target)) queried.add(i)
    }
    nodes[i] = node
  }
  await create(0, null)
  const seed = { host: '127.0.0.1', port: nodes[0].port }
  for (let i = 1; i < N; i += BATCH) {
    const batch = []
    for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(create(j, seed))
    await Promise.all(batch)
  }
  const bootMs = performance.now() - t0
  await sleep(SETTLE_MS)
  gc()
  const mem1 = process.memoryUsage()

  const ids = () => nodes.map((n) => n.id())
  const health = graphHealth(
    nodes.map((n) => ({
      key: nodeKey('127.0.0.1', n.port, n.id()),
      table: n.table().map((e) => nodeKey(e.host, e.port, e.id)),
    })),
  )

  const lookupOnce = async (f: LookupFigures, looker: number, t: Uint8Array, wantPort?: number) => {
    const truth = trueClosest(ids(), t, TRUE_K, looker)
    target = t
    queried.clear()
    const node = nodes[looker]
    const c0 = node.counter.snapshot()
    const start = performance.now()
    const r = await node.lookup(t)
    f.ms.push(performance.now() - start)
    const c1 = node.counter.snapshot()
    f.datagrams.push(c1.datagramsSent - c0.datagramsSent)
    f.bytesSent.push(c1.bytesSent - c0.bytesSent)
    f.bytesReceived.push(c1.bytesReceived - c0.bytesReceived)
    f.trueQueried.push(reachedOf(truth, queried))
    if (wantPort !== undefined && r.peers.some((p) => p.port === wantPort)) f.found++
    target = undefined
  }

  // An announced infohash: node 1 announces it, then lookups from nodes that do not store it.
  const announced = new Uint8Array(randomBytes(20))
  target = announced
  await nodes[1].announce(announced, 6881)
  await sleep(200) // let the last announce_peer datagrams land
  target = undefined
  const storingAnnounced = [...stored]
  const ann = figures()
  const candidates = nodes.map((_, i) => i).filter((i) => i > 1 && !stored.has(i))
  const step = Math.max(1, Math.floor(candidates.length / LOOKUPS))
  for (let k = 0; k < LOOKUPS && k * step < candidates.length; k++)
    await lookupOnce(ann, candidates[k * step], announced, 6881)

  // Random targets from random nodes.
  const rnd = figures()
  for (let k = 0; k < LOOKUPS; k++) await lookupOnce(rnd, (k * 7919 + 3) % N, new Uint8Array(randomBytes(20)))

  // Announces of random targets: how many of the true 8 closest stored each.
  const storedTrue: number[] = []
  for (let k = 0; k < ANNOUNCES; k++) {
    const who = (k * 104729 + 11) % N
    const t = new Uint8Array(randomBytes(20))
    const truth = trueClosest(ids(), t, TRUE_K, who)
    stored.clear()
    target = t
    await nodes[who].announce(t, 6881)
    await sleep(200)
    storedTrue.push(reachedOf(truth, stored))
    target = undefined
  }

  const result = {
    impl: impl.name,
    settings,
    n: N,
    bootMs,
    settleMs: SETTLE_MS,
    unseen: health.unseen,
    in_degree: health.inDegree,
    announced: { ...summarize(ann), stored_on: storingAnnounced.length },
    random: summarize(rnd),
    announce_true8_stored_median: median(storedTrue),
    announce_true8_stored_mean: mean(storedTrue),
    announce_true8_stored: distribution(storedTrue),
    rss_per_node_kb: (mem1.rss - mem0.rss) / 1024 / N,
    // What the JS side keeps per node after a full GC (JS heap + ArrayBuffers/external), free of the young
    // generation's slack and the allocator's fragmentation that RSS also counts.
    heap_per_node_kb: (mem1.heapUsed + mem1.external - mem0.heapUsed - mem0.external) / 1024 / N,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
  await Promise.all(nodes.map((n) => n.destroy().catch(() => {})))
  process.exit(0)
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
