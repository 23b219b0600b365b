import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DHT } from '../../src/dht/dht.js'
import { UdpMux } from '../../src/net/mux.js'
import { UdpSocket } from '../../src/net/udp.js'
import { UtpSocketManager } from '../../src/utp/socket-manager.js'
import type { UtpStream } from '../../src/utp/stream.js'

describe('UdpMux: uTP and the DHT on one UDP port', { timeout: 20_000 }, () => {
  it('routes uTP to uTP, bencoded dicts to the DHT, and counts the rest', async () => {
    const shared = await UdpSocket.bind({ host: '127.0.0.1' })
    const mux = new UdpMux(shared)
    const other = await UdpSocket.bind({ host: '127.0.0.1' })
    const client = new UtpSocketManager(other)
    const server = new UtpSocketManager(mux.utp)
    try {
      // A stand-in DHT: answers any dict with a fixed reply, through its own channel (same port).
      const dhtSeen: string[] = []
      mux.dht.setReceiver((data, from) => {
        dhtSeen.push(Buffer.from(data).toString('latin1'))
        mux.dht.send(new TextEncoder().encode('d1:rd2:id20:aaaaaaaaaaaaaaaaaaaae1:t2:xx1:y1:re'), from)
      })
      const accepted = new Promise<UtpStream>((r) => server.once('connection', r))
      // KRPC comes from a third socket: the client's own socket belongs to its uTP manager.
      const krpcSock = await UdpSocket.bind({ host: '127.0.0.1' })
      const replies: string[] = []
      const replied = new Promise<void>((resolve) =>
        krpcSock.setReceiver((d) => {
          replies.push(Buffer.from(d).toString('latin1'))
          resolve()
        }),
      )
      const ping = 'd1:ad2:id20:bbbbbbbbbbbbbbbbbbbbe1:q4:ping1:t2:xx1:y1:qe'
      krpcSock.send(new TextEncoder().encode(ping), shared.address())
      krpcSock.send(new TextEncoder().encode('garbage that is neither'), shared.address())
      krpcSock.send(new Uint8Array([0x41, 0, 0, 0]), shared.address()) // short: not uTP
      const stream = await client.dial(shared.address())
      const peer = await accepted
      peer.pipe(peer)
      stream.write('over utp')
      const echoed = await new Promise<string>((r) => stream.once('data', (d: Buffer) => r(d.toString())))
      assert.equal(echoed, 'over utp')
      await replied
      assert.deepEqual(dhtSeen, [ping])
      assert.equal(replies.length, 1)
      assert.equal(mux.stats.dht, 1)
      assert.equal(mux.stats.unclaimed, 2)
      assert.ok(mux.stats.utp >= 2)
      assert.equal(server.stats.malformed, 0)
      stream.end()
      await new Promise((r) => stream.once('close', r))
      await krpcSock.close()
    } finally {
      await client.close()
      await server.close()
      await other.close()
      await mux.close()
    }
  })

  it('runs the real DHT node on mux.dht and uTP on mux.utp, on one port, at the same time', async () => {
    const shared = await UdpSocket.bind({ host: '127.0.0.1' })
    const mux = new UdpMux(shared)
    const node = new DHT({ socket: mux.dht })
    const server = new UtpSocketManager(mux.utp)
    const other = new DHT({ host: '127.0.0.1' })
    const clientSock = await UdpSocket.bind({ host: '127.0.0.1' })
    const client = new UtpSocketManager(clientSock)
    try {
      await node.listen()
      const otherAt = await other.listen()
      server.on('connection', (s) => s.pipe(s))
      const stream = await client.dial(shared.address())
      const echoed = new Promise<string>((r) => stream.once('data', (d: Buffer) => r(d.toString())))
      stream.write('utp beside the dht')
      // Both directions of KRPC through the shared port while the uTP connection is open.
      const [fromOther, fromShared] = await Promise.all([other.ping(shared.address()), node.ping(otherAt)])
      assert.deepEqual(fromOther.id, node.id)
      assert.deepEqual(fromShared.id, other.id)
      assert.equal(await echoed, 'utp beside the dht')
      assert.ok(mux.stats.dht >= 2)
      assert.ok(mux.stats.utp >= 2)
      assert.equal(mux.stats.unclaimed, 0)
      stream.end()
      await new Promise((r) => stream.once('close', r))
    } finally {
      await client.close()
      await server.close()
      await node.destroy()
      await other.destroy()
      await clientSock.close()
      await mux.close()
    }
  })
})
