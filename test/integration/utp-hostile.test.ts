import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { SeededRandom } from '../../src/net/sim/random.js'
import { UdpSocket } from '../../src/net/udp.js'
import { UtpSocketManager } from '../../src/utp/socket-manager.js'
import type { UtpStream } from '../../src/utp/stream.js'
import { hostile } from '../helpers/utp-hostile.js'

describe('uTP under hostile input over real UDP (127.0.0.1)', { timeout: 120_000 }, () => {
  it('100,000 hostile datagrams at a live socket manager during a transfer: no crash, transfer intact', async () => {
    const a = await UdpSocket.bind({ host: '127.0.0.1' })
    const b = await UdpSocket.bind({ host: '127.0.0.1' })
    const attacker = await UdpSocket.bind({ host: '127.0.0.1' })
    const client = new UtpSocketManager(a)
    const server = new UtpSocketManager(b, { maxPendingSyns: 64, synRecvTimeout: 2000 })
    try {
      const size = 32 * 1024 * 1024
      const data = randomBytes(size)
      const h = createHash('sha256')
      let got = 0
      const ended = new Promise<void>((resolve, reject) => {
        server.on('connection', (s: UtpStream) => {
          s.on('error', () => {})
          if (s.remotePort !== a.address().port) return void s.resume()
          s.on('data', (d: Buffer) => {
            got += d.length
            h.update(d)
          })
          s.on('end', resolve)
          s.on('error', reject)
        })
      })
      const c = await client.dial(b.address())
      const knownIds = [c.conn.recvId, c.conn.sendId]
      c.resume()
      const writing = (async () => {
        for (let off = 0; off < size; off += 65536)
          if (!c.write(data.subarray(off, off + 65536))) await new Promise((r) => c.once('drain', r))
        c.end()
      })()
      const r = new SeededRandom(1234)
      for (let sent = 0; sent < 100_000; ) {
        for (let i = 0; i < 200; i++, sent++) attacker.send(hostile(r, knownIds), b.address())
        await new Promise((res) => setImmediate(res))
      }
      await writing
      await ended
      assert.equal(got, size)
      assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'))
      // The kernel may drop part of the flood (full receive buffer): most of it still reaches the manager.
      assert.equal(attacker.stats().sent, 100_000)
      assert.ok(server.stats.received > 20_000, `server saw ${server.stats.received} datagrams`)
      assert.ok(server.stats.malformed > 1000)
      assert.ok(server.pendingSyns <= 64)
      assert.ok(server.size <= 64 + 1)
    } finally {
      await client.close()
      await server.close()
      await Promise.all([a.close(), b.close(), attacker.close()])
    }
  })
})
