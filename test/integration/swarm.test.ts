// Swarm housekeeping over real TCP on 127.0.0.1: self and duplicate connections, the connection limit, addStream.
import assert from 'node:assert/strict'
import { type AddressInfo, connect, createServer } from 'node:net'
import { after, describe, it } from 'node:test'
import { encodePex } from '../../src/codec/pex.js'
import { VirtualClock } from '../../src/net/sim/clock.js'
import type { Endpoint } from '../../src/net/types.js'
import { socketEndpoint } from '../../src/swarm/dialer.js'
import { Swarm } from '../../src/swarm/swarm.js'
import { WireError } from '../../src/wire/errors.js'

const IH = new Uint8Array(20).fill(0x42)

describe('Swarm', { timeout: 60_000 }, () => {
  const swarms: Swarm[] = []
  after(async () => {
    await Promise.all(swarms.map((s) => s.close()))
  })
  const make = async (opts: Partial<ConstructorParameters<typeof Swarm>[0]> = {}) => {
    const s = new Swarm({ infoHash: IH, host: '127.0.0.1', ...opts })
    swarms.push(s)
    await s.listen()
    return s
  }
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (e: unknown) => (e instanceof WireError ? e.code : String(e)),
    )

  it('refuses a connection to itself and a second connection to the same peer id', async () => {
    const a = await make()
    const b = await make()
    assert.equal(await code(a.connect(a.address as Endpoint)), 'SELF_CONNECTION')
    await a.connect(b.address as Endpoint)
    assert.equal(await code(a.connect(b.address as Endpoint)), 'DUPLICATE')
    for (let i = 0; i < 200 && (a.connections.length !== 1 || b.connections.length !== 1); i++) {
      await new Promise((r) => setTimeout(r, 10))
    }
    assert.equal(a.connections.length, 1)
    assert.equal(b.connections.length, 1)
  })

  it('enforces maxConnections on incoming and outgoing connections', async () => {
    const full = await make({ maxConnections: 1 })
    const other = await make()
    const third = await make()
    await other.connect(full.address as Endpoint)
    const rejected = await code(third.connect(full.address as Endpoint))
    // The full swarm destroys the socket: we see an end, or a reset if our handshake was still in flight.
    assert.ok(rejected === 'STREAM_ENDED' || rejected === 'STREAM_ERROR', rejected)
    assert.equal(full.stats.refusedForLimit, 1)
    assert.equal(await code(full.connect(third.address as Endpoint)), 'CONNECTION_LIMIT')
  })

  it('adopts a stream from any transport through addStream', async () => {
    const a = await make()
    const b = await make()
    const sock = connect((b.address as Endpoint).port, '127.0.0.1')
    await new Promise((r) => sock.once('connect', r))
    const conn = a.addStream(sock, {
      remote: b.address as Endpoint,
      local: socketEndpoint(sock.localAddress, sock.localPort),
      transport: 'utp', // any label: the swarm does not care what carries the bytes
      direction: 'outgoing',
    })
    assert.ok(conn)
    await new Promise((r) => conn.once('handshake', r))
    assert.deepEqual(conn.remotePeerId, b.peerId)
    assert.equal(conn.transport, 'utp')
  })

  it('bound to the wildcard address, still learns PEX peers on its own port number at other hosts', {
    timeout: 10_000,
  }, async () => {
    const wild = await make({ host: '0.0.0.0' })
    const port = (wild.address as Endpoint).port
    const other = await make()
    const conn = await other.connect({ host: '127.0.0.1', port })
    await new Promise((r) => setTimeout(r, 50))
    const learnt = new Promise<Endpoint>((resolve) => wild.once('peer', (p) => resolve({ host: p.host, port: p.port })))
    // 127.0.0.7 is another host for this purpose; the same port number there is not us.
    conn.sendExtended('ut_pex', encodePex({ added: [{ host: '127.0.0.7', port, flags: 0 }], dropped: [] }))
    assert.deepEqual(await learnt, { host: '127.0.0.7', port })
    // Our own endpoint as the connection sees it is still recognised and skipped.
    assert.ok(wild.selfEndpoints().some((e) => e.host === '127.0.0.1' && e.port === port))
  })

  it('connect() gives up when its signal aborts or the swarm closes, even while the handshake is awaited', async () => {
    // A peer that accepts the TCP connection and never says a word.
    const silent = createServer((sock) => sock.on('error', () => {}))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
    const at = { host: '127.0.0.1', port: (silent.address() as AddressInfo).port }
    try {
      // On clocks that never move no handshake or dial timeout can fire: only the abort and close() end these.
      const a = await make({ clock: new VirtualClock() })
      const ac = new AbortController()
      setTimeout(() => ac.abort(), 100)
      await assert.rejects(a.connect(at, { signal: ac.signal }))
      const b = new Swarm({ infoHash: IH, host: '127.0.0.1', clock: new VirtualClock() })
      await b.listen()
      const pending = a.connect(at).catch((e: Error) => e)
      const dialing = b.connect(at).catch((e: Error) => e)
      await new Promise((r) => setTimeout(r, 100))
      await b.close()
      assert.ok((await dialing) instanceof WireError)
      assert.equal(b.connections.length, 0)
      await a.close()
      assert.ok((await pending) instanceof WireError)
    } finally {
      silent.close()
    }
  })
})
