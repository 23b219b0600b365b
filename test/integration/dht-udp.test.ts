import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { DHT } from '../../src/dht/index.js'

const hash = (b: number) => new Uint8Array(20).fill(b)

describe('DHT over real UDP on 127.0.0.1', { timeout: 30_000 }, () => {
  const nodes: DHT[] = []
  after(async () => {
    await Promise.all(nodes.map((n) => n.destroy()))
  })

  it('bootstraps a few nodes, pings, announces and finds the announcer', async () => {
    const boot = new DHT({ host: '127.0.0.1', bootstrap: [] })
    nodes.push(boot)
    const b = await boot.listen()
    await boot.bootstrapped()
    for (let i = 0; i < 7; i++) {
      const n = new DHT({ host: '127.0.0.1', bootstrap: [`127.0.0.1:${b.port}`] })
      nodes.push(n)
      await n.listen()
    }
    await Promise.all(nodes.map((n) => n.bootstrapped()))
    for (const n of nodes.slice(1)) assert.ok(n.stats().nodes.v4 >= 1, 'every node tabled someone')
    const pong = await nodes[3].ping(b)
    assert.deepEqual(pong.id, boot.id)
    const announced: unknown[] = []
    for (const n of nodes) n.on('announce', (peer) => announced.push(peer))
    const ann = await nodes[2].announce(hash(7), { port: 4242 })
    assert.ok(ann.nodes >= 1, `announced to ${ann.nodes}`)
    assert.ok(announced.length >= 1)
    const found = await nodes[5].lookup(hash(7))
    assert.ok(
      found.peers.some((p) => p.host === '127.0.0.1' && p.port === 4242),
      JSON.stringify(found.peers),
    )
    const viaIter: unknown[] = []
    for await (const p of nodes[6].getPeers(hash(7))) viaIter.push(p)
    assert.ok(viaIter.length >= 1)
    const fn = await nodes[4].findNode(nodes[1].id)
    assert.deepEqual(fn[0].id, nodes[1].id)
    const implied = await nodes[1].announce(hash(8), { impliedPort: true })
    assert.ok(implied.nodes >= 1)
    const f2 = await nodes[0].lookup(hash(8))
    assert.ok(f2.peers.some((p) => p.port === nodes[1].address().port))
  })

  it('runs on IPv6 (::1): nodes6, announce and lookup (BEP 32)', async () => {
    const v6: DHT[] = []
    try {
      const boot = new DHT({ host: '::1', family: 6 })
      v6.push(boot)
      const b = await boot.listen()
      for (let i = 0; i < 4; i++) {
        const n = new DHT({ host: '::1', family: 6, bootstrap: [`[::1]:${b.port}`] })
        v6.push(n)
        await n.listen()
        await n.bootstrapped()
      }
      assert.ok(v6[2].stats().nodes.v6 >= 1)
      assert.equal(v6[2].stats().nodes.v4, 0)
      const ann = await v6[1].announce(hash(9), { port: 5151 })
      assert.ok(ann.nodes >= 1)
      const res = await v6[4].lookup(hash(9))
      assert.ok(
        res.peers.some((p) => p.host === '::1' && p.port === 5151),
        JSON.stringify(res.peers),
      )
      await assert.rejects(v6[0].ping({ host: '127.0.0.1', port: 1 }), { code: 'BAD_ADDRESS' })
    } finally {
      await Promise.all(v6.map((n) => n.destroy()))
    }
  })
})
