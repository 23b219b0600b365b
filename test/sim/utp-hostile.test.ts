import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { encodeUtpPacket, ST_SYN } from '../../src/codec/utp-packet.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { UtpStream } from '../../src/utp/stream.js'
import { hostile } from '../helpers/utp-hostile.js'
import { simPair } from './utp-helpers.js'

describe('uTP under hostile input (net/sim)', { timeout: 300_000 }, () => {
  it('100,000 random, mutated and forged datagrams plus a SYN flood: no crash, bounded state, transfer intact', async () => {
    const maxPendingSyns = 64
    const p = simPair({ latencyMs: 10, loss: 0.01 }, 31, { maxPendingSyns, synRecvTimeout: 5000 })
    const r = new SeededRandom(99)
    const size = 4 * 1024 * 1024
    const data = randomBytes(size)
    const h = createHash('sha256')
    let got = 0
    let ended = false
    let legit: UtpStream | null = null
    const accepted: UtpStream[] = []
    p.b.on('connection', (s) => {
      accepted.push(s)
      s.on('error', () => {}) // flood connections die by timeout or reset: expected
      if (legit === null) {
        legit = s
        s.on('data', (d: Buffer) => {
          got += d.length
          h.update(d)
        })
        s.on('end', () => {
          ended = true
        })
      } else s.resume()
    })
    const client = p.a.connect(p.sb.address())
    let clientErr: Error | null = null
    client.on('error', (e) => {
      clientErr = e
    })
    client.resume()
    // Paced writes (32 KiB per 50 virtual ms), so the transfer runs during the whole flood.
    let off = 0
    const writer = p.clock.setInterval(() => {
      client.write(data.subarray(off, off + 32768))
      off += 32768
      if (off >= size) {
        writer.cancel()
        client.end()
      }
    }, 50)
    await p.clock.runUntil(() => legit !== null, { timeout: 10_000 })
    const knownIds = [client.conn.recvId, client.conn.sendId, legit!.conn.recvId, legit!.conn.sendId]

    // Attackers on 10 addresses, 100,000 datagrams over ~5 virtual seconds; 20% of them SYNs from fresh ports.
    const attackers = Array.from({ length: 10 }, (_, i) => p.net.bind(`198.51.100.${100 + i}`, 7000))
    const synSources = Array.from({ length: 20 }, (_, i) => p.net.bind(`203.0.113.${100 + i}`))
    const target = p.sb.address()
    let sent = 0
    let maxSize = 0
    const heap0 = process.memoryUsage().heapUsed
    const timer = p.clock.setInterval(() => {
      for (let i = 0; i < 1000 && sent < 100_000; i++, sent++) {
        if (r.chance(0.2)) {
          const syn = encodeUtpPacket({
            type: ST_SYN,
            connId: r.int(0, 65536),
            timestamp: 0,
            timestampDiff: 0,
            wnd: 0,
            seq: r.int(0, 65536),
            ack: 0,
          })
          r.pick(synSources).send(syn, target)
        } else r.pick(attackers).send(hostile(r, knownIds), target)
      }
      maxSize = Math.max(maxSize, p.b.size)
    }, 50)
    await p.clock.runUntil(() => sent >= 100_000, { timeout: 60_000 })
    timer.cancel()
    assert.ok(!ended, 'the transfer was still running when the flood ended')
    await p.clock.runUntil(() => ended, { timeout: 600_000 })
    assert.equal(clientErr, null)
    assert.equal(got, size)
    assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'))
    // Half-open connections never exceed the bound (+ the legitimate one), and they all expire.
    assert.ok(p.b.pendingSyns <= maxPendingSyns)
    assert.ok(maxSize <= maxPendingSyns + 2, `manager held ${maxSize} connections`)
    assert.ok(p.b.stats.synDropped > 0, 'the flood hit the bound')
    assert.ok(p.b.stats.malformed > 1000)
    await p.clock.runFor(70_000)
    assert.equal(p.b.size, 0)
    assert.equal(p.b.pendingSyns, 0)
    const grown = process.memoryUsage().heapUsed - heap0
    assert.ok(grown < 64 * 1024 * 1024, `heap grew ${grown} bytes`)
    console.log(`# hostile: ${JSON.stringify(p.b.stats)}`)
  })
})
