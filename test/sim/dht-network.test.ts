// 1,000 DHT nodes on the simulated network, on virtual time: every lookup of an announced info hash finds the
// announcer, with no loss and with 20% loss.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isValidNodeIdForIp } from '../../src/codec/bep42.js'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'

const N = 1000

/** A distinct public-looking /24 per node (in-memory only: nothing leaves the process). */
function ipOf(i: number): string {
  return `11.${(i >> 8) & 255}.${i & 255}.7`
}

async function buildNetwork(seed: number) {
  const net = new SimNetwork({ random: new SeededRandom(seed) })
  const clock = net.clock
  const random = new SeededRandom(seed + 1)
  const nodes: DHT[] = []
  const make = (i: number, bootstrap: { host: string; port: number }[]) => {
    const socket = net.bind(ipOf(i), 6881)
    const dht = new DHT({ socket, clock, random, bootstrap })
    nodes.push(dht)
    return dht
  }
  const first = make(0, [])
  await clock.settle(first.listen())
  const boot = [{ host: ipOf(0), port: 6881 }]
  // Join in waves, each wave bootstrapping from a few earlier nodes, as a real swarm grows.
  for (let start = 1; start < N; start += 100) {
    const wave: DHT[] = []
    for (let i = start; i < Math.min(N, start + 100); i++) {
      const known = i < 10 ? boot : [boot[0], { host: ipOf(random.int(0, start)), port: 6881 }]
      wave.push(make(i, known))
    }
    await clock.settle(Promise.all(wave.map((d) => d.listen().then(() => d.bootstrapped()))), { timeout: 600_000 })
  }
  // A few minutes of ordinary life: maintenance pings, queries answered, tables filled.
  await clock.runFor(60_000)
  return { net, clock, random, nodes }
}

async function announceAndFind(env: Awaited<ReturnType<typeof buildNetwork>>, rounds: number) {
  const { clock, random, nodes } = env
  let found = 0
  let queries = 0
  for (let r = 0; r < rounds; r++) {
    const infoHash = random.bytes(20).slice()
    const announcer = nodes[random.int(0, N)]
    const port = 10000 + r
    const ann = await clock.settle(announcer.announce(infoHash, { port }), { timeout: 600_000 })
    assert.ok(ann.nodes >= 1, `round ${r}: announce reached ${ann.nodes} nodes`)
    for (let l = 0; l < 3; l++) {
      const seeker = nodes[random.int(0, N)]
      const res = await clock.settle(seeker.lookup(infoHash), { timeout: 600_000 })
      queries += res.queries
      if (res.peers.some((p) => p.port === port && p.host === announcer.address().host)) found++
      else
        assert.fail(
          `round ${r} lookup ${l}: announcer not found (${res.queries} queries, ${res.responses} replies) ${JSON.stringify(seeker.stats())} ${JSON.stringify(env.net.stats())} ${JSON.stringify(nodes.map((n) => n.stats().drops).filter((d) => Object.keys(d).length))}`,
        )
    }
  }
  return { found, queries }
}

describe('1,000 nodes on net/sim', { timeout: 240_000 }, () => {
  it('every lookup of an announced info hash finds the announcer; also with 20% loss', async () => {
    const env = await buildNetwork(2024)
    try {
      const sizes = env.nodes.map((n) => n.stats().nodes.v4)
      sizes.sort((a, b) => a - b)
      assert.ok(sizes[0] >= 8, `smallest table ${sizes[0]}`)
      const clean = await announceAndFind(env, 20)
      assert.equal(clean.found, 60)
      const perLookup = clean.queries / 60
      assert.ok(perLookup < 40, `queries per lookup ${perLookup}`)
      env.net.setDefaults({ loss: 0.2 })
      const lossy = await announceAndFind(env, 10)
      assert.equal(lossy.found, 30)
      // BEP 42: nodes learned their (public) address from votes and took compliant ids.
      const learned = env.nodes.filter((n) => n.stats().externalIp)
      assert.ok(learned.length > N / 2)
      for (const n of learned) {
        assert.equal(n.stats().externalIp, n.address().host)
        assert.ok(isValidNodeIdForIp(n.id, n.address().host), 'took a BEP 42 id for its address')
      }
    } finally {
      await Promise.all(env.nodes.map((n) => n.destroy()))
    }
  })
})
