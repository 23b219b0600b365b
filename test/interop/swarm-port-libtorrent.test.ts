// BEP 5's PORT message with libtorrent 2.0 (python3-libtorrent) on 127.0.0.1: a SwarmNode running a DHT and a
// libtorrent session with its DHT on both set the DHT bit; we send our DHT port and libtorrent's DHT queries it.
// libtorrent sends its own PORT only after its bitfield, once the torrent has metadata (bt_peer_connection's
// on_metadata → write_bitfield → write_dht_port): these magnet-only sessions never do, so that direction is
// covered by the sim test (test/sim/swarm-dht-port.test.ts).
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

  it('we send our DHT port; libtorrent’s DHT queries ours, and ours tables it once it answered', async () => {
    const ih = toHex(crypto.getRandomValues(new Uint8Array(20)))
    const ltPort = await lt.start('p', ih, { enable_dht: true })
    node = new SwarmNode({ host: '127.0.0.1', dht: {}, swarm: { autoDial: false } })
    const me = await node.listen()
    node.add(Buffer.from(ih, 'hex'))
    const conn = await node.connect(Buffer.from(ih, 'hex'), { host: '127.0.0.1', port: ltPort })
    assert.equal(reservedFlags(conn.remoteHandshake!.reserved).dht, true)
    assert.equal(node.dhtPort!.stats.sent, 1, 'we sent ours')
    // libtorrent's DHT pings the port we sent (add_dht_node), so queries reach ours.
    await until(() => Object.values(node.dht!.stats().queriesIn).some((n) => n > 0), 15_000, 'a query from libtorrent')
    // Its query makes it a candidate here: our ping's reply tables it (libtorrent runs its DHT on its listen port).
    const tabled = () => node.dht!.nodes().some((n) => n.host === '127.0.0.1' && n.port === ltPort)
    await until(tabled, 15_000, "libtorrent's DHT node in our table")
    assert.ok(me.port > 0)
  })
})
