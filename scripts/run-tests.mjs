// Runs the test suite with Node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [tier|path ...]   tiers: unit sim integration interop nat
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const TIERS = ['unit', 'sim', 'integration', 'interop', 'nat']

function collect(dir) {
  let out = []
  let entries = []
  try {
    entries = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of entries.sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out = out.concat(collect(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

const args = process.argv.slice(2)
// With no arguments: every tier, in two passes. The tiers on real sockets, processes and network namespaces
// (integration, interop, nat) run after the CPU-bound ones (unit, sim): a NAT-lab transfer or a libtorrent
// handshake timed while a 10,000-node simulation holds a core measures the machine, not the code.
const passes =
  args.length === 0
    ? [
        ['unit', 'sim'],
        ['integration', 'interop', 'nat'],
      ]
    : [args]
let status = 0
for (const pass of passes) {
  const roots = pass.map((a) => (TIERS.includes(a) ? join('test', a) : a))
  const files = roots.flatMap((r) => (r.endsWith('.ts') ? [r] : collect(r)))
  if (files.length === 0) {
    console.error('no test files found')
    process.exit(1)
  }
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
    stdio: 'inherit',
  })
  if ((res.status ?? 1) !== 0) status = res.status ?? 1
}
process.exit(status)
