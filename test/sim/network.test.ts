import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { NetError } from '../../src/net/errors.js'
import { SIM_IPV4_HOSTS, simIPv4, simIPv6 } from '../../src/net/sim/addresses.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { SimSocket } from '../../src/net/sim/socket.js'
import type { Endpoint } from '../../src/net/types.js'

interface Got {
  data: Uint8Array
  from: Endpoint
  at: number
}

function collect(net: SimNetwork, s: SimSocket): Got[] {
  const got: Got[] = []
  s.setReceiver((data, from) => got.push({ data, from, at: net.clock.now() }))
  return got
}

/** Sends `n` numbered datagrams (4-byte big-endian index) from a to b, one per `gapMs`. */
async function burst(net: SimNetwork, a: SimSocket, b: SimSocket, n: number, gapMs = 0, size = 4): Promise<void> {
  for (let i = 0; i < n; i++) {
    const buf = new Uint8Array(size)
    new DataView(buf.buffer).setUint32(0, i)
    a.send(buf, b.address())
    if (gapMs > 0) await net.clock.runFor(gapMs)
  }
}

const index = (g: Got) => new DataView(g.data.buffer, g.data.byteOffset).getUint32(0)

describe('SimNetwork basics', () => {
  it('delivers after the configured latency with the sender as source', async () => {
    const net = new SimNetwork({ defaults: { latencyMs: 25 } })
    const a = net.bind('198.51.100.1', 6881)
    const b = net.bind('198.51.100.2', 6881)
    const got = collect(net, b)
    await net.clock.runFor(5)
    a.send(new Uint8Array([1, 2, 3]), { host: '198.51.100.2', port: 6881 })
    await net.clock.runUntilIdle()
    assert.equal(got.length, 1)
    assert.deepEqual([...got[0].data], [1, 2, 3])
    assert.deepEqual(got[0].from, { host: '198.51.100.1', port: 6881 })
    assert.equal(got[0].at, 30)
    assert.equal(net.stats().delivered, 1)
  })

  it('delivers a copy: the sender may reuse its buffer at once', async () => {
    const net = new SimNetwork()
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2')
    const got = collect(net, b)
    const buf = new Uint8Array([7, 7, 7])
    a.send(buf, b.address())
    buf.fill(0)
    a.send(buf.subarray(0, 2), b.address())
    await net.clock.runUntilIdle()
    assert.deepEqual(
      got.map((g) => [...g.data]),
      [
        [7, 7, 7],
        [0, 0],
      ],
    )
    assert.notEqual(got[0].data.buffer, buf.buffer)
  })

  it('binds ephemeral ports, refuses a taken port with EADDRINUSE, frees it on close', async () => {
    const net = new SimNetwork()
    const ports = new Set<number>()
    for (let i = 0; i < 100; i++) {
      const s = net.bind('198.51.100.9')
      assert.ok(s.port >= 49152 && s.port <= 65535)
      ports.add(s.port)
    }
    assert.equal(ports.size, 100)
    const s = net.bind('198.51.100.10', 6881)
    assert.throws(
      () => net.bind('198.51.100.10', 6881),
      (e: unknown) => e instanceof NetError && e.code === 'EADDRINUSE',
    )
    await s.close()
    await s.close()
    net.bind('198.51.100.10', 6881)
    assert.throws(() => net.bind('not-an-ip'), { code: 'EINVAL' })
    assert.throws(() => net.bind('0.0.0.0'), { code: 'EINVAL' })
  })

  it('counts unroutable, no-listener, unhandled and rejected sends; never throws', async () => {
    const net = new SimNetwork()
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2', 1000)
    a.send(new Uint8Array(1), { host: '203.0.113.99', port: 1 }) // nobody there
    a.send(new Uint8Array(1), { host: '198.51.100.2', port: 1001 }) // nothing bound
    a.send(new Uint8Array(1), { host: '198.51.100.2', port: 1000 }) // bound, no receiver
    a.send(new Uint8Array(1), { host: 'example.org', port: 1 })
    a.send(new Uint8Array(1), { host: '198.51.100.2', port: 0 })
    a.send(new Uint8Array(1), { host: '2001:db8::1', port: 1 }) // v6 from a v4 socket
    a.send(new Uint8Array(70_000), b.address())
    await a.close()
    a.send(new Uint8Array(1), b.address())
    await net.clock.runUntilIdle()
    const st = net.stats()
    assert.equal(st.dropped.unroutable, 1)
    assert.equal(st.dropped.noListener, 1)
    assert.equal(st.unhandled, 1)
    assert.equal(st.rejected, 5)
    assert.equal(a.stats().sendRejected, 5)
    assert.equal(b.stats().unhandled, 1)
  })

  it('drops datagrams in flight to a socket closed before they arrive', async () => {
    const net = new SimNetwork()
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2', 5000)
    const got = collect(net, b)
    a.send(new Uint8Array(1), b.address())
    await b.close()
    const b2 = net.bind('198.51.100.2', 5001)
    a.send(new Uint8Array(1), b2.address())
    await net.clock.runUntilIdle()
    assert.equal(got.length, 0)
    assert.equal(net.stats().dropped.noListener, 1)
    assert.equal(net.stats().unhandled, 1)
  })

  it('gives each receiver its own bytes, even when copies share a slab', async () => {
    const net = new SimNetwork()
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2')
    const got = collect(net, b)
    for (let i = 0; i < 100; i++) a.send(new Uint8Array(13).fill(i), b.address())
    await net.clock.runUntilIdle()
    // Receivers may scribble on their own copy: every other datagram must stay intact.
    for (let i = 0; i < got.length; i += 2) got[i].data.fill(0xff)
    got.forEach((g, i) => {
      assert.equal(g.data.length, 13)
      assert.equal(g.data.byteOffset % 8, 0, 'aligned')
      assert.ok(
        g.data.every((x) => x === (i % 2 === 0 ? 0xff : i)),
        `datagram ${i} intact`,
      )
    })
  })

  it('catches and counts receiver exceptions and keeps delivering', async () => {
    const net = new SimNetwork()
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2')
    let n = 0
    b.setReceiver(() => {
      n++
      throw new Error('bad handler')
    })
    await burst(net, a, b, 3)
    await net.clock.runUntilIdle()
    assert.equal(n, 3)
    assert.equal(b.stats().receiverErrors, 3)
  })

  it('speaks IPv6 with canonical host spelling and maps v4-mapped destinations on v4 sockets', async () => {
    const net = new SimNetwork()
    const a = net.bind('2001:db8::a')
    const b = net.bind('2001:DB8:0:0::b', 6881)
    assert.equal(b.family, 6)
    assert.equal(b.address().host, '2001:db8::b')
    const got = collect(net, b)
    a.send(new Uint8Array([6]), { host: '2001:0db8::B', port: 6881 })
    const v4a = net.bind('198.51.100.1')
    const v4b = net.bind('198.51.100.2', 7000)
    const got4 = collect(net, v4b)
    v4a.send(new Uint8Array([4]), { host: '::ffff:198.51.100.2', port: 7000 })
    await net.clock.runUntilIdle()
    assert.equal(got.length, 1)
    assert.equal(got[0].from.host, '2001:db8::a')
    assert.equal(got4.length, 1)
  })

  it('drops datagrams over the path MTU (28 bytes of v4 headers, 48 of v6)', async () => {
    const net = new SimNetwork()
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2')
    const got = collect(net, b)
    a.send(new Uint8Array(1472), b.address())
    a.send(new Uint8Array(1473), b.address())
    const a6 = net.bind('2001:db8::1')
    const b6 = net.bind('2001:db8::2')
    const got6 = collect(net, b6)
    a6.send(new Uint8Array(1452), b6.address())
    a6.send(new Uint8Array(1453), b6.address())
    await net.clock.runUntilIdle()
    assert.deepEqual(
      got.map((g) => g.data.length),
      [1472],
    )
    assert.deepEqual(
      got6.map((g) => g.data.length),
      [1452],
    )
    assert.equal(net.stats().dropped.mtu, 2)
  })
})

