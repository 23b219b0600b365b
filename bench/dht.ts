// DHT benchmark (issue 9): our node against webtorrent's bittorrent-dht, counted the same way at the socket. For
// N = 200 and 1,000 on 127.0.0.1 (real UDP): node 0 alone, the others joining off node 0 twenty at a time, then a
// 65 s settle; then the routing graph (unseen nodes, in-degree), lookups of an announced infohash and of random
// targets (datagrams and bytes at the looking node's socket, time, the true 8 closest queried), announces of random
// targets (true 8 closest storing them) and memory per node. bittorrent-dht runs twice: at its defaults (k = 20,
// concurrency 16) and at our settings (k = 8, concurrency 4). Each run is its own child process (bench/dht/child.ts)
// so that its RSS is its own.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { jsonLineOf, reportAgainstAnchor, runChild as runChildProcess } from './dht/runs.js'
import { note } from './record.js'
import type { Row } from './report.js'

const CHILD = fileURLToPath(new URL('./dht/child.ts', import.meta.url))
const SIM = fileURLToPath(new URL('./dht/sim.ts', import.meta.url))
const SIZES = [200, 1000]
const SETTLE_MS = 65_000
const LOOKUPS = 20

interface LookupSide {
  lookups: number
  found: number
  datagrams_per_lookup: number
  bytes_per_lookup: number
  bytes_sent_per_lookup: number
  ms_median: number
  true8_queried_median: number
  true8_queried_mean: number
}

interface ChildResult {
  impl: string
  n: number
  bootMs: number
  unseen: number
  in_degree: { min: number; median: number; mean: number; max: number }
  announced: LookupSide & { stored_on: number }
  random: LookupSide
  announce_true8_stored_median: number
  announce_true8_stored_mean: number
  rss_per_node_kb: number
  heap_per_node_kb: number
}

/** Both implementations' children run with exactly these flags. */
const CHILD_FLAGS = ['--expose-gc', '--import', 'tsx']

function runChild(which: 'ours' | 'anchor', n: number, k?: number, concurrency?: number): ChildResult {
  return runChildProcess<ChildResult>(
    CHILD_FLAGS,
    CHILD,
    { which, n, k, concurrency },
    [String(SETTLE_MS), String(LOOKUPS)],
    600_000,
  )
}

function rows(n: number, o: ChildResult, a: ChildResult): Row[] {
  const out: Row[] = []
  for (const kind of ['random', 'announced'] as const) {
    const x = o[kind]
    const y = a[kind]
    out.push(
      {
        key: `dht.${n}.${kind}.datagrams`,
        ours: x.datagrams_per_lookup,
        anchor: y.datagrams_per_lookup,
        unit: 'sent per lookup',
      },
      {
        key: `dht.${n}.${kind}.bytes`,
        ours: x.bytes_per_lookup,
        anchor: y.bytes_per_lookup,
        unit: 'sent+received per lookup',
      },
      {
        key: `dht.${n}.${kind}.bytes_sent`,
        ours: x.bytes_sent_per_lookup,
        anchor: y.bytes_sent_per_lookup,
        unit: 'sent per lookup',
      },
      { key: `dht.${n}.${kind}.ms`, ours: x.ms_median, anchor: y.ms_median, unit: 'ms per lookup (median)' },
      {
        key: `dht.${n}.${kind}.true8`,
        ours: x.true8_queried_mean,
        anchor: y.true8_queried_mean,
        unit: 'of the true 8 closest queried (mean)',
      },
    )
  }
  out.push(
    {
      key: `dht.${n}.announce.true8`,
      ours: o.announce_true8_stored_mean,
      anchor: a.announce_true8_stored_mean,
      unit: 'of the true 8 closest storing (mean)',
    },
    { key: `dht.${n}.unseen`, ours: o.unseen, anchor: a.unseen, unit: 'nodes in no other table' },
    {
      key: `dht.${n}.in_degree`,
      ours: o.in_degree.median,
      anchor: a.in_degree.median,
      unit: 'tables holding a node (median)',
    },
    { key: `dht.${n}.rss_per_node`, ours: o.rss_per_node_kb, anchor: a.rss_per_node_kb, unit: 'KiB RSS per node' },
    {
      key: `dht.${n}.heap_per_node`,
      ours: o.heap_per_node_kb,
      anchor: a.heap_per_node_kb,
      unit: 'KiB heap+external per node after GC',
    },
  )
  return out
}

function describe(who: string, r: ChildResult): string {
  return (
    `${who} N=${r.n}: bootstrap ${Math.round(r.bootMs)} ms; unseen ${r.unseen}; in-degree min ${r.in_degree.min} ` +
    `median ${r.in_degree.median} max ${r.in_degree.max}; announced infohash found by ${r.announced.found}/` +
    `${r.announced.lookups} lookups, stored on ${r.announced.stored_on} nodes; true-8 queried median ` +
    `${r.random.true8_queried_median} (random) ${r.announced.true8_queried_median} (announced); announces on the ` +
    `true 8: median ${r.announce_true8_stored_median}`
  )
}

export async function run(): Promise<void> {
  for (const n of SIZES) {
    const runs = {
      ours: runChild('ours', n),
      anchorDefaults: runChild('anchor', n),
      anchorEqual: runChild('anchor', n, 8, 4),
    }
    reportAgainstAnchor(`DHT N=${n} on 127.0.0.1`, runs, describe, (o, a) => rows(n, o, a))
  }
  note(
    `set-up: node 0 alone, the others joining off node 0 twenty at a time, ${SETTLE_MS / 1000} s settle; ${LOOKUPS} lookups per kind; datagrams and bytes counted at the looking node's socket (net/counting.ts for ours, a dgram wrapper feeding the same counter for bittorrent-dht)`,
  )
  // The 10,000-node run on net/sim takes minutes of CPU: only with DHT_BENCH_SIM=1 (or run bench/dht/sim.ts alone).
  if (process.env.DHT_BENCH_SIM === '1') scale()
}

/** Ours alone at 10,000 nodes on net/sim (20 ms latency, virtual time): graph health and convergence at scale. */
function scale(): void {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', SIM, '10000'], {
    encoding: 'utf8',
    timeout: 1_800_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const line = jsonLineOf(r)
  if (!line) {
    console.log(`\nnet/sim scale run failed (status ${r.status}, ${r.signal})`)
    return
  }
  const text = `ours on net/sim: ${line}`
  console.log(`\n${text}`)
  note(text)
}
