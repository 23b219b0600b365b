import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { UdpSocket } from '../../src/net/udp.js'
import { UtpSocketManager } from '../../src/utp/socket-manager.js'

const TOTAL = Number(process.env.UTP_CHURN ?? 10_000)
const PARALLEL = 100

describe('uTP connection churn over real UDP (127.0.0.1)', { timeout: 180_000 }, () => {
  it(`${TOTAL} connects, one message each way, graceful closes: no leaked state`, async () => {
    const a = await UdpSocket.bind({ host: '127.0.0.1' })
    const b = await UdpSocket.bind({ host: '127.0.0.1' })
    const client = new UtpSocketManager(a)
    const server = new UtpSocketManager(b, { maxPendingSyns: 4096 })
    try {
      server.on('connection', (s) => {
        s.once('data', (d: Buffer) => s.end(d))
        s.on('error', () => {})
      })
      let ok = 0
      const errors: string[] = []
      const one = async (i: number) => {
        const s = client.connect(b.address())
        const msg = `hello ${i}`
        const reply = await new Promise<string>((resolve, reject) => {
          const chunks: Buffer[] = []
          s.on('data', (d: Buffer) => chunks.push(d))
          s.on('end', () => resolve(Buffer.concat(chunks).toString()))
          s.on('error', reject)
          s.end(msg)
        })
        await new Promise((r) => (s.closed ? r(null) : s.once('close', r)))
        if (reply === msg) ok++
      }
      let next = 0
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < TOTAL) {
            const i = next++
            await one(i).catch((e: Error) => errors.push(`${i}: ${e.message}`))
          }
        }),
      )
      assert.deepEqual(errors.slice(0, 5), [])
      assert.equal(ok, TOTAL)
      // Closed connections linger a few seconds to re-ack a lost FIN, then every trace is gone.
      const deadline = Date.now() + 20_000
      while ((client.size > 0 || server.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      assert.equal(client.size, 0)
      assert.equal(server.size, 0)
      assert.equal(server.pendingSyns, 0)
      assert.equal(server.stats.accepted, TOTAL)
    } finally {
      await client.close()
      await server.close()
      await a.close()
      await b.close()
    }
  })
})
