// SwarmNode basics on net/sim: one port serves several torrents (incoming streams routed by the info hash of their
// handshake); a stream for a torrent we do not serve is refused.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import { SwarmNode } from '../../src/swarm/node.js'

describe('SwarmNode on net/sim', { timeout: 30_000 }, () => {
  it('routes incoming connections to the torrent their handshake names; refuses unknown torrents', async () => {
    const random = new SeededRandom(7)
    const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs: 10 } })
    const clock = net.clock
    const make = (ip: string) =>
      new SwarmNode({
        socket: net.bind(ip, 6881),
        clock,
        random: random.fork(),
        dht: false,
        utp: { defer: (fn) => clock.setTimeout(fn, 0) },
      })
    const server = make('198.51.100.10')
    const client = make('198.51.100.20')
    const stop = clock.autoAdvance()
    try {
      await server.listen()
      await client.listen()
      const [one, two, other] = [1, 2, 3].map((i) => new Uint8Array(20).fill(i))
      server.add(one)
      server.add(two)
      for (const ih of [one, two, other]) client.add(ih)
      const at = { host: '198.51.100.10', port: 6881 }
      const c1 = await client.connect(one, at)
      const c2 = await client.connect(two, at)
      assert.equal(c1.transport, 'utp')
      assert.equal(server.get(one)!.connections.length, 1)
      assert.equal(server.get(two)!.connections.length, 1)
      assert.deepEqual(server.get(two)!.connections[0].infoHash, two)
      assert.notEqual(c1, c2)
      await assert.rejects(client.connect(other, at))
      assert.equal(server.stats.incomingUnknownTorrent, 1)
    } finally {
      stop()
      await client.close()
      await server.close()
    }
  })
})