describe('SimNetwork conditions (seeded, deterministic)', () => {
  async function lossyRun(seed: number) {
    const net = new SimNetwork({ random: new SeededRandom(seed), defaults: { loss: 0.1, duplicate: 0.05 } })
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2')
    const got = collect(net, b)
    await burst(net, a, b, 10_000)
    await net.clock.runUntilIdle()
    return { stats: net.stats(), got: got.map(index) }
  }

  it('loses and duplicates at the configured rates, identically for one seed', async () => {
    const r1 = await lossyRun(11)
    const r2 = await lossyRun(11)
    const r3 = await lossyRun(12)
    assert.deepEqual(r1, r2)
    assert.notDeepEqual(r1.got, r3.got)
    const { stats } = r1
    assert.ok(stats.dropped.loss > 850 && stats.dropped.loss < 1150, `lost ${stats.dropped.loss}`)
    assert.ok(stats.duplicated > 350 && stats.duplicated < 560, `duplicated ${stats.duplicated}`)
    assert.equal(stats.delivered, 10_000 - stats.dropped.loss + stats.duplicated)
    assert.equal(r1.got.length, stats.delivered)
  })

  it('keeps FIFO order without jitter or reorder; reorders with reorder > 0', async () => {
    const run = async (reorder: number) => {
      const net = new SimNetwork({ random: new SeededRandom(5), defaults: { reorder } })
      const a = net.bind('198.51.100.1')
      const b = net.bind('198.51.100.2')
      const got = collect(net, b)
      await burst(net, a, b, 2000, 0.1)
      await net.clock.runUntilIdle()
      const seq = got.map(index)
      let inversions = 0
      for (let i = 1; i < seq.length; i++) if (seq[i] < seq[i - 1]) inversions++
      return { inversions, n: seq.length }
    }
    const fifo = await run(0)
    assert.deepEqual(fifo, { inversions: 0, n: 2000 })
    const shuffled = await run(0.1)
    assert.equal(shuffled.n, 2000)
    assert.ok(shuffled.inversions > 50, `inversions ${shuffled.inversions}`)
  })

  it('adds jitter within [latency, latency + jitter)', async () => {
    const net = new SimNetwork({ defaults: { latencyMs: 20, jitterMs: 10 } })
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2')
    const got = collect(net, b)
    await burst(net, a, b, 500)
    await net.clock.runUntilIdle()
    const delays = got.map((g) => g.at)
    assert.ok(delays.every((d) => d >= 20 && d < 30))
    assert.ok(Math.max(...delays) - Math.min(...delays) > 8, 'jitter spreads the delays')
  })

  it('applies per-host access links and per-link overrides', async () => {
    const net = new SimNetwork({ defaults: { latencyMs: 10 } })
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2')
    const c = net.bind('198.51.100.3')
    const gotB = collect(net, b)
    const gotC = collect(net, c)
    net.host('198.51.100.2').setConditions({ latencyMs: 5 })
    net.setLinkConditions('198.51.100.1', '198.51.100.3', { latencyMs: 100 })
    a.send(new Uint8Array(1), b.address())
    a.send(new Uint8Array(1), c.address())
    await net.clock.runUntilIdle()
    assert.equal(gotB[0].at, 15)
    assert.equal(gotC[0].at, 100)
    net.host('198.51.100.3').setConditions({ loss: 1 })
    a.send(new Uint8Array(1), c.address())
    await net.clock.runUntilIdle()
    assert.equal(gotC.length, 1)
    assert.equal(net.stats().dropped.loss, 1)
  })

  it('serialises through a bandwidth-limited access link and drops when its queue is full', async () => {
    const net = new SimNetwork({ defaults: { latencyMs: 10 } })
    const a = net.bind('198.51.100.1')
    const b = net.bind('198.51.100.2')
    net.host('198.51.100.1').setConditions({ bandwidthBps: 1_000_000, queueBytes: 10_000 })
    const got = collect(net, b)
    await burst(net, a, b, 50, 0, 972) // 1000 bytes on the wire = 8 ms each at 1 Mbit/s
    await net.clock.runUntilIdle()
    assert.equal(net.stats().dropped.queue, 50 - got.length)
    assert.ok(got.length >= 10 && got.length <= 12, `delivered ${got.length}`)
    const gaps = got.slice(1).map((g, i) => g.at - got[i].at)
    for (const gap of gaps) assert.ok(Math.abs(gap - 8) < 1e-9, `gap ${gap}`)
  })
})

describe('simulated address plans', () => {
  it('simIPv4 / simIPv6 give distinct canonical addresses that bind', () => {
    assert.equal(simIPv4(0), '198.18.0.1')
    assert.equal(simIPv4(255), '198.18.1.0')
    assert.equal(simIPv4(SIM_IPV4_HOSTS - 1), '198.19.255.254')
    assert.throws(() => simIPv4(SIM_IPV4_HOSTS), RangeError)
    assert.equal(simIPv6(0), '2001:db8::1')
    assert.equal(simIPv6(65535), '2001:db8::1:0')
    const net = new SimNetwork()
    const seen = new Set<string>()
    for (const i of [0, 1, 254, 255, 256, 65534, 65535, 65536, 100_000]) {
      for (const ip of [simIPv4(i), simIPv6(i)]) {
        assert.equal(net.bind(ip).address().host, ip, 'already canonical')
        seen.add(ip)
      }
    }
    assert.equal(seen.size, 18)
  })
})
