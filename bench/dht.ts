// DHT benchmark: our node against webtorrent's bittorrent-dht under the same conditions. For N = 200 and 1,000:
// all nodes in one process on 127.0.0.1 (real UDP), every node bootstraps off node 0, node 1 announces an infohash,
// then 20 lookups of it from nodes that do not store it. Each implementation runs in its own child process
// (bench/dht/child.ts) so its RSS is not mixed with the other's.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Row, report } from './report.js'

const CHILD = fileURLToPath(new URL('./dht/child.ts', import.meta.url))
const SIM = fileURLToPath(new URL('./dht/sim.ts', import.meta.url))
const SIM_N = 10_000
const SIZES = [200, 1000]
const LOOKUPS = 20

interface ChildResult {
  impl: string
  n: number
  bootMs: number
  lookups: number
  found: number
  lookup_ms: number
  queries_per_lookup: number
  bytes_per_lookup: number
  announce_nodes: number
  rss_per_node_kb: number
}

function runChild(which: 'ours' | 'anchor', n: number): ChildResult {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, which, String(n), String(LOOKUPS)], {
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const line = r.stdout
    ?.trim()
    .split('\n')
    .find((l) => l.startsWith('{'))
  if (r.status !== 0 || !line) throw new Error(`bench child ${which} ${n} failed (status ${r.status}, ${r.signal})`)
  return JSON.parse(line) as ChildResult
}

const METRICS: Array<[keyof ChildResult, string]> = [
  ['lookup_ms', 'ms (median)'],
  ['queries_per_lookup', 'queries'],
  ['bytes_per_lookup', 'bytes sent by all nodes'],
  ['announce_nodes', 'nodes storing the announce'],
  ['rss_per_node_kb', 'KiB RSS per node'],
]

export async function run(): Promise<void> {
  const rows: Row[] = []
  for (const n of SIZES) {
    const o = runChild('ours', n)
    const a = runChild('anchor', n)
    for (const [r, who] of [
      [o, 'ours'],
      [a, 'bittorrent-dht'],
    ] as const) {
      console.log(
        `${who} N=${n}: bootstrap of all nodes ${Math.round(r.bootMs)} ms; ${r.found}/${r.lookups} lookups found the peer`,
      )
    }
    for (const [metric, unit] of METRICS)
      rows.push({ key: `dht.${n}.${metric}`, ours: o[metric] as number, anchor: a[metric] as number, unit })
  }
  report('DHT on 127.0.0.1, real UDP, one process per implementation', 'bittorrent-dht', rows)
  scale()
}

/** Ours alone at 10,000 nodes on net/sim (20 ms one-way latency, virtual time): lookup cost against log2(N). */
function scale(): void {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', SIM, String(SIM_N), String(LOOKUPS)],
    { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const line = r.stdout
    ?.trim()
    .split('\n')
    .find((l) => l.startsWith('{'))
  if (r.status !== 0 || !line) {
    console.log(`\nnet/sim scale run failed (status ${r.status}, ${r.signal})`)
    return
  }
  const x = JSON.parse(line) as Record<string, number>
  console.log(
    `\nOurs on net/sim, N=${x.n} (virtual time, 20 ms latency), ${x.found}/${x.lookups} lookups found the peer`,
  )
  console.log(
    `  queries per lookup   ${x.queries_per_lookup.toFixed(1)} (median ${x.queries_median}); log2(N) = ${x.log2N.toFixed(1)}`,
  )
  console.log(`  hops per lookup      ${x.hops_per_lookup.toFixed(2)} (max ${x.hops_max})`)
  console.log(`  lookup time          ${x.lookup_virtual_ms} virtual ms (median)`)
  console.log(
    `  memory per node      ${x.rss_per_node_kb.toFixed(1)} KiB RSS, ${x.heap_per_node_kb.toFixed(1)} KiB heap`,
  )
  console.log(`  nodes storing the announce ${x.stored}; wall time ${(x.wallMs / 1000).toFixed(1)} s`)
  for (const k of ['queries_per_lookup', 'hops_per_lookup', 'rss_per_node_kb', 'heap_per_node_kb'])
    console.log(`SCALE dht.sim${x.n}.${k}=${Number(x[k]).toFixed(2)} log2N=${x.log2N.toFixed(2)}`)
}
