// The lookup parts wired by hand, as the BEP 44 client wires them: a node of our RPC layer, routing tables and lookup
// service walks toward a target with a query function for a method of its own (`queryFnFor`), against nodes that
// answer that method through `DHT.handle`. The nodes each reply names are tabled (unconfirmed) and walked; the
// whole `r` of every reply reaches the caller through the lookup's events.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compareDistance } from '../../src/codec/node-id.js'
import { newCounters } from '../../src/dht/counters.js'
import { DHT } from '../../src/dht/index.js'
import { LookupService, type SeedList } from '../../src/dht/lookup-service.js'
import { PeerLookups } from '../../src/dht/lookups.js'
import { RateLimiter } from '../../src/dht/rate-limit.js'
import { Routing } from '../../src/dht/routing.js'
import { RpcLayer } from '../../src/dht/rpc-layer.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'

describe('lookup parts on net/sim', { timeout: 60_000 }, () => {
  it('queryFnFor: a lookup with a method of our own reaches the closest nodes and hands their r through', async () => {
    const net = new SimNetwork({ random: new SeededRandom(21) })
    const clock = net.clock
    const nodes: DHT[] = []
    const seed = { host: '198.51.100.100', port: 6881 }
    for (let i = 0; i < 30; i++) {
      const host = i === 0 ? seed.host : `198.51.${101 + i}.1`
      const d = new DHT({ socket: net.bind(host, 6881), clock, random: new SeededRandom(100 + i), bootstrap: [seed] })
      d.handle('near', (q, ctx) => ({ ...ctx.closestCompact(q.args.target as Uint8Array, undefined, q.from), mark: i }))
      nodes.push(d)
    }
    const counters = newCounters()
    const random = new SeededRandom(5)
    let rpc: RpcLayer | undefined
    const routing = new Routing({
      k: 8,
      restrictIps: true,
      clock,
      random,
      family: () => 4,
      runs: (f) => f === 4,
      ping: (n) => rpc?.pingQuietly(n),
      onNode: () => {},
      onIdChanged: () => {},
      onExternalReport: () => {},
      drop: () => {},
    })
    rpc = new RpcLayer({
      clock,
      random,
      counters,
      limiter: new RateLimiter({ now: () => clock.now() }),
      server: { serve: () => undefined, errorPacket: () => new Uint8Array(0), parseOptions: {} },
      readOnly: true,
      queryOptions: { ro: true },
      ownId: () => routing.id,
      defaultFamily: 4,
      onQueried: () => {},
      onOutcome: (to, o, id, msg) => routing.onOutcome(to, o, id, msg),
      warn: (e) => assert.fail(e),
    })
    rpc.attach(net.bind('203.0.113.50', 6881))
    rpc.start()
    const seeds: SeedList = { saved: [], bootstrap: [seed], ready: Promise.resolve() }
    const service = new LookupService({ k: 8, alpha: 4, table: (f) => routing.tables[f], seeds, family: () => 4 })
    const lookups = new PeerLookups({
      service,
      rpc,
      routing,
      clock,
      queryOptions: { ro: true },
      onPeer: () => {},
      checkAlive: () => {},
      checkHash: () => {},
    })
    try {
      for (const d of nodes) await clock.settle(d.listen())
      await clock.settle(Promise.all(nodes.map((d) => d.bootstrapped())))
      await clock.runFor(60_000)
      const target = nodes[17].id
      const marks = new Map<string, unknown>()
      const res = await clock.settle(
        service.run({
          target,
          query: lookups.queryFnFor('near', { target }, 4),
          onEvent: (e) => {
            if (e.type === 'reply') marks.set(e.node.host, (e.reply as { r?: { mark?: unknown } }).r?.mark)
          },
        }),
      )
      const truth = [...nodes].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 8)
      // The target itself first, and (as the routing-health tests count it) at least 7 of the true 8 closest.
      const truthHosts = new Set(truth.map((d) => d.address().host))
      assert.equal(res.closest[0].host, nodes[17].address().host)
      assert.ok(res.closest.filter((n) => truthHosts.has(n.host)).length >= 7)
      // Every reply carried its node's own `mark`.
      for (const [host, mark] of marks)
        assert.equal(
          mark,
          nodes.findIndex((d) => d.address().host === host),
        )
      assert.ok(marks.size >= 8)
      assert.ok(routing.tables[4].size > 0, 'the nodes the replies named were offered to our table')
      assert.equal(counters.queriesOut.near, res.queries)
    } finally {
      rpc.close()
      await Promise.all(nodes.map((d) => d.destroy()))
    }
  })
})
