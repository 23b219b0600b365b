// `mainline peer handshake … --utp` against libtorrent (uTP only on its side), and `peer serve --utp` against it.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { LtPeer, requireLibtorrent } from './lt-utp-helper.js'

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts')

function run(args: string[]): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const kill = setTimeout(() => child.kill('SIGKILL'), 30_000)
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(kill)
      const lines = out
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>)
      resolve({ code, lines, stderr })
    }),
  )
}

describe('mainline peer handshake --utp against libtorrent', { ...requireLibtorrent(), timeout: 60_000 }, () => {
  const peers: LtPeer[] = []
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
  })

  it('dials libtorrent over uTP and prints its handshake with "transport":"utp"', async () => {
    const lt = new LtPeer(['seed', String(64 * 1024)])
    peers.push(lt)
    const ready = await lt.waitFor('ready')
    const r = await run([
      'peer',
      'handshake',
      `127.0.0.1:${ready.port}`,
      '--infohash',
      String(ready.info_hash),
      '--utp',
      '--timeout',
      '2',
      '--json',
    ])
    assert.equal(r.code, 0, r.stderr)
    const hs = r.lines.find((l) => l.event === 'handshake')
    assert.ok(hs, JSON.stringify(r.lines))
    assert.equal(hs.transport, 'utp')
    assert.match(String(hs.client), /libtorrent/i)
    await lt.waitFor('peer', 5000, (e) => String(e.message).includes('uTP'))
  })
})
