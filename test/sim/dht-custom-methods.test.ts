// The DHT's public seams for methods of its own, between two nodes on net/sim: `handle` answers a method the node
// does not know (user methods; built-ins refused), `query` sends any method and resolves with the whole reply,
// KRPC errors and silence reject typed, and a reply to a custom query tables its sender like any reply.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DHT, KrpcHandlerError } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'

const A = { host: '198.51.100.1', port: 6881 }
const B = { host: '198.51.100.2', port: 6881 }

async function pair() {
  const net = new SimNetwork({ random: new SeededRandom(7) })
  const clock = net.clock
  const a = new DHT({ socket: net.bind(A.host, A.port), clock, random: new SeededRandom(1) })
  const b = new DHT({ socket: net.bind(B.host, B.port), clock, random: new SeededRandom(2) })
  await clock.settle(a.listen())
  await clock.settle(b.listen())
  return { net, clock, a, b, close: () => Promise.all([a.destroy(), b.destroy()]) }
}

describe('DHT on net/sim: custom methods', { timeout: 60_000 }, () => {
  it('handle() answers, query() gets the whole reply; the reply tables the sender', async () => {
    const { clock, a, b, close } = await pair()
    try {
      const seen: Array<{ method: string; from: string; n: unknown }> = []
      const off = b.handle('sum', (q, ctx) => {
        seen.push({ method: q.method, from: `${q.from.host}:${q.from.port}`, n: q.args.n })
        const token = ctx.issueToken(q.from, new Uint8Array(20))
        return { total: Number(q.args.n) + 1, token }
      })
      const r = await clock.settle(a.query(B, 'sum', { n: 41 }))
      assert.deepEqual(r.id, b.id)
      assert.equal(r.r.total, 42)
      assert.ok(r.r.token instanceof Uint8Array)
      assert.deepEqual(r.from, B)
      assert.deepEqual(seen, [{ method: 'sum', from: `${A.host}:${A.port}`, n: 41 }])
      assert.equal(b.stats().queriesIn.sum, 1)
      assert.equal(a.stats().queriesOut.sum, 1)
      assert.deepEqual(
        a.nodes().map((n) => n.host),
        [B.host],
      )
      // Removed: the method is unknown again (204).
      off()
      await assert.rejects(clock.settle(a.query(B, 'sum', { n: 1 })), { code: 'KRPC_ERROR', krpcCode: 204 })
    } finally {
      await close()
    }
  })

  it('a handler error is a KRPC error at the asker; silence is a timeout; bugs are 202', async () => {
    const { clock, a, b, close } = await pair()
    try {
      const warnings: string[] = []
      b.on('warning', (e) => warnings.push(e.message))
      b.handle('no', () => new KrpcHandlerError(206, 'invalid signature'))
      b.handle('quiet', () => undefined)
      b.handle('bug', () => {
        throw new Error('handler bug')
      })
      await assert.rejects(clock.settle(a.query(B, 'no', {})), { code: 'KRPC_ERROR', krpcCode: 206 })
      await assert.rejects(clock.settle(a.query(B, 'quiet', {}), { timeout: 60_000 }), { code: 'TIMEOUT' })
      await assert.rejects(clock.settle(a.query(B, 'bug', {})), { code: 'KRPC_ERROR', krpcCode: 202 })
      assert.deepEqual(warnings, ['handler bug'])
      assert.equal(b.stats().drops.handler_error, 1)
    } finally {
      await close()
    }
  })

  it('refuses built-in names and a second handler; query() checks its arguments and the signal', async () => {
    const { clock, a, b, close } = await pair()
    try {
      for (const m of ['ping', 'find_node', 'get_peers', 'announce_peer'])
        assert.throws(() => b.handle(m, () => ({})), { code: 'BAD_ARGUMENT' })
      b.handle('once', () => ({}))
      assert.throws(() => b.handle('once', () => ({})), { code: 'BAD_ARGUMENT' })
      await assert.rejects(a.query(B, 'x', { f: Symbol('no') }), { code: 'BAD_ARGUMENT' })
      await assert.rejects(a.query({ host: '2001:db8::1', port: 1 }, 'x', {}), { code: 'BAD_ADDRESS' })
      const ac = new AbortController()
      const p = a.query({ host: '203.0.113.9', port: 1 }, 'x', {}, { signal: ac.signal })
      ac.abort()
      await assert.rejects(clock.settle(p), { code: 'ABORTED' })
    } finally {
      await close()
    }
  })
})
