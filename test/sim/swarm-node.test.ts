// SwarmNode basics on net/sim: one port serves several torrents (incoming streams routed by the info hash of their
// handshake); a stream for a torrent we do not serve is refused.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import { SwarmNode } from '../../src/swarm/node.js'

describe('SwarmNode on net/sim', { timeout: 30_000 }, () => {
  it('routes incoming connections to the torrent their handshake names; refuses unknown torrents', async () => {
    const random = new SeededRandom(7)
    const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs: 10 } })
    const clock = net.clock
    const make = (ip: string) =>
      new SwarmNode({
        socket: net.bind(ip, 6881),
        clock,
        random: random.fork(),
        dht: false,
        utp: { defer: (fn) => clock.setTimeout(fn, 0) },
      })
    const server = make('198.51.100.10')
    const client = make('198.51.100.20')
    const stop = clock.autoAdvance()
    try {
      await server.listen()
      await client.listen()
      const [one, two, other] = [1, 2, 3].map((i) => new Uint8Array(20).fill(i))
      server.add(one)
      server.add(two)
      for (const ih of [one, two, other]) client.add(ih)
      const at = { host: '198.51.100.10', port: 6881 }
      const c1 = await client.connect(one, at)
      const c2 = await client.connect(two, at)
      assert.equal(c1.transport, 'utp')
      assert.equal(server.get(one)!.connections.length, 1)
      assert.equal(server.get(two)!.connections.length, 1)
      assert.deepEqual(server.get(two)!.connections[0].infoHash, two)
      assert.notEqual(c1, c2)
      await assert.rejects(client.connect(other, at))
      assert.equal(server.stats.incomingUnknownTorrent, 1)
    } finally {
      stop()
      await client.close()
      await server.close()
    }
  })

  it('two peers dialing each other at once keep exactly one connection, the same one at both ends', async () => {
    const ih = new Uint8Array(20).fill(0xab)
    for (const [seed, idA, idB] of [
      [1, 0x0a, 0x0b],
      [2, 0x0a, 0x0b],
      [3, 0xf0, 0x01],
    ]) {
      const random = new SeededRandom(seed)
      const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs: 20, jitterMs: 2 } })
      const clock = net.clock
      const make = (ip: string, id: number) =>
        new SwarmNode({
          socket: net.bind(ip, 6881),
          clock,
          random: random.fork(),
          peerId: new Uint8Array(20).fill(id),
          dht: false,
          utp: { defer: (fn) => clock.setTimeout(fn, 0) },
          swarm: { autoDial: false },
        })
      const a = make('198.51.100.1', idA)
      const b = make('203.0.113.1', idB)
      const stop = clock.autoAdvance()
      try {
        await a.listen()
        await b.listen()
        a.add(ih)
        b.add(ih)
        const code = (p: Promise<unknown>) =>
          p.then(
            () => 'ok',
            (e: { code?: string }) => e.code,
          )
        const results = await Promise.all([
          code(a.get(ih)!.connect({ host: '203.0.113.1', port: 6881 })),
          code(b.get(ih)!.connect({ host: '198.51.100.1', port: 6881 })),
        ])
        await new Promise<void>((r) => clock.setTimeout(r, 3000))
        // The connection the greater peer id dialed is kept; the other dial is refused as a duplicate.
        const greaterIsA = idA > idB
        assert.deepEqual(results, greaterIsA ? ['ok', 'DUPLICATE'] : ['DUPLICATE', 'ok'], `seed ${seed}`)
        const [ca] = a.get(ih)!.connections
        const [cb] = b.get(ih)!.connections
        assert.equal(a.get(ih)!.connections.length, 1)
        assert.equal(b.get(ih)!.connections.length, 1)
        assert.equal(ca.direction, greaterIsA ? 'outgoing' : 'incoming')
        assert.equal(cb.direction, greaterIsA ? 'incoming' : 'outgoing')
        const got = new Promise<number>((resolve) => cb.once('have', (m) => resolve(m.index)))
        ca.send({ type: 'have', index: 3 })
        assert.equal(await got, 3, 'both ends hold the same connection')
      } finally {
        stop()
        await a.close()
        await b.close()
      }
    }
  })

  it('one public address gets at most 3 connections to a torrent; others still get in', async () => {
    const ih = new Uint8Array(20).fill(0xcd)
    const random = new SeededRandom(11)
    const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs: 10 } })
    const clock = net.clock
    const make = (ip: string, port: number) =>
      new SwarmNode({
        socket: net.bind(ip, port),
        clock,
        random: random.fork(),
        dht: false,
        utp: { defer: (fn) => clock.setTimeout(fn, 0) },
        swarm: { autoDial: false },
      })
    const server = make('198.51.100.10', 6881)
    const crowd = [1, 2, 3, 4, 5].map((i) => make('203.0.113.9', 7000 + i))
    const other = make('198.51.100.20', 6881)
    const stop = clock.autoAdvance()
    try {
      for (const n of [server, ...crowd, other]) {
        await n.listen()
        n.add(ih)
      }
      const at = { host: '198.51.100.10', port: 6881 }
      const results: string[] = []
      for (const c of crowd) {
        results.push(
          await c.connect(ih, at).then(
            () => 'ok',
            () => 'refused',
          ),
        )
      }
      assert.deepEqual(results, ['ok', 'ok', 'ok', 'refused', 'refused'])
      await other.connect(ih, at)
      assert.equal(server.get(ih)!.connections.length, 4)
    } finally {
      stop()
      for (const n of [server, ...crowd, other]) await n.close()
    }
  })
})
