// What the DHT benches (bench/dht.ts, bench/dht-storage.ts) share: one run of one implementation in a child process
// that prints one JSON line, and the comparison of ours with bittorrent-dht at its defaults and at our settings.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process'
import { note } from '../record.js'
import { type Row, report } from '../report.js'

/** The JSON line a bench child printed, if it exited cleanly and printed one. */
export function jsonLineOf(r: SpawnSyncReturns<string>): string | undefined {
  const line = r.stdout
    ?.trim()
    .split('\n')
    .find((l) => l.startsWith('{'))
  return r.status === 0 ? line : undefined
}

/**
 * Runs `child` (with Node `flags`) for `which` implementation at `n` nodes, `k` and `concurrency` ('-': its
 * default), then `rest`; returns what it printed. Throws when it fails.
 */
export function runChild<T>(
  flags: readonly string[],
  child: string,
  spec: { which: 'ours' | 'anchor'; n: number; k?: number; concurrency?: number },
  rest: readonly string[],
  timeoutMs: number,
): T {
  const args = [
    spec.which,
    String(spec.n),
    spec.k === undefined ? '-' : String(spec.k),
    spec.concurrency === undefined ? '-' : String(spec.concurrency),
  ]
  const r = spawnSync(process.execPath, [...flags, child, ...args, ...rest], {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const line = jsonLineOf(r)
  if (!line) throw new Error(`bench child ${args.join(' ')} failed (status ${r.status}, ${r.signal})`)
  return JSON.parse(line) as T
}

/**
 * Prints and notes each run (`describe`), then reports ours against bittorrent-dht at its defaults (k 20,
 * concurrency 16) and at our settings (k 8, concurrency 4); `title` heads both tables.
 */
export function reportAgainstAnchor<R>(
  title: string,
  runs: { ours: R; anchorDefaults: R; anchorEqual: R },
  describe: (who: string, r: R) => string,
  rows: (ours: R, anchor: R) => Row[],
): void {
  for (const [who, r] of [
    ['ours (k 8, alpha 4)', runs.ours],
    ['bittorrent-dht defaults (k 20, concurrency 16)', runs.anchorDefaults],
    ['bittorrent-dht k 8, concurrency 4', runs.anchorEqual],
  ] as const) {
    console.log(describe(who, r))
    note(describe(who, r))
  }
  report(
    `${title}, vs bittorrent-dht at its defaults (k 20, concurrency 16)`,
    'bittorrent-dht',
    rows(runs.ours, runs.anchorDefaults),
  )
  report(
    `${title}, vs bittorrent-dht at equal settings (k 8, concurrency 4)`,
    'bittorrent-dht k8c4',
    rows(runs.ours, runs.anchorEqual),
  )
}
