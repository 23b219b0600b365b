// Simulated TCP (net/sim/tcp.ts) between two internet hosts: the handshake takes the link's latency, bytes arrive
// in order and intact (also with jitter and loss), a SYN to a closed port is reset, an unanswered SYN times out on
// Linux's schedule, half-close, resets, and back-pressure through the receive window.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import type { NetError } from '../../src/net/errors.js'
import { SimNetwork, type SimNetworkOptions } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { StreamSocket } from '../../src/net/types.js'

const A = '198.51.100.1'
const B = '203.0.113.2'

function world(opts: SimNetworkOptions = {}) {
  const net = new SimNetwork({ random: new SeededRandom(5), defaults: { latencyMs: 20 }, ...opts })
  return { net, clock: net.clock, a: net.tcp(A), b: net.tcp(B) }
}

/** Collects what a socket reads, until its end. */
function reader(s: StreamSocket) {
  const chunks: Buffer[] = []
  const ended = new Promise<Buffer>((resolve, reject) => {
    s.on('data', (c: Buffer) => chunks.push(c))
    s.once('end', () => resolve(Buffer.concat(chunks)))
    s.once('error', reject)
  })
  return { chunks, ended, bytes: () => chunks.reduce((n, c) => n + c.length, 0) }
}

const errCode = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  )

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 8)) & 0xff
  return b
}

