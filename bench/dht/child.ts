// One benchmark run of one implementation, in its own process so its RSS is its own:
//   node --expose-gc --import tsx bench/dht/child.ts <ours|anchor> <N> [lookups]
// Starts N nodes on 127.0.0.1 (node 0 first, every other node bootstraps off node 0), announces an infohash from
// node 1, then runs lookups of it from nodes that do not store it, one after another. Prints one JSON line.
import { randomBytes } from 'node:crypto'
import { anchor, type BenchNode, ours } from './impls.js'

const [which, nArg, lookupsArg] = process.argv.slice(2)
const N = Number(nArg)
const LOOKUPS = Number(lookupsArg ?? 20)
const BATCH = 25 // nodes bootstrapping at once

function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function main(): Promise<void> {
  const impl = which === 'ours' ? await ours() : await anchor()
  const infoHash = new Uint8Array(randomBytes(20))
  const hex = Buffer.from(infoHash).toString('hex')
  const storing = new Set<number>()
  gc()
  const rss0 = process.memoryUsage().rss
  const t0 = performance.now()
  const nodes: BenchNode[] = []
  const stored = (i: number) => (ih: Uint8Array) => {
    if (Buffer.from(ih).toString('hex') === hex) storing.add(i)
  }
  nodes.push(await impl.create(null, stored(0)))
  const seed = { host: '127.0.0.1', port: nodes[0].port }
  for (let i = 1; i < N; i += BATCH) {
    const batch = []
    for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(impl.create(seed, stored(j)))
    nodes.push(...(await Promise.all(batch)))
  }
  const bootMs = performance.now() - t0
  gc()
  const rss1 = process.memoryUsage().rss

  const announcePort = 6881
  await nodes[1].announce(infoHash, announcePort)
  await new Promise((r) => setTimeout(r, 200)) // let the last announce_peer datagrams land
  const announceNodes = storing.size

  const ms: number[] = []
  const queries: number[] = []
  const bytes: number[] = []
  let found = 0
  const candidates = nodes.map((_, i) => i).filter((i) => i > 1 && !storing.has(i))
  const step = Math.max(1, Math.floor(candidates.length / LOOKUPS))
  for (let k = 0; k < LOOKUPS && k * step < candidates.length; k++) {
    const node = nodes[candidates[k * step]]
    const b0 = impl.bytesSent()
    const t = performance.now()
    const r = await node.lookup(infoHash)
    ms.push(performance.now() - t)
    queries.push(r.queries)
    bytes.push(impl.bytesSent() - b0)
    if (r.peers.some((p) => p.port === announcePort)) found++
  }
  const result = {
    impl: impl.name,
    n: N,
    bootMs,
    lookups: ms.length,
    found,
    lookup_ms: median(ms),
    queries_per_lookup: queries.reduce((a, b) => a + b, 0) / queries.length,
    bytes_per_lookup: bytes.reduce((a, b) => a + b, 0) / bytes.length,
    announce_nodes: announceNodes,
    rss_per_node_kb: (rss1 - rss0) / 1024 / N,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
  await Promise.all(nodes.map((n) => n.destroy().catch(() => {})))
  process.exit(0)
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
