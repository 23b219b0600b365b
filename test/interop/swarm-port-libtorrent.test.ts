// BEP 5's PORT message with libtorrent 2.0 (python3-libtorrent) on 127.0.0.1: a SwarmNode running a DHT and a
// libtorrent session with its DHT on both set the DHT bit; each sends its DHT port, and each DHT pings the other's.
// Ours tables libtorrent's node only once it answered.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { toHex } from '../../src/codec/bytes.js'
import { reservedFlags } from '../../src/codec/peer-wire.js'
import { SwarmNode } from '../../src/swarm/node.js'
import { LtPeers, libtorrentSkip } from './lt-peer-process.js'

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('PORT (BEP 5) with libtorrent 2.0', { skip: libtorrentSkip(), timeout: 60_000 }, () => {
  let lt: LtPeers
  let node: SwarmNode
  before(() => {
    lt = LtPeers.spawn()
  })
  after(async () => {
    await node?.close()
    await lt?.close()
  })

  it('both send their DHT port; our DHT pings libtorrent’s and tables it, libtorrent’s queries ours', async () => {
    const ih = toHex(crypto.getRandomValues(new Uint8Array(20)))
    const ltPort = await lt.start('p', ih, { enable_dht: true })
    node = new SwarmNode({ host: '127.0.0.1', dht: {}, swarm: { autoDial: false } })
    const me = await node.listen()
    node.add(Buffer.from(ih, 'hex'))
    const ports: number[] = []
    node.once('connected', (c) => c.on('port', (m) => ports.push(m.port)))
    const conn = await node.connect(Buffer.from(ih, 'hex'), { host: '127.0.0.1', port: ltPort })
    assert.equal(reservedFlags(conn.remoteHandshake!.reserved).dht, true)
    await until(() => ports.length > 0, 10_000, "libtorrent's PORT")
    assert.deepEqual(ports, [ltPort], 'libtorrent runs its DHT on its listen port')
    const tabled = () => node.dht!.nodes().some((n) => n.host === '127.0.0.1' && n.port === ltPort)
    await until(tabled, 10_000, "libtorrent's DHT node in our table")
    assert.equal(node.dhtPort!.stats.sent, 1, 'we sent ours')
    // libtorrent's DHT pings the port we sent (add_dht_node), so queries reach ours.
    await until(() => Object.values(node.dht!.stats().queriesIn).some((n) => n > 0), 15_000, 'a query from libtorrent')
    assert.ok(me.port > 0)
  })
})
