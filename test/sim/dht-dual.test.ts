// BEP 32 dual stack on net/sim: every node runs an IPv4 and an IPv6 socket. The first half bootstraps off node 0's
// two addresses, the second half off its IPv4 address only: those learn IPv6 nodes from `nodes6` alone (we ask for
// both with `want`). Then `want: ['n6']` is answered from the IPv6 table and an announce reaches both families.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeNodes } from '../../src/codec/compact.js'
import { buildFindNodeQuery } from '../../src/codec/krpc-build.js'
import { parseKrpc } from '../../src/codec/krpc-parse.js'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork, simIPv4, simIPv6 } from '../../src/net/sim/index.js'

const N = 40

describe('dual stack on net/sim', { timeout: 60_000 }, () => {
  it('fills the IPv6 table from nodes6, answers want n6 from it, and announces in both families', async () => {
    const net = new SimNetwork({ random: new SeededRandom(7) })
    const clock = net.clock
    const random = new SeededRandom(8)
    const nodes: DHT[] = []
    // A /24 and a /64 of its own per node, so that IP diversity keeps every one. (simIPv6 numbers hosts within one
    // /64 of 2001:db8::/32; a /64 per node is still in that documentation prefix.)
    const v4 = (i: number) => simIPv4(i * 256 + 6)
    const v6 = (i: number) => simIPv6(i).replace('2001:db8::', `2001:db8:${(i + 1).toString(16)}::`)
    try {
      for (let i = 0; i < N; i++) {
        const bootstrap =
          i === 0
            ? []
            : i < N / 2
              ? [
                  { host: v4(0), port: 6881 },
                  { host: v6(0), port: 6881 },
                ]
              : [{ host: v4(0), port: 6881 }]
        nodes.push(new DHT({ socket: net.bind(v4(i), 6881), socket6: net.bind(v6(i), 6881), clock, random, bootstrap }))
      }
      await clock.settle(nodes[0].listen())
      for (let i = 1; i < N; i += 10) {
        const wave = nodes.slice(i, i + 10)
        await clock.settle(Promise.all(wave.map((d) => d.listen().then(() => d.bootstrapped()))), { timeout: 60_000 })
      }
      await clock.runFor(60_000)
      const v6Sizes = nodes.map((n) => n.stats().nodes.v6)
      assert.ok(Math.min(...v6Sizes) >= 4, `IPv6 table sizes ${v6Sizes}`)
      assert.deepEqual(nodes[3].addresses(), [
        { host: v4(3), port: 6881 },
        { host: v6(3), port: 6881 },
      ])

      // A plain IPv4 find_node with want n6: nodes6 comes from the IPv6 table.
      const probe = net.bind(simIPv4(100_000), 7000)
      const replies: Uint8Array[] = []
      probe.setReceiver((d) => replies.push(d))
      const q = buildFindNodeQuery(new Uint8Array([1, 2]), random.bytes(20).slice(), random.bytes(20).slice(), {
        want: ['n6'],
      })
      probe.send(q, { host: v4(5), port: 6881 })
      await clock.runFor(1000)
      // The node may also ping the probe (a new contact); the reply is the one with our transaction id.
      const answers = replies.map((d) => parseKrpc(d)).filter((m) => m.y === 'r' && m.t[0] === 1 && m.t[1] === 2)
      assert.equal(answers.length, 1)
      const r = answers[0]
      if (r.y !== 'r') return
      assert.equal(r.r.nodes, undefined, 'no nodes: only n6 was asked for')
      const n6 = decodeNodes(r.r.nodes6!, 6)
      assert.ok(n6.length >= 4)
      assert.ok(n6.every((n) => n.host.startsWith('2001:db8:')))
      await probe.close()

      const infoHash = random.bytes(20).slice()
      const ann = await clock.settle(nodes[1].announce(infoHash, { port: 5555 }), { timeout: 60_000 })
      assert.ok(ann.nodes >= 2)
      const res = await clock.settle(nodes[N - 1].lookup(infoHash), { timeout: 60_000 })
      const hosts = res.peers.filter((p) => p.port === 5555).map((p) => p.host)
      assert.ok(hosts.includes(v4(1)), `peers ${JSON.stringify(res.peers)}`)
      assert.ok(hosts.includes(v6(1)), `peers ${JSON.stringify(res.peers)}`)
    } finally {
      await Promise.all(nodes.map((n) => n.destroy()))
    }
  })
})
