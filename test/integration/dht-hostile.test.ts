// Hostile input over real UDP on 127.0.0.1: 100,000 random and mutated datagrams at a live node. Afterwards it
// still answers pings, nothing was thrown out of a handler, and every map stays within its cap.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import {
  buildAnnouncePeerQuery,
  buildErrorReply,
  buildFindNodeQuery,
  buildFindNodeReply,
  buildGetPeersQuery,
  buildGetPeersReply,
  buildPingQuery,
  buildPingReply,
} from '../../src/codec/krpc-build.js'
import { DHT } from '../../src/dht/index.js'
import { UdpSocket } from '../../src/net/udp.js'
import { idOf, seededRandom } from '../helpers/dht-fixtures.js'

const TOTAL = 100_000

function corpus(): Uint8Array[] {
  const t = new Uint8Array([1, 2])
  const id = idOf(0x55, 3)
  const nodes = Array.from({ length: 8 }, (_, i) => ({ id: idOf(i, i), host: '127.0.0.1', port: 1000 + i }))
  return [
    buildPingQuery(t, id),
    buildPingQuery(t, id, { ro: true, v: 'LT\x02\x08' }),
    buildFindNodeQuery(t, id, idOf(9), { want: ['n4', 'n6'] }),
    buildGetPeersQuery(t, id, idOf(8)),
    buildAnnouncePeerQuery(t, id, idOf(8), new Uint8Array(8), 6881, { impliedPort: true }),
    buildPingReply(t, id, { ip: { host: '127.0.0.1', port: 5 } }),
    buildFindNodeReply(t, id, nodes),
    buildGetPeersReply(t, id, [{ host: '127.0.0.1', port: 9 }], nodes, new Uint8Array(4)),
    buildErrorReply(t, [203, 'invalid token']),
    encode({ a: { id, target: idOf(1), want: [[[['x']]]] }, q: 'find_node', t, y: 'q' }),
    encode({ a: { id, info_hash: idOf(2) }, q: 'sample_infohashes', t, y: 'q' }),
  ]
}

function mutate(rnd: ReturnType<typeof seededRandom>, src: Uint8Array): Uint8Array {
  const r = rnd.bytes(4)
  const kind = r[0] % 6
  if (kind === 0) return rnd.bytes(1 + (r[1] % 200)) // pure noise
  let b = src.slice()
  const n = 1 + (r[1] % 4)
  for (let i = 0; i < n; i++) {
    const at = rnd.bytes(2)
    const pos = ((at[0] << 8) | at[1]) % Math.max(1, b.length)
    if (kind === 1)
      b[pos] = rnd.bytes(1)[0] // flip a byte
    else if (kind === 2)
      b = b.subarray(0, pos) // truncate
    else if (kind === 3) b = Uint8Array.from([...b.subarray(0, pos), ...rnd.bytes(1 + (at[1] % 8)), ...b.subarray(pos)])
    else if (kind === 4)
      b[pos] = '0123456789:deil'.charCodeAt(at[1] % 15) // structural characters
    else b = Uint8Array.from([...b.subarray(0, pos), ...b.subarray(pos, pos + 20), ...b.subarray(pos)]) // duplicate
  }
  return b
}

describe('hostile input over real UDP', { timeout: 120_000 }, () => {
  it('100,000 random and mutated datagrams: no throw, bounded state, still answers', async () => {
    // The per-source limit would ban the flood after a few hundred packets; lift it so every packet reaches the
    // parser and the handlers. A second node below keeps the default limit.
    const dht = new DHT({ host: '127.0.0.1', rateLimit: { perIpPerSecond: 1e9, banSeconds: 1 }, maxPending: 256 })
    const warnings: Error[] = []
    dht.on('warning', (e) => warnings.push(e))
    const addr = await dht.listen()
    const attackers = await Promise.all([0, 1, 2, 3].map(() => UdpSocket.bind({ host: '127.0.0.1' })))
    try {
      const rnd = seededRandom(1234)
      const base = corpus()
      for (let i = 0; i < TOTAL; i++) {
        const src = base[i % base.length]
        attackers[i % attackers.length].send(mutate(rnd, src), addr)
        if (i % 200 === 199) {
          // Pace the flood to what the node has taken in, so the kernel's socket buffer does not drop most of it.
          for (let spin = 0; spin < 50 && dht.stats().packetsIn < i - 400; spin++) {
            await new Promise((r) => setImmediate(r))
          }
        }
      }
      await new Promise((r) => setTimeout(r, 300))
      const s = dht.stats()
      assert.ok(s.packetsIn > TOTAL * 0.9, `only ${s.packetsIn} datagrams arrived`)
      assert.equal(s.drops.handler_error ?? 0, 0)
      assert.deepEqual(warnings, [])
      assert.ok((s.drops.malformed ?? 0) + (s.drops.not_krpc ?? 0) > TOTAL / 4)
      assert.ok(s.pendingQueries <= 256)
      assert.ok(s.peersStored <= 20_000 && s.infoHashesStored <= 2000)
      assert.ok(s.rateLimiterEntries <= 10_000)
      assert.ok(Object.keys(s.queriesIn).length <= 5, 'method names chosen by peers are not map keys')
      assert.ok(s.nodes.v4 <= 160 * 8)
      if (process.env.DHT_HOSTILE_VERBOSE) console.log(JSON.stringify(s))
      // Still alive: another node's ping gets its answer.
      const other = new DHT({ host: '127.0.0.1' })
      await other.listen()
      const r = await other.ping(addr)
      assert.deepEqual(r.id, dht.id)
      await other.destroy()
    } finally {
      for (const a of attackers) await a.close()
      await dht.destroy()
    }
  })

  it('the default rate limit bans a flooding source and keeps serving others', async () => {
    const dht = new DHT({ host: '127.0.0.1' })
    const addr = await dht.listen()
    const flood = await UdpSocket.bind({ host: '127.0.0.1' })
    const other = new DHT({ host: '127.0.0.1' })
    await other.listen()
    try {
      const ping = buildPingQuery(new Uint8Array([9, 9]), idOf(0x66))
      for (let i = 0; i < 2000; i++) {
        flood.send(ping, addr)
        if (i % 200 === 199) await new Promise((r) => setImmediate(r))
      }
      await new Promise((r) => setTimeout(r, 200))
      const s = dht.stats()
      assert.ok((s.drops.rate_limited ?? 0) > 1000, JSON.stringify(s.drops))
      assert.ok(s.bans >= 1)
      const r = await other.ping(addr)
      assert.deepEqual(r.id, dht.id)
    } finally {
      await flood.close()
      await other.destroy()
      await dht.destroy()
    }
  })
})
