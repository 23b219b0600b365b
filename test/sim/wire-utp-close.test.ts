// A peer that ends its side of a connection gets our FIN back, not a reset: over uTP a reset would discard data
// still in flight and is reported to the peer as an error.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { UtpStream } from '../../src/utp/stream.js'
import { PeerConnection } from '../../src/wire/peer-connection.js'
import { until } from '../helpers/until.js'
import { simPair } from './utp-helpers.js'

describe('peer wire over uTP on net/sim: closing', { timeout: 30_000 }, () => {
  it("the peer's end of stream is answered with our FIN: both uTP streams finish without an error", async () => {
    const p = simPair({ latencyMs: 10 }, 5)
    const stop = p.clock.autoAdvance()
    try {
      const infoHash = new Uint8Array(20).fill(7)
      const accepted = new Promise<UtpStream>((resolve) => p.b.once('connection', resolve))
      const sa = await p.a.dial({ host: '203.0.113.7', port: 6881 })
      const sb = await accepted
      const errors: string[] = []
      for (const [name, s] of [
        ['A', sa],
        ['B', sb],
      ] as const)
        s.on('error', (e: Error & { code?: string }) => errors.push(`${name} ${e.code}`))
      const common = { transport: 'utp' as const, clock: p.clock, infoHash }
      const a = new PeerConnection({
        ...common,
        stream: sa,
        direction: 'outgoing',
        remote: { host: '203.0.113.7', port: 6881 },
        peerId: new Uint8Array(20).fill(1),
      })
      const b = new PeerConnection({
        ...common,
        stream: sb,
        direction: 'incoming',
        remote: { host: '198.51.100.1', port: 6881 },
        peerId: new Uint8Array(20).fill(2),
      })
      await Promise.all([new Promise((r) => a.once('handshake', r)), new Promise((r) => b.once('handshake', r))])
      const bClosed = new Promise<string>((resolve) => b.once('close', (reason) => resolve(reason.code)))
      const aEnded = new Promise<void>((resolve) => sa.once('end', resolve))
      await a.end()
      assert.equal(await bClosed, 'STREAM_ENDED')
      await aEnded // B's FIN reached A
      await new Promise<void>((resolve) => p.clock.setTimeout(resolve, 2000))
      assert.deepEqual(errors, [], 'no reset on either side')
      assert.equal(sa.conn.state, 'closed')
      assert.equal(sb.conn.state, 'closed')
    } finally {
      stop()
      await p.a.close()
      await p.b.close()
    }
  })
})

describe('uTP on net/sim: a throwing listener', { timeout: 30_000 }, () => {
  it('destroys its own connection only; the process and the other connections carry on', async () => {
    const p = simPair({ latencyMs: 10 }, 6)
    const stop = p.clock.autoAdvance()
    try {
      const accepted: UtpStream[] = []
      p.b.on('connection', (s) => accepted.push(s))
      const bad = await p.a.dial({ host: '203.0.113.7', port: 6881 })
      const good = await p.a.dial({ host: '203.0.113.7', port: 6881 })
      await until(() => accepted.length === 2, {
        clock: p.clock,
        within: 60_000,
        every: 5,
        what: 'both connections accepted',
      })
      const errors: string[] = []
      bad.on('error', (e: Error & { code?: string }) => errors.push(e.code ?? e.message))
      bad.on('data', () => {
        throw new TypeError('a bug in a listener')
      })
      const got: Buffer[] = []
      good.on('data', (d: Buffer) => got.push(d))
      accepted[0].write('to the bad one')
      accepted[1].write('to the good one')
      await until(() => got.length > 0 && errors.length > 0, {
        clock: p.clock,
        within: 60_000,
        every: 5,
        what: 'data on the good connection and an error on the bad one',
      })
      assert.deepEqual(errors, ['EDESTROYED'])
      assert.equal(p.a.stats.handlerErrors, 1)
      assert.equal(Buffer.concat(got).toString(), 'to the good one')
      assert.equal(bad.conn.state, 'closed')
      assert.equal(good.conn.state, 'connected')
    } finally {
      stop()
      await p.a.close()
      await p.b.close()
    }
  })
})
