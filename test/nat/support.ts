// Whether the NAT lab can run here, and the `natSuite` wrapper every test/nat file uses:
// - root (or already inside a user namespace, where we are uid 0): run the tests;
// - not root but `unshare -Urnm` works: re-run the same test file inside it, with a tmpfs on /run for `ip netns`;
// - otherwise skip with a one-line reason, or FAIL when process.env.CI is set (CI must run every tier).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ipPath, TSX_IMPORT } from './lab.js'
import { findBinary, run } from './proc.js'

export type LabSupport = { mode: 'root' } | { mode: 'userns'; unshare: string } | { mode: 'missing'; reason: string }

/** Set in the environment of a test file re-run inside `unshare -Urnm` (so it never re-runs itself again). */
export const INNER_ENV = 'MAINLINE_NAT_USERNS'

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? ''
}

let cached: Promise<LabSupport> | undefined

/** Probes (once per process) by creating a throwaway namespace and listing its nftables ruleset. */
export function labSupport(): Promise<LabSupport> {
  cached ??= probe()
  return cached
}

async function probe(): Promise<LabSupport> {
  if (process.platform !== 'linux') return { mode: 'missing', reason: 'network namespaces need Linux' }
  const ip = findBinary('ip')
  const nft = findBinary('nft')
  if (!ip) return { mode: 'missing', reason: 'ip (iproute2) is not installed' }
  if (!nft) return { mode: 'missing', reason: 'nft (nftables) is not installed' }
  if (!existsSync('/usr/bin/python3')) return { mode: 'missing', reason: '/usr/bin/python3 is not installed' }
  if (process.getuid?.() === 0) {
    // Named like a lab namespace so sweepStale() removes it if we die right here.
    const name = `mlnat${process.pid}x0-probe`
    const add = await run(ipPath(), ['netns', 'add', name])
    if (add.code !== 0)
      return { mode: 'missing', reason: `cannot create a network namespace: ${firstLine(add.stderr)}` }
    const r = await run(ipPath(), ['netns', 'exec', name, nft, 'list', 'ruleset'])
    await run(ipPath(), ['netns', 'del', name])
    if (r.code !== 0) return { mode: 'missing', reason: `nftables unusable in a namespace: ${firstLine(r.stderr)}` }
    return { mode: 'root' }
  }
  if (process.env[INNER_ENV]) return { mode: 'missing', reason: 'not uid 0 inside unshare -Urnm' }
  const unshare = findBinary('unshare')
  if (!unshare) return { mode: 'missing', reason: 'not root and unshare (util-linux) is not installed' }
  const script = 'mount -t tmpfs tmpfs /run && "$1" netns add probe && "$1" netns exec probe "$2" list ruleset'
  const r = await run(unshare, ['-Urnm', 'sh', '-c', script, 'sh', ip, nft])
  if (r.code !== 0) return { mode: 'missing', reason: `not root and unshare -Urnm failed: ${firstLine(r.stderr)}` }
  return { mode: 'userns', unshare }
}

/**
 * Declares the test suite of one test/nat file. `file` is the caller's `import.meta.filename` (re-run inside
 * `unshare -Urnm` when not root). Usage: `await natSuite(import.meta.filename, 'name', () => { it(...) })`.
 */
export async function natSuite(file: string, name: string, body: () => void): Promise<void> {
  const s = await labSupport()
  if (s.mode === 'root') {
    describe(name, body)
    return
  }
  if (s.mode === 'userns') {
    it(`${name} (re-run inside unshare -Urnm)`, { timeout: 180_000 }, async (t) => {
      const env: NodeJS.ProcessEnv = { ...process.env, [INNER_ENV]: '1' }
      delete env.NODE_TEST_CONTEXT // else the inner runner talks the parent's child protocol on stdout
      const inner = [process.execPath, '--import', TSX_IMPORT, '--test', '--test-reporter=spec', file]
      const r = await run(s.unshare, ['-Urnm', 'sh', '-c', 'mount -t tmpfs tmpfs /run && exec "$@"', 'sh', ...inner], {
        env,
        timeoutMs: 170_000,
      })
      assert.equal(r.code, 0, `inner run failed:\n${r.stdout}\n${r.stderr}`)
      // The spec reporter's summary ("ℹ tests 8", "ℹ pass 8"…), so a pass still shows what ran inside.
      for (const line of r.stdout.split('\n'))
        if (/^\S+ (tests|pass|fail|skipped) \d+$/.test(line.trim()))
          t.diagnostic(line.trim().replace(/^\S+ /, 'inner '))
    })
    return
  }
  if (process.env.CI) it(name, () => assert.fail(`the NAT lab must run in CI: ${s.reason}`))
  else it(name, { skip: s.reason }, () => {})
}
