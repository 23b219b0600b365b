// A listener's bug must not wedge the node: a throw from a 'node' listener (called while a reply updates the
// routing table) is reported as a warning, and the query still settles.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseKrpc } from '../../src/codec/index.js'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'

describe('DHT on net/sim: a throwing listener', { timeout: 30_000 }, () => {
  it('is reported as a warning; the query it interrupted still settles', async () => {
    const net = new SimNetwork({ random: new SeededRandom(1) })
    const clock = net.clock
    const b = new DHT({ socket: net.bind('198.51.100.2', 6881), clock, random: new SeededRandom(2) })
    const a = new DHT({ socket: net.bind('198.51.100.1', 6881), clock, random: new SeededRandom(3) })
    try {
      await clock.settle(b.listen())
      await clock.settle(a.listen())
      const warnings: string[] = []
      a.on('warning', (e) => warnings.push(e.message))
      a.on('node', () => {
        throw new Error('listener bug')
      })
      const outcome = a.ping({ host: '198.51.100.2', port: 6881 }).then(
        () => 'replied',
        (e: { code?: string }) => `failed ${e.code}`,
      )
      await clock.runFor(30_000)
      assert.equal(await Promise.race([outcome, Promise.resolve('pending')]), 'replied')
      assert.deepEqual(warnings, ['listener bug'])
      assert.equal(a.stats().pendingQueries, 0)
    } finally {
      await a.destroy()
      await b.destroy()
    }
  })
})

describe('DHT on net/sim: transaction ids', () => {
  it('are not sequential (an off-path sender cannot guess the next one)', async () => {
    const net = new SimNetwork({ random: new SeededRandom(4) })
    const clock = net.clock
    const sink = net.bind('198.51.100.9', 6881)
    const tids: number[] = []
    sink.setReceiver((data: Uint8Array) => {
      const m = parseKrpc(data)
      if (m.y === 'q') tids.push((m.t[0] << 8) | m.t[1])
    })
    const a = new DHT({ socket: net.bind('198.51.100.1', 6881), clock, random: new SeededRandom(5) })
    try {
      await clock.settle(a.listen())
      for (let i = 0; i < 40; i++) a.ping({ host: '198.51.100.9', port: 6881 }).catch(() => {})
      await clock.runFor(100)
      assert.equal(tids.length, 40)
      assert.equal(new Set(tids).size, 40, 'distinct while in flight')
      const steps = tids.slice(1).filter((t, i) => t === ((tids[i] + 1) & 0xffff)).length
      assert.ok(steps < 5, `${steps} of 39 ids followed the previous one`)
    } finally {
      await a.destroy()
      await sink.close()
    }
  })
})
