import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { Swarm } from '../../src/swarm/swarm.js'
import { acceptUtp, bindUtpPort, UtpDialer } from '../../src/swarm/utp.js'
import type { PeerConnection } from '../../src/wire/peer-connection.js'

describe('Swarm over uTP', { timeout: 30_000 }, () => {
  it('a swarm accepts uTP on its port number and another dials it over uTP', async () => {
    const infoHash = new Uint8Array(randomBytes(20))
    const a = new Swarm({ infoHash, host: '127.0.0.1' })
    const aAddr = await a.listen()
    const port = await bindUtpPort({ host: '127.0.0.1', port: aAddr.port })
    acceptUtp(a, port.manager)
    const dialer = new UtpDialer()
    const b = new Swarm({ infoHash, host: '127.0.0.1', dialer })
    try {
      const accepted = new Promise<PeerConnection>((r) => a.once('connected', r))
      const conn = await b.connect(aAddr)
      assert.equal(conn.transport, 'utp')
      const incoming = await accepted
      assert.equal(incoming.transport, 'utp')
      assert.equal(incoming.direction, 'incoming')
      assert.ok(port.mux.stats.utp > 0)
      // Messages flow both ways on the peer wire over uTP.
      const got = new Promise<number>((r) => incoming.once('have', (m) => r(m.index)))
      conn.send({ type: 'have', index: 42 })
      assert.equal(await got, 42)
    } finally {
      await b.close()
      await a.close()
      await dialer.close()
      await port.close()
    }
  })
})
