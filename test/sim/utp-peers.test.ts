import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import type { UtpError } from '../../src/utp/options.js'
import type { UtpStream } from '../../src/utp/stream.js'
import { simPair } from './utp-helpers.js'

describe('uTP on net/sim: peers that vanish, many connections', { timeout: 120_000 }, () => {
  it('a peer that vanishes mid-transfer: the sender times out cleanly and forgets the connection', async () => {
    const p = simPair({ latencyMs: 30 }, 7)
    let server: UtpStream | null = null
    p.b.on('connection', (s) => {
      server = s
      s.resume()
      s.on('error', () => {}) // its host is gone too
    })
    const c = p.a.connect(p.sb.address())
    let err: UtpError | null = null
    c.on('error', (e) => {
      err = e as UtpError
    })
    const big = Buffer.alloc(4 << 20)
    c.write(big)
    await p.clock.runUntil(() => (server?.readableLength ?? 0) > 0 || c.conn.stats.bytesSent > 200_000, {
      timeout: 60_000,
    })
    // B disappears without a word: its socket is gone, nothing answers.
    await p.sb.close()
    const t0 = p.clock.now()
    await p.clock.runUntil(() => err !== null, { timeout: 600_000 })
    assert.equal((err as UtpError | null)?.code, 'ETIMEDOUT')
    const took = (p.clock.now() - t0) / 1000
    assert.ok(took > 5 && took < 300, `gave up after ${took} virtual s`)
    await p.clock.runFor(1000)
    assert.equal(p.a.size, 0)
    assert.ok(c.destroyed)
  })

  it('an idle connection whose peer vanishes times out by keep-alive silence', async () => {
    const p = simPair({ latencyMs: 30 }, 8, { idleTimeout: 60_000 })
    p.b.on('connection', (s) => {
      s.resume()
      s.on('error', () => {}) // its host is gone too
    })
    const c = await p.clock.settle(p.a.dial(p.sb.address()))
    let err: UtpError | null = null
    c.on('error', (e) => {
      err = e as UtpError
    })
    // Keep-alives keep a live idle connection up well past the idle timeout.
    await p.clock.runFor(150_000)
    assert.equal(err, null)
    assert.equal(p.a.size, 1)
    await p.sb.close()
    await p.clock.runUntil(() => err !== null, { timeout: 200_000 })
    assert.equal((err as UtpError | null)?.code, 'ETIMEDOUT')
    await p.clock.runFor(1000)
    assert.equal(p.a.size, 0)
  })

  it('1,000 concurrent connections through one socket on each side, each echoing its own data', async () => {
    const N = 1000
    const p = simPair({ latencyMs: 20, jitterMs: 5, loss: 0.01 }, 9)
    p.b.on('connection', (s) => s.pipe(s))
    let done = 0
    let bad = 0
    const errors: string[] = []
    const streams: UtpStream[] = []
    for (let i = 0; i < N; i++) {
      const c = p.a.connect(p.sb.address())
      streams.push(c)
      const msg = createHash('sha256').update(`connection ${i}`).digest()
      const payload = Buffer.concat(Array.from({ length: 256 }, () => msg)) // 8 KiB
      const got: Buffer[] = []
      c.on('data', (d: Buffer) => got.push(d))
      c.on('end', () => {
        if (Buffer.concat(got).equals(payload)) done++
        else bad++
      })
      c.on('error', (e) => {
        errors.push(`${i}: ${e.message}`)
        bad++
      })
      c.end(payload)
    }
    await p.clock.runUntil(() => done + bad === N, { timeout: 600_000 })
    assert.deepEqual(errors, [])
    assert.equal(bad, 0)
    assert.equal(done, N)
    assert.ok(p.b.stats.accepted >= N)
    await p.clock.runFor(70_000)
    assert.equal(p.a.size, 0)
    assert.equal(p.b.size, 0)
    assert.equal(p.b.pendingSyns, 0)
  })
})
