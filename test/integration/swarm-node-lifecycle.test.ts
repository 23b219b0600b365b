// SwarmNode on real sockets (127.0.0.x): closing while it starts or while silent peers hold connections, and
// silent connections from one address that must not lock everyone else out.
import assert from 'node:assert/strict'
import { connect, createServer, type Socket } from 'node:net'
import { describe, it } from 'node:test'
import { encodeHandshake, makeReserved } from '../../src/codec/peer-wire.js'
import { VirtualClock } from '../../src/net/sim/clock.js'
import { UdpSocket } from '../../src/net/udp.js'
import { SwarmNode } from '../../src/swarm/node.js'

const IH = new Uint8Array(20).fill(0x5a)

function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s))
    s.once('error', reject)
  })
}

describe('SwarmNode lifecycle on 127.0.0.1', { timeout: 30_000 }, () => {
  it('close() during listen() leaves nothing bound: listen rejects, the port is free again', async () => {
    const node = new SwarmNode({ host: '127.0.0.1', dht: false })
    const started = node.listen()
    await node.close()
    await assert.rejects(started, (e: Error & { code?: string }) => e.code === 'LOCAL_CLOSE')
    const port = node.address?.port
    assert.ok(port)
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    await new Promise<void>((r) => server.close(() => r()))
    const udp = await UdpSocket.bind({ host: '127.0.0.1', port })
    await udp.close()
  })

  it('close() does not wait for a connected peer that never sends its handshake', async () => {
    // On a clock that never moves the handshake timeout cannot fire: close() ends only if it does not wait for it.
    const node = new SwarmNode({ host: '127.0.0.1', dht: false, clock: new VirtualClock() })
    const { port } = await node.listen()
    node.add(IH)
    const silent = await open(port)
    silent.on('error', () => {})
    await new Promise((r) => setTimeout(r, 50)) // let the node accept it (nothing public to wait on)
    await node.close()
    silent.destroy()
  })

  it('silent connections from one address take at most 8 pending slots; another address still gets in', async () => {
    const node = new SwarmNode({ host: '0.0.0.0', dht: false, portmap: false })
    const { port } = await node.listen()
    node.add(IH)
    const sockets: Socket[] = []
    try {
      for (let i = 0; i < 12; i++) {
        const s = await open(port)
        s.on('error', () => {})
        sockets.push(s)
      }
      await new Promise((r) => setTimeout(r, 100))
      assert.equal(node.stats.incomingRefused, 4)
      // A peer from another address completes its handshake.
      const connected = new Promise((resolve) => node.once('connected', resolve))
      const other = await open(port, '127.0.0.2')
      sockets.push(other)
      other.on('error', () => {})
      other.write(
        encodeHandshake({
          reserved: makeReserved({ extension: true }),
          infoHash: IH,
          peerId: new Uint8Array(20).fill(0x77),
        }),
      )
      await connected
    } finally {
      for (const s of sockets) s.destroy()
      await node.close()
    }
  })
})
