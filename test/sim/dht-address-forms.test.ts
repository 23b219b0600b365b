// An address given in a non-canonical form (upper case, uncompressed IPv6, IPv4-mapped) names the same node as
// the canonical form replies come from: a ping to it must match the reply.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'

describe('DHT on net/sim: address forms', { timeout: 30_000 }, () => {
  it('ping and addNode reach an IPv6 node written uncompressed and in upper case', async () => {
    const net = new SimNetwork({ random: new SeededRandom(1) })
    const clock = net.clock
    const b = new DHT({ socket: net.bind('2001:db8::2', 6881), clock, random: new SeededRandom(2) })
    const a = new DHT({ socket: net.bind('2001:db8::1', 6881), clock, random: new SeededRandom(3) })
    try {
      await clock.settle(b.listen())
      await clock.settle(a.listen())
      const r = await clock.settle(a.ping({ host: '2001:DB8:0:0:0:0:0:2', port: 6881 }), { timeout: 20_000 })
      assert.deepEqual(r.id, b.id)
      a.addNode({ host: '2001:0DB8::0002', port: 6881 })
      await clock.runFor(5000)
      assert.deepEqual(
        a.nodes().map((n) => n.host),
        ['2001:db8::2'],
      )
    } finally {
      await a.destroy()
      await b.destroy()
    }
  })
})
