// BEP 44 benchmark (issue 10): our put/get against webtorrent's bittorrent-dht, counted the same way at the socket.
// N = 1,000 nodes of one implementation on 127.0.0.1 (real UDP): node 0 alone, the others joining off node 0 twenty
// at a time, then a settle; then rounds of an immutable put from one node and a get of it from another, and a
// mutable put (salt, seq) and a get of it from another. Datagrams and bytes (sent + received) at the putting or
// getting node's socket, time, and the found rate. bittorrent-dht runs at its defaults (k 20, concurrency 16) and at
// our settings (k 8, concurrency 4). Each run is its own child process (bench/dht-storage/child.ts).
import { fileURLToPath } from 'node:url'
import { reportAgainstAnchor, runChild as runChildProcess } from './dht/runs.js'
import { note } from './record.js'
import type { Row } from './report.js'

const CHILD = fileURLToPath(new URL('./dht-storage/child.ts', import.meta.url))
const N = Number(process.env.DHT_STORAGE_BENCH_N ?? 1000)
const SETTLE_MS = Number(process.env.DHT_STORAGE_BENCH_SETTLE_MS ?? 30_000)
const OPS = Number(process.env.DHT_STORAGE_BENCH_OPS ?? 20)

interface OpSide {
  ops: number
  ok: number
  datagrams_per_op: number
  bytes_per_op: number
  ms_median: number
  ms_mean: number
  stored_mean?: number
}

interface ChildResult {
  impl: string
  n: number
  bootMs: number
  immutable_put: OpSide
  immutable_get: OpSide
  mutable_put: OpSide
  mutable_get: OpSide
}

const KINDS = ['immutable_put', 'immutable_get', 'mutable_put', 'mutable_get'] as const

function runChild(which: 'ours' | 'anchor', k?: number, concurrency?: number): ChildResult {
  return runChildProcess<ChildResult>(
    ['--import', 'tsx'],
    CHILD,
    { which, n: N, k, concurrency },
    [String(SETTLE_MS), String(OPS)],
    900_000,
  )
}

function rows(o: ChildResult, a: ChildResult): Row[] {
  const out: Row[] = []
  for (const kind of KINDS) {
    const x = o[kind]
    const y = a[kind]
    const key = `dht_storage.${N}.${kind}`
    out.push(
      { key: `${key}.datagrams`, ours: x.datagrams_per_op, anchor: y.datagrams_per_op, unit: 'sent per operation' },
      { key: `${key}.bytes`, ours: x.bytes_per_op, anchor: y.bytes_per_op, unit: 'sent+received per operation' },
      { key: `${key}.ms`, ours: x.ms_median, anchor: y.ms_median, unit: 'ms per operation (median)' },
      {
        key: `${key}.${kind.endsWith('get') ? 'found' : 'stored_somewhere'}`,
        ours: x.ok / x.ops,
        anchor: y.ok / y.ops,
        unit: kind.endsWith('get') ? 'found rate' : 'puts stored by ≥ 1 node',
      },
    )
    if (x.stored_mean !== undefined && y.stored_mean !== undefined)
      out.push({ key: `${key}.stored_on`, ours: x.stored_mean, anchor: y.stored_mean, unit: 'nodes storing (mean)' })
  }
  return out
}

function describe(who: string, r: ChildResult): string {
  const f = (s: OpSide) => `${s.ok}/${s.ops}, ${s.datagrams_per_op.toFixed(1)} dgrams, ${Math.round(s.ms_median)} ms`
  return (
    `${who} N=${r.n}: bootstrap ${Math.round(r.bootMs)} ms; immutable put ${f(r.immutable_put)}; get ` +
    `${f(r.immutable_get)}; mutable put ${f(r.mutable_put)}; get ${f(r.mutable_get)}`
  )
}

export async function run(): Promise<void> {
  const runs = { ours: runChild('ours'), anchorDefaults: runChild('anchor'), anchorEqual: runChild('anchor', 8, 4) }
  reportAgainstAnchor(`BEP 44 put/get, N=${N} on 127.0.0.1`, runs, describe, rows)
  note(
    `set-up: ${N} nodes of one implementation per run, node 0 alone, the others joining off node 0 twenty at a time, ${SETTLE_MS / 1000} s settle; ${OPS} rounds of immutable put + get (from another node) and mutable put (fresh key, salt, seq) + get; 100-byte string values; datagrams and bytes at the putting/getting node's socket (net/counting.ts for ours, a dgram wrapper feeding the same counter for bittorrent-dht); bittorrent-dht gets with cache: false (its own copy would cost nothing); ours puts with republish: false`,
  )
}
