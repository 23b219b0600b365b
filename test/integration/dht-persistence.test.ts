// Persistence over real UDP: a node saves its id and good nodes; restarted from the file it keeps its id, tables
// the saved nodes at once (they answer its pings) and can look things up with no bootstrap node.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DHT } from '../../src/dht/index.js'
import { loadState } from '../../src/dht/state-file.js'

describe('DHT state file', { timeout: 30_000 }, () => {
  it('restores id and nodes; the restarted node is useful at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dht-persist-'))
    const path = join(dir, 'state.json')
    const peers: DHT[] = []
    try {
      const boot = new DHT({ host: '127.0.0.1' })
      peers.push(boot)
      const b = await boot.listen()
      for (let i = 0; i < 5; i++) {
        const n = new DHT({ host: '127.0.0.1', bootstrap: [b] })
        peers.push(n)
        await n.listen()
        await n.bootstrapped()
      }
      const first = new DHT({ host: '127.0.0.1', bootstrap: [b], state: path })
      await first.listen()
      await first.bootstrapped()
      await first.findNode(new Uint8Array(20).fill(0x77))
      const id = first.id
      const known = first.stats().nodes.v4
      assert.ok(known >= 4, `tabled ${known}`)
      await first.destroy() // saves
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
        [],
      )

      // No bootstrap at all: only the state file.
      const second = new DHT({ host: '127.0.0.1', state: path })
      await second.listen()
      await second.bootstrapped()
      try {
        assert.deepEqual(second.id, id)
        assert.ok(second.stats().nodes.v4 >= 4, `restored ${second.stats().nodes.v4}`)
        const ih = new Uint8Array(20).fill(0x42)
        const ann = await peers[3].announce(ih, { port: 7777 })
        assert.ok(ann.nodes >= 1)
        const res = await second.lookup(ih)
        assert.ok(res.peers.some((p) => p.port === 7777))
        // save() on demand writes the file again, atomically.
        await second.save()
        await second.save(join(dir, 'copy.json'))
        assert.deepEqual((await readdir(dir)).sort(), ['copy.json', 'state.json'])
      } finally {
        await second.destroy()
      }
    } finally {
      await Promise.all(peers.map((p) => p.destroy()))
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a corrupt state file is reported and ignored, never fatal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dht-persist-'))
    const path = join(dir, 'state.json')
    try {
      const { writeFile } = await import('node:fs/promises')
      await writeFile(path, '{"format":"mainline-dht-state","version":1,"id":"ab')
      const dht = new DHT({ host: '127.0.0.1', state: path })
      const warnings: Error[] = []
      dht.on('warning', (e) => warnings.push(e))
      await dht.listen()
      assert.equal(warnings.length, 1)
      assert.equal((warnings[0] as { code?: string }).code, 'STATE_FILE')
      await dht.destroy()
      // destroy() replaced it with a good file.
      const again = new DHT({ host: '127.0.0.1', state: path })
      await again.listen()
      assert.deepEqual(again.id, dht.id)
      await again.destroy()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('kill -9 at any moment while saving never leaves a corrupt file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dht-kill-'))
    const path = join(dir, 'state.json')
    try {
      for (let round = 0; round < 4; round++) {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/dht-save-loop.ts', path], {
          stdio: ['ignore', 'pipe', 'inherit'],
        })
        try {
          await new Promise<void>((resolve, reject) => {
            child.stdout.once('data', () => resolve())
            child.once('exit', (code) => reject(new Error(`child exited early (${code})`)))
          })
          await new Promise((r) => setTimeout(r, 30 + round * 40))
        } finally {
          child.kill('SIGKILL')
          await new Promise((r) => child.once('exit', r))
        }
        const st = await loadState(path)
        assert.ok(st && st.id.length === 20 && st.nodes.length >= 200)
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
