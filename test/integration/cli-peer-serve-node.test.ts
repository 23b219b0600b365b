// `mainline peer serve` as a full node: uTP and the DHT on its UDP port, TCP on the same number; --bootstrap joins
// the DHT and announces the torrent there.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { toHex } from '../../src/codec/bytes.js'
import { DHT } from '../../src/dht/index.js'
import { SwarmNode } from '../../src/swarm/node.js'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const INFO_HASH = new Uint8Array(20).fill(0x3c)

describe('mainline peer serve (node)', { timeout: 60_000 }, () => {
  it('--bootstrap: joins the DHT, announces its port; peers find it there and connect over uTP', async () => {
    const boot = new DHT({ host: '127.0.0.1', port: 0, bootstrap: [] })
    const bootAt = await boot.listen()
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'peer', 'serve', '--host', '127.0.0.1', '--infohash', toHex(INFO_HASH)].concat([
        '--bootstrap',
        `127.0.0.1:${bootAt.port}`,
        '--json',
        '--timeout',
        '30',
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const events: Record<string, unknown>[] = []
    const waiters: (() => void)[] = []
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.startsWith('{')) events.push(JSON.parse(l))
      for (const w of waiters.splice(0)) w()
    })
    child.stderr.resume()
    const waitFor = async (name: string) => {
      for (let i = 0; i < 200; i++) {
        const e = events.find((x) => x.event === name)
        if (e) return e
        await new Promise<void>((r) => {
          waiters.push(r)
          setTimeout(r, 100)
        })
      }
      throw new Error(`no ${name} event; got ${JSON.stringify(events)}`)
    }
    const node = new SwarmNode({ host: '127.0.0.1', dht: { bootstrap: [bootAt] }, swarm: { autoDial: false } })
    try {
      const listening = await waitFor('listening')
      await waitFor('announced')
      await node.listen()
      node.add(INFO_HASH)
      const connected = new Promise<import('../../src/wire/peer-connection.js').PeerConnection>((resolve) =>
        node.once('connected', (c) => resolve(c)),
      )
      // discover() dials what it finds.
      const found = await node.discover(INFO_HASH)
      assert.ok(
        found.some((p) => p.port === listening.port),
        `the DHT lists the server's port ${listening.port}: ${JSON.stringify(found)}`,
      )
      const conn = await connected
      assert.equal(conn.remote.port, listening.port)
      assert.equal(conn.transport, 'utp', 'dialed over uTP, on the UDP port the DHT uses')
      const c = await waitFor('connected')
      assert.equal(c.transport, 'utp')
    } finally {
      child.kill('SIGTERM')
      await node.close()
      await boot.destroy()
    }
  })
})