describe('simulated TCP', { timeout: 30_000 }, () => {
  it('connects in one round trip, accepts after the ACK, and carries bytes both ways with the link latency', async () => {
    const { clock, a, b } = world()
    const accepted: { sock: StreamSocket; at: number }[] = []
    const listener = await b.listen({ port: 6881 }, (sock) => accepted.push({ sock, at: clock.now() }))
    assert.deepEqual(listener.address(), { host: B, port: 6881 })
    const connecting = a.connect({ host: B, port: 6881 })
    const c = await clock.settle(connecting)
    assert.equal(clock.now(), 40, 'SYN and SYN-ACK: one round trip')
    await clock.runFor(20)
    assert.equal(accepted.length, 1)
    assert.equal(accepted[0].at, 60, 'the listener has the connection once the ACK arrived')
    const s = accepted[0].sock
    assert.equal(s.remoteAddress, A)
    assert.equal(s.remotePort, c.localPort)
    assert.equal(c.remoteAddress, B)
    assert.equal(c.remotePort, 6881)
    const got = new Promise<{ data: Buffer; at: number }>((r) =>
      s.once('data', (d: Buffer) => r({ data: d, at: clock.now() })),
    )
    c.write(Buffer.from('hello'))
    const g = await clock.settle(got)
    assert.equal(g.data.toString(), 'hello')
    assert.equal(g.at, 80)
    const back = new Promise<Buffer>((r) => c.once('data', r))
    s.write('world')
    assert.equal((await clock.settle(back)).toString(), 'world')
    c.destroy()
    s.destroy()
    await clock.settle(listener.close())
    await clock.runUntilIdle()
    assert.equal(a.stats().connections, 0)
    assert.equal(b.stats().connections, 0)
  })

  it('a SYN to a port where nothing listens is answered by a reset: ECONNREFUSED after one round trip', async () => {
    const { clock, a, b } = world()
    const r = await clock.settle(errCode(a.connect({ host: B, port: 1234 })))
    assert.equal(r, 'ECONNREFUSED')
    assert.equal(clock.now(), 40)
    assert.equal(b.stats().refused, 1)
    assert.equal(a.stats().connections, 0)
  })

  it('an unanswered SYN is re-sent at 1, 2, 4… s and the connect fails with ETIMEDOUT after 127 s', async () => {
    const { net, clock, a } = world()
    const r = await clock.settle(errCode(a.connect({ host: '203.0.113.99', port: 80 })))
    assert.equal(r, 'ETIMEDOUT')
    assert.equal(clock.now(), 127_000)
    assert.equal(net.tcpStats().dropped.unroutable, 7, 'the first SYN and six re-sends')
    assert.equal(a.stats().connections, 0)
  })

  it('a connect stops at once when its signal aborts; nothing is left behind', async () => {
    const { clock, a } = world()
    const ac = new AbortController()
    clock.setTimeout(() => ac.abort(new Error('enough')), 2500)
    const p = a.connect({ host: '203.0.113.99', port: 80 }, { signal: ac.signal })
    await assert.rejects(clock.settle(p), /enough/)
    assert.equal(clock.now(), 2500)
    assert.equal(a.stats().connections, 0)
    await clock.runUntilIdle()
    assert.equal(clock.now(), 2500, 'no SYN timer left running')
  })

  it('half-close: the writer ends, the other side reads to the end and still answers', async () => {
    const { clock, a, b } = world()
    let server: StreamSocket | undefined
    await b.listen({ port: 80, allowHalfOpen: true }, (s) => {
      server = s
      const r = reader(s)
      r.ended.then((req) => {
        // Our reading side ended; our writing side is still open.
        s.write(`got ${req.length} bytes`)
        s.end()
      })
    })
    const c = await clock.settle(a.connect({ host: B, port: 80 }, { allowHalfOpen: true }))
    const r = reader(c)
    c.end(pattern(100_000, 1))
    const reply = await clock.settle(r.ended)
    assert.equal(reply.toString(), 'got 100000 bytes')
    await clock.runUntilIdle()
    assert.ok(c.destroyed && server?.destroyed, 'both ends closed once both FINs went')
    assert.equal(a.stats().connections + b.stats().connections, 0)
    assert.equal(a.stats().resets + b.stats().resets, 0, 'a clean close: no reset')
  })

  it('resetAndDestroy resets the peer (ECONNRESET); destroy with unread data beyond the high-water mark too', async () => {
    const { clock, a, b } = world()
    const servers: StreamSocket[] = []
    await b.listen({ port: 80 }, (s) => servers.push(s))
    const c1 = await clock.settle(a.connect({ host: B, port: 80 }))
    await clock.runUntil(() => servers.length === 1)
    const e1 = new Promise<NetError>((r) => servers[0].once('error', r))
    c1.resetAndDestroy()
    const err = await clock.settle(e1)
    assert.equal(err.code, 'ECONNRESET')

    const c2 = await clock.settle(a.connect({ host: B, port: 80 }))
    await clock.runUntil(() => servers.length === 2)
    const s2 = servers[1]
    s2.pause() // the server never reads
    c2.write(Buffer.alloc(100_000))
    await clock.runFor(100)
    assert.ok(s2.readableLength > s2.readableHighWaterMark, 'more than Node would take from the kernel')
    const e2 = new Promise<NetError>((r) => c2.once('error', r))
    s2.destroy()
    assert.equal((await clock.settle(e2)).code, 'ECONNRESET')

    // With only a little unread (Node took it from the kernel already), closing is a FIN, not a reset.
    const c3 = await clock.settle(a.connect({ host: B, port: 80 }))
    await clock.runUntil(() => servers.length === 3)
    servers[2].pause()
    c3.write('unread')
    await clock.runFor(100)
    const ended = new Promise<void>((r) => c3.once('end', r))
    c3.resume()
    servers[2].destroy()
    await clock.settle(ended)
    c3.destroy()
    await clock.runUntilIdle()
    assert.equal(a.stats().connections + b.stats().connections, 0)
  })

  it('back-pressure: a reader that stops reading stops the writer at the receive window', async () => {
    const { clock, a, b } = world({ tcp: { receiveWindow: 64 * 1024 } })
    let server: StreamSocket | undefined
    await b.listen({ port: 80 }, (s) => {
      server = s
      s.pause()
    })
    const c = await clock.settle(a.connect({ host: B, port: 80 }))
    const data = pattern(1 << 20, 7)
    let drained = 0
    c.on('drain', () => drained++)
    const drain = new Promise((r) => c.once('drain', r))
    let accepted = true
    for (let off = 0; off < data.length; off += 16 * 1024) accepted = c.write(data.subarray(off, off + 16 * 1024))
    assert.equal(accepted, false, 'write() says stop')
    await clock.runFor(5000)
    const s = server!
    assert.ok(s.readableLength <= 64 * 1024, `the reader holds at most the window (${s.readableLength})`)
    assert.ok(s.readableLength >= 48 * 1024, 'and the writer filled it')
    assert.ok(c.writableLength >= data.length - 80 * 1024, 'the rest waits at the writer')
    assert.equal(drained, 0)
    const r = reader(s)
    s.resume()
    await clock.settle(drain)
    c.end()
    const all = await clock.settle(r.ended)
    assert.equal(createHash('sha1').update(all).digest('hex'), createHash('sha1').update(data).digest('hex'))
  })

  it('bytes arrive in order and intact with jitter and loss (a loss costs a retransmission timeout)', async () => {
    const { net, clock, a, b } = world({ defaults: { latencyMs: 30, jitterMs: 25, loss: 0.05 } })
    const data = pattern(3 << 20, 3)
    const got = new Promise<Buffer>((resolve) => {
      b.listen({ port: 80 }, (s) => reader(s).ended.then(resolve))
    })
    // SYNs may be lost too: retried by the SYN timer.
    const c = await clock.settle(a.connect({ host: B, port: 80 }))
    for (let off = 0; off < data.length; off += 100_000) c.write(data.subarray(off, off + 100_000))
    c.end()
    const all = await clock.settle(got)
    assert.equal(all.length, data.length)
    assert.ok(all.equals(data), 'every byte in order')
    assert.ok(net.tcpStats().retransmits > 0, 'some segments were lost and re-sent')
  })

  it('listening: a port is taken once; wildcard and own addresses are ours, others are not', async () => {
    const { clock, a } = world()
    const l = await a.listen({ host: '0.0.0.0', port: 7000 }, () => {})
    await assert.rejects(
      a.listen({ port: 7000 }, () => {}),
      (e: NetError) => e.code === 'EADDRINUSE',
    )
    await assert.rejects(
      a.listen({ host: B, port: 7001 }, () => {}),
      (e: NetError) => e.code === 'EADDRNOTAVAIL',
    )
    const any = await a.listen({ host: A }, () => {})
    assert.ok(any.address().port >= 32768)
    await assert.rejects(a.connect({ host: 'example.org', port: 80 }), (e: NetError) => e.code === 'EINVAL')
    await l.close()
    await any.close()
    const again = await a.listen({ port: 7000 }, () => {})
    await again.close()
    await clock.runUntilIdle()
  })

  it('IPv6 hosts connect over v6; a v4 host reaches a v4-mapped address as v4', async () => {
    const net = new SimNetwork({ random: new SeededRandom(6) })
    const six = net.tcp('2001:db8::2')
    const got: StreamSocket[] = []
    await six.listen({ host: '::', port: 80 }, (s) => got.push(s))
    const c = await net.clock.settle(net.tcp('2001:DB8:0::1').connect({ host: '2001:db8:0::2', port: 80 }))
    assert.equal(c.remoteAddress, '2001:db8::2')
    await net.clock.runUntil(() => got.length === 1)
    assert.equal(got[0].remoteAddress, '2001:db8::1')
    await assert.rejects(net.tcp(A).connect({ host: '2001:db8::2', port: 80 }), (e: NetError) => e.code === 'EINVAL')
    await net.tcp(B).listen({ port: 80 }, (s) => s.destroy())
    const m = await net.clock.settle(net.tcp(A).connect({ host: `::ffff:${B}`, port: 80 }))
    assert.equal(m.remoteAddress, B)
    for (const s of [c, got[0], m]) s.destroy()
    await net.clock.runUntilIdle()
  })

  it('a full backlog drops SYNs (the connector re-sends); a throwing handler resets its connection', async () => {
    const { clock, a, b, net } = world()
    const accepted: StreamSocket[] = []
    await b.listen({ port: 80, backlog: 1 }, (s) => accepted.push(s))
    const c3 = net.tcp('198.51.100.3')
    const [x, y] = await clock.settle(
      Promise.all([a.connect({ host: B, port: 80 }), c3.connect({ host: B, port: 80 })]),
    )
    assert.equal(b.stats().backlogDrops, 1, 'the second SYN found the backlog full')
    assert.ok(clock.now() >= 1000, 'its connect waited for the SYN re-sent at 1 s')
    await clock.runUntil(() => accepted.length === 2)

    await b.listen({ port: 81 }, () => {
      throw new Error('handler bug')
    })
    const z = await clock.settle(a.connect({ host: B, port: 81 }))
    const reset = new Promise<string | undefined>((r) => z.once('error', (e: NetError) => r(e.code)))
    assert.equal(await clock.settle(reset), 'ECONNRESET')
    assert.equal(b.stats().handlerErrors, 1)
    for (const s of [x, y, ...accepted]) s.destroy()
    await clock.runUntilIdle()
  })
})
