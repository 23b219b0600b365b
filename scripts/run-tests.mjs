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
const roots =
  args.length === 0 ? TIERS.map((t) => join('test', t)) : args.map((a) => (TIERS.includes(a) ? join('test', a) : a))
const files = roots.flatMap((r) => (r.endsWith('.ts') ? [r] : collect(r)))
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
})
process.exit(res.status ?? 1)
