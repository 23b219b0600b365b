// Lookup diversity (one candidate per /24) exempts our own /24: a network that is all one /24 (like a NAT lab's
// public segment) still looks up over many nodes once the nodes know their external address.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'

const N = 16

describe('lookup diversity on net/sim', { timeout: 60_000 }, () => {
  it('asks many nodes of our own /24 but one of a foreign /24', async () => {
    const net = new SimNetwork({ random: new SeededRandom(3) })
    const clock = net.clock
    const random = new SeededRandom(4)
    const nodes: DHT[] = []
    const ip = (i: number) => `198.51.100.${10 + i}`
    try {
      for (let i = 0; i < N; i++) {
        const bootstrap = i === 0 ? [] : [{ host: ip(0), port: 6881 }]
        // Table diversity off: this test is about lookups (the table would keep one node of the /24 per bucket).
        nodes.push(new DHT({ socket: net.bind(ip(i), 6881), clock, random, bootstrap, restrictIps: false }))
      }
      for (const d of nodes)
        await clock.settle(
          d.listen().then(() => d.bootstrapped()),
          { timeout: 60_000 },
        )
      await clock.runFor(60_000)
      const seeker = nodes[N - 1]
      assert.equal(seeker.stats().externalIp, ip(N - 1), 'it learned its external address')
      const res = await clock.settle(seeker.lookup(random.bytes(20).slice()), { timeout: 60_000 })
      assert.ok(
        res.queries >= 5,
        `${res.queries} queries ${res.closest.length} closest, table ${seeker.stats().nodes.v4}`,
      )

      // The same nodes seen from a foreign /24: one of them per lookup, plus the bootstrap node (asked by address).
      const outsider = new DHT({
        socket: net.bind('203.0.113.5', 6881),
        clock,
        random,
        bootstrap: [{ host: ip(0), port: 6881 }],
        restrictIps: false,
      })
      nodes.push(outsider)
      await clock.settle(
        outsider.listen().then(() => outsider.bootstrapped()),
        { timeout: 60_000 },
      )
      await clock.runFor(60_000)
      const far = await clock.settle(outsider.lookup(random.bytes(20).slice()), { timeout: 60_000 })
      assert.ok(far.responses <= 2, `${far.responses} responses`)
    } finally {
      await Promise.all(nodes.map((n) => n.destroy()))
    }
  })
})
