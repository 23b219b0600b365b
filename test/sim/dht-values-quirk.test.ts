// Some old clients answer get_peers with every peer in ONE `values` string. libtorrent reads a one-entry list on
// an IPv4 node as concatenated 6-byte peers; a lookup of ours must find all of them too.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildGetPeersReply, buildPingReply, encodePeers, parseKrpc } from '../../src/codec/index.js'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'
import type { Endpoint } from '../../src/net/types.js'

describe('get_peers values from old clients on net/sim', { timeout: 30_000 }, () => {
  it('a one-entry values list of concatenated IPv4 peers yields every peer', async () => {
    const net = new SimNetwork({ random: new SeededRandom(5) })
    const clock = net.clock
    const random = new SeededRandom(6)
    const infoHash = random.bytes(20).slice()
    const peers = [
      { host: '203.0.113.1', port: 6881 },
      { host: '203.0.113.2', port: 51413 },
      { host: '203.0.113.3', port: 7000 },
    ]
    const responderId = infoHash.slice()
    responderId[19] ^= 1
    const old = net.bind('198.51.100.7', 6881)
    old.setReceiver((data: Uint8Array, from: Endpoint) => {
      const m = parseKrpc(data)
      if (m.y !== 'q') return
      if (m.q === 'get_peers') {
        const token = new Uint8Array([1, 2, 3, 4])
        old.send(buildGetPeersReply(m.t, responderId, [encodePeers(peers, 4)], new Uint8Array(0), token), from)
      } else old.send(buildPingReply(m.t, responderId), from)
    })
    const dht = new DHT({ socket: net.bind('198.51.100.8', 6881), clock, random, bootstrap: [old.address()] })
    try {
      await clock.settle(dht.listen(), { timeout: 10_000 })
      const found = await clock.settle(dht.lookup(infoHash), { timeout: 20_000 })
      const got = found.peers.map((p) => `${p.host}:${p.port}`).sort()
      assert.deepEqual(got, peers.map((p) => `${p.host}:${p.port}`).sort())
    } finally {
      await dht.destroy()
      await old.close()
    }
  })
})
