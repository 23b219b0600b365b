// The libtorrent driver against itself: a 3-node libtorrent testnet where one node announces and another finds it.
// If this fails, the DHT interop tests cannot be trusted either way.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { LibtorrentDHT, libtorrentSkip, poll } from './libtorrent.js'

const IH = 'a1b2c3d4e5f60718293a4b5c6d7e8f9001122334'

describe('libtorrent DHT driver', { skip: libtorrentSkip(), timeout: 40_000 }, () => {
  const lt = LibtorrentDHT.spawn()
  after(() => lt.close())

  it('runs a testnet whose nodes find each other and an announced peer', async () => {
    const net = await lt.testnet(3)
    assert.equal(new Set(net.map((n) => n.id)).size, 3)
    await lt.announce('lt1', IH)
    const peers = await lt.findPeer('lt2', IH, (p) => p.port === net[1].port, 20_000)
    assert.ok(peers, 'lt2 found lt1 through get_peers')
    assert.deepEqual(await lt.getPeers('lt2', 'ff'.repeat(20), 500), [], 'nobody announced this one')
    const table = await poll(
      async () => {
        const nodes = await lt.nodes('lt0')
        return nodes.length > 0 ? nodes : null
      },
      15_000,
      500,
    )
    assert.ok(table?.every((n) => n.host === '127.0.0.1' && /^[0-9a-f]{40}$/.test(n.id)))
  })

  it('reports a bad command and keeps running', async () => {
    lt.send({ cmd: 'nonsense' })
    const e = await lt.next('error')
    assert.match(String(e.message), /unknown command/)
    // Still answering, with the table the first test saw fill (a dead driver would time out here instead).
    const nodes = await lt.nodes('lt0')
    assert.ok(nodes.length > 0, 'lt0 still reports its routing table')
    assert.ok(nodes.every((n) => n.host === '127.0.0.1' && /^[0-9a-f]{40}$/.test(n.id)))
  })
})
