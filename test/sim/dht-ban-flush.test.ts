// Issue 14: a rate-limit ban could be lifted by 10,000 fresh sources (the limiter forgot its oldest entry when
// full). A DHT node on net/sim bans a source that floods it; then 10,000 new addresses ping it once each; the
// banned source must still get no answer until its ban ends.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildPingQuery, parseKrpc } from '../../src/codec/index.js'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork, simIPv4 } from '../../src/net/sim/index.js'
import type { DatagramSocket } from '../../src/net/types.js'

describe('rate-limit bans on net/sim', { timeout: 120_000 }, () => {
  it('10,000 fresh sources do not lift a ban', async () => {
    const net = new SimNetwork({ random: new SeededRandom(41) })
    const clock = net.clock
    const target = { host: simIPv4(1), port: 6881 }
    const dht = new DHT({ socket: net.bind(target.host, 6881), clock, random: new SeededRandom(42) })
    const sockets: DatagramSocket[] = []
    try {
      await clock.settle(dht.listen())
      const id = new Uint8Array(20).fill(7)
      const ping = (t: number) => buildPingQuery(new Uint8Array([t >> 8, t & 0xff]), id)
      const attacker = net.bind(simIPv4(1000), 6881)
      sockets.push(attacker)
      let answers = 0
      attacker.setReceiver((data) => {
        if (parseKrpc(data).y === 'r') answers++
      })
      // 400 pings at once: twice the default burst of 200.
      for (let i = 0; i < 400; i++) attacker.send(ping(i), target)
      await clock.runFor(1000)
      assert.equal(dht.stats().bans, 1)
      assert.ok(answers <= 200, `${answers} answers`)
      const before = answers
      // 10,000 fresh sources, one ping each, over 20 virtual seconds.
      for (let i = 0; i < 10_000; i++) {
        const s = net.bind(simIPv4(2000 + i), 6881)
        sockets.push(s)
        clock.setTimeout(() => s.send(ping(1), target), i * 2)
      }
      await clock.runFor(25_000)
      assert.ok(dht.stats().rateLimiterEntries >= 1)
      attacker.send(ping(999), target)
      await clock.runFor(1000)
      assert.equal(answers, before, 'the banned source is still ignored')
      // The ban (5 minutes) ends on time.
      await clock.runFor(5 * 60_000)
      attacker.send(ping(1000), target)
      await clock.runFor(1000)
      assert.equal(answers, before + 1)
    } finally {
      for (const s of sockets) s.close()
      await dht.destroy()
    }
  })
})
