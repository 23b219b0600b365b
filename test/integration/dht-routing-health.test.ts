// Issue 9 on real UDP: 200 of our nodes on 127.0.0.1, joining off node 0 twenty at a time. After they settle every
// node is in some other node's table (unseen = 0), and lookups and announces of random targets reach the true 8
// closest nodes, observed at the receiving sockets (net/counting.ts).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { graphHealth, isGetPeersFor, mean, median, nodeKey, reachedOf, trueClosest } from '../../bench/dht/metrics.js'
import { DHT } from '../../src/dht/index.js'
import { CountingSocket } from '../../src/net/counting.js'
import { UdpSocket } from '../../src/net/udp.js'
import { seededRandom } from '../helpers/dht-fixtures.js'

const N = 200

describe('routing health of 200 nodes on 127.0.0.1', { timeout: 180_000 }, () => {
  it('unseen = 0 after settling; lookups and announces reach the true 8 closest', async (t) => {
    const nodes: DHT[] = []
    const sockets: UdpSocket[] = []
    let target: Uint8Array | undefined
    const queried = new Set<number>()
    const stored = new Set<number>()
    const make = async (i: number, bootstrap: { host: string; port: number }[]) => {
      const udp = await UdpSocket.bind({ host: '127.0.0.1', recvBufferSize: 256 * 1024, sendBufferSize: 256 * 1024 })
      sockets.push(udp)
      const socket = new CountingSocket(udp)
      socket.counter.onReceive = (data) => {
        if (target && isGetPeersFor(data, target)) queried.add(i)
      }
      const dht = new DHT({ socket, bootstrap })
      dht.on('announce', (_p, ih) => {
        if (target && Buffer.compare(ih, target) === 0) stored.add(i)
      })
      nodes[i] = dht
      await dht.listen()
      await dht.bootstrapped()
    }
    const health = () =>
      graphHealth(
        nodes.map((d) => ({
          key: nodeKey('127.0.0.1', d.address().port, d.id),
          table: d.nodes().map((n) => nodeKey(n.host, n.port, n.id)),
        })),
      )
    try {
      await make(0, [])
      const seed = [{ host: '127.0.0.1', port: nodes[0].address().port }]
      for (let i = 1; i < N; i += 20) {
        const batch = []
        for (let j = i; j < Math.min(N, i + 20); j++) batch.push(make(j, seed))
        await Promise.all(batch)
      }
      // Settle: the first joiners met a network of one node and fill their tables on their next self-lookups
      // (after 5, 10, 20 s...), and every node refreshes its buckets once after joining. Checked once a second
      // until every node is tabled somewhere and has K nodes itself.
      const settled = () => health().unseen === 0 && nodes.every((d) => d.nodes().length >= 8)
      for (let s = 0; s < 90 && !settled(); s++) {
        await new Promise((r) => setTimeout(r, 1000))
      }
      const h = health()
      t.diagnostic(`graph: ${JSON.stringify(h)}`)
      assert.equal(h.unseen, 0)
      assert.ok(h.inDegree.min >= 1)

      const rnd = seededRandom(99)
      const ids = () => nodes.map((d) => d.id)
      const reached: number[] = []
      for (let l = 0; l < 20; l++) {
        const looker = (l * 37 + 5) % N
        target = rnd.bytes(20).slice()
        queried.clear()
        const r = await nodes[looker].lookup(target)
        const got = reachedOf(trueClosest(ids(), target, 8, looker), queried)
        if (got < 6)
          t.diagnostic(
            `lookup ${l} from ${looker}: ${got} of 8, ${r.queries} queries, table ${nodes[looker].nodes().length}`,
          )
        reached.push(got)
      }
      const storedOn: number[] = []
      for (let a = 0; a < 5; a++) {
        const who = (a * 53 + 7) % N
        target = rnd.bytes(20).slice()
        stored.clear()
        await nodes[who].announce(target, { port: 6881 })
        await new Promise((r) => setTimeout(r, 200)) // the last announce_peer datagrams land
        storedOn.push(reachedOf(trueClosest(ids(), target, 8, who), stored))
      }
      target = undefined
      t.diagnostic(`true 8 queried ${JSON.stringify(reached)}; announces stored on ${JSON.stringify(storedOn)}`)
      assert.equal(median(reached), 8)
      assert.ok(mean(reached) >= 7.5, `mean ${mean(reached)}`)
      assert.ok(median(storedOn) >= 7, `stored ${JSON.stringify(storedOn)}`)
    } finally {
      await Promise.all(nodes.map((d) => d?.destroy()))
      await Promise.all(sockets.map((s) => s.close()))
    }
  })
})
