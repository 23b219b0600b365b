// The swarm over simulated TCP: TCP-only peers (a Swarm with no uTP at all), a SwarmNode dialing TCP beside a uTP
// dial that is not answered within its head start (happy eyeballs), and a uTP and a TCP connection crossing between the same two peers (the one the greater peer
// id initiated is kept, at both ends).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { NatRouter } from '../../src/net/sim/nat.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import { TcpDialer } from '../../src/swarm/dialer.js'
import { SwarmNode } from '../../src/swarm/node.js'
import { Swarm } from '../../src/swarm/swarm.js'
import type { PeerConnection } from '../../src/wire/peer-connection.js'
import { holepunchWorld, INFO_HASH, RELAY } from '../helpers/holepunch-sim.js'

const IH = new Uint8Array(20).fill(0x5a)

function world(seed: number, latencyMs = 20) {
  const random = new SeededRandom(seed)
  const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs, jitterMs: 2 } })
  return { net, clock: net.clock, random }
}

type World = ReturnType<typeof world>

/** A SwarmNode on a host (internet, or behind `nat`) with UDP and TCP on `port`. */
function node(w: World, ip: string, id: number, nat?: NatRouter, port = 6881) {
  const where = nat ?? w.net
  return new SwarmNode({
    socket: where.bind(ip, port),
    streams: where.tcp(ip),
    clock: w.clock,
    random: w.random.fork(),
    peerId: new Uint8Array(20).fill(id),
    dht: false,
    utp: { defer: (fn) => w.clock.setTimeout(fn, 0) },
    swarm: { autoDial: false },
  })
}

/** Runs `fn` with A (on the Internet, 198.51.100.1) and `b` listening and holding IH; tears both down after. */
async function withPair(w: World, b: SwarmNode, fn: (a: SwarmNode, b: SwarmNode) => Promise<void>): Promise<void> {
  const a = node(w, '198.51.100.1', 0x0a)
  const stop = w.clock.autoAdvance()
  try {
    await a.listen()
    await b.listen()
    a.add(IH)
    b.add(IH)
    await fn(a, b)
  } finally {
    stop()
    await a.close()
    await b.close()
  }
}

/** A TCP-only peer: a Swarm listening and dialing on the host's simulated TCP, nothing on UDP. */
function tcpOnly(w: World, ip: string, id: number, nat?: NatRouter) {
  const streams = (nat ?? w.net).tcp(ip)
  return new Swarm({
    infoHash: IH,
    peerId: new Uint8Array(20).fill(id),
    host: ip,
    port: 6881,
    streams,
    clock: w.clock,
    random: w.random.fork(),
  })
}

function vsleep(w: World, ms: number): Promise<void> {
  return new Promise((resolve) => w.clock.setTimeout(resolve, ms))
}

/** Sends a `have` one way and resolves with the index the other end got. */
function haveThrough(from: PeerConnection, to: PeerConnection, index: number): Promise<number> {
  const got = new Promise<number>((resolve) => to.once('have', (m) => resolve(m.index)))
  from.send({ type: 'have', index })
  return got
}

describe('swarm over simulated TCP', { timeout: 30_000 }, () => {
  it('TCP-only peers connect, exchange messages, and a NATed one can dial out but not be dialed', async () => {
    const w = world(1)
    const a = tcpOnly(w, '198.51.100.1', 0x0a)
    const b = tcpOnly(w, '203.0.113.1', 0x0b)
    const nat = w.net.addNat({ publicIp: '203.0.113.50', type: 'port-preserving' })
    const c = tcpOnly(w, '192.0.2.7', 0x0c, nat)
    const stop = w.clock.autoAdvance()
    try {
      assert.deepEqual(await a.listen(), { host: '198.51.100.1', port: 6881 })
      await b.listen()
      await c.listen()
      const ab = await b.connect({ host: '198.51.100.1', port: 6881 })
      assert.equal(ab.transport, 'tcp')
      await vsleep(w, 100)
      const [ba] = a.connections
      assert.equal(ba.direction, 'incoming')
      assert.deepEqual(ba.remotePeerId, b.peerId)
      assert.equal(await haveThrough(ab, ba, 1), 1)
      assert.equal(await haveThrough(ba, ab, 2), 2)

      // C behind the NAT dials A: the NAT's SYN-created flow carries it; A sees the NAT's address.
      const ca = await c.connect({ host: '198.51.100.1', port: 6881 })
      await vsleep(w, 100)
      const fromC = a.connections.find((x) => x !== ba)!
      assert.equal(fromC.remote.host, '203.0.113.50')
      assert.equal(await haveThrough(ca, fromC, 3), 3)
      // Nobody can dial C: its NAT drops the SYN, and the dial times out.
      const t0 = w.clock.now()
      await assert.rejects(b.connect({ host: '203.0.113.50', port: 6881 }, { timeout: 2000 }), { code: 'TIMEOUT' })
      assert.equal(w.clock.now() - t0, 2000)
      assert.ok(nat.tcpStats().droppedNoMapping >= 2)
    } finally {
      stop()
      for (const s of [a, b, c]) await s.close()
    }
  })

  it('a SwarmNode falls back to TCP when its uTP dial fails (a peer that speaks only TCP)', async () => {
    const w = world(2)
    const a = node(w, '198.51.100.1', 0x0a)
    const b = tcpOnly(w, '203.0.113.1', 0x0b)
    const stop = w.clock.autoAdvance()
    try {
      await a.listen()
      await b.listen()
      a.add(IH)
      const failed: string[] = []
      a.on('dial_failed', (p) => failed.push(p.host))
      const t0 = w.clock.now()
      const conn = await a.connect(IH, { host: '203.0.113.1', port: 6881 })
      const took = w.clock.now() - t0
      assert.equal(conn.transport, 'tcp')
      // Happy eyeballs: TCP is dialed 1.5 s into the unanswered uTP dial, not after its whole 3 s timeout.
      assert.ok(took >= 1500 && took < 1700, `TCP dialed after the 1.5 s head start and connected (${took} ms)`)
      assert.deepEqual(failed, [])
      await vsleep(w, 100)
      const [back] = b.connections
      assert.equal(back.transport, 'tcp')
      assert.equal(await haveThrough(conn, back, 4), 4)
    } finally {
      stop()
      await a.close()
      await b.close()
    }
  })

  it('a peer that answers uTP within the head start is never dialed over TCP', async () => {
    const w = world(5)
    await withPair(w, node(w, '203.0.113.1', 0x0b), async (a, b) => {
      const conn = await a.connect(IH, { host: '203.0.113.1', port: 6881 })
      assert.equal(conn.transport, 'utp')
      await vsleep(w, 3000)
      assert.equal(w.net.tcpStats().sent, 0, 'not one TCP segment')
      assert.equal(b.get(IH)!.connections.length, 1)
    })
  })

  it('on a path slower than the head start uTP and TCP race: the first to connect is kept, the other dropped', async () => {
    // 900 ms each way: uTP's SYN-ACK is back at 1.8 s, TCP (dialed at 1.5 s) would connect at 3.3 s.
    const w = world(6, 900)
    await withPair(w, node(w, '203.0.113.1', 0x0b), async (a, b) => {
      const conn = await a.connect(IH, { host: '203.0.113.1', port: 6881 })
      assert.equal(conn.transport, 'utp', 'uTP connected first')
      assert.ok(w.net.tcpStats().sent >= 1, 'TCP was dialed beside the slow uTP dial')
      await vsleep(w, 5000)
      // The TCP attempt was abandoned: b ends with the one uTP connection, a with the one it was handed.
      const theirs = b.get(IH)!.connections
      assert.deepEqual(
        theirs.map((c) => c.transport),
        ['utp'],
      )
      assert.deepEqual(
        a.get(IH)!.connections.map((c) => c.transport),
        ['utp'],
      )
      assert.equal(await haveThrough(conn, theirs[0], 7), 7)
    })
  })

  it('a SwarmNode behind a NAT that forwards only TCP is reached over TCP after the uTP dial fails', async () => {
    const w = world(3)
    const nat = w.net.addNat({ publicIp: '203.0.113.1', type: 'port-preserving' })
    nat.forwardTcp(6881, { host: '192.0.2.2', port: 6881 })
    await withPair(w, node(w, '192.0.2.2', 0x0b, nat), async (a, b) => {
      const conn = await a.connect(IH, { host: '203.0.113.1', port: 6881 })
      assert.equal(conn.transport, 'tcp')
      await vsleep(w, 100)
      const [back] = b.get(IH)!.connections
      assert.equal(back.transport, 'tcp')
      assert.equal(back.direction, 'incoming')
      assert.deepEqual(back.remote, { host: '198.51.100.1', port: conn.local!.port })
      assert.equal(await haveThrough(back, conn, 5), 5)
      assert.equal(b.stats.incomingUnknownTorrent + b.stats.incomingBadHandshake, 0)
    })
  })

  for (const [seed, idA, idB] of [
    [4, 0x0a, 0x0b],
    [5, 0xf0, 0x01],
  ] as const) {
    it(`a uTP and a TCP connection crossing: the one the greater peer id initiated is kept (ids ${idA}/${idB})`, async () => {
      const w = world(seed)
      const a = node(w, '198.51.100.1', idA)
      const b = node(w, '203.0.113.1', idB)
      const stop = w.clock.autoAdvance()
      try {
        await a.listen()
        await b.listen()
        a.add(IH)
        const sb = b.add(IH)
        // A dials B over uTP (its node dials uTP first); B, at the same moment, dials A over TCP.
        const tcp = new TcpDialer({ network: w.net.tcp('203.0.113.1'), clock: w.clock })
        const outcome = (p: Promise<unknown>) =>
          p.then(
            () => 'ok',
            (e: { code?: string }) => e.code,
          )
        const viaTcp = tcp.dial({ host: '198.51.100.1', port: 6881 }).then((d) => {
          const conn = sb.addStream(d.stream, { ...d, direction: 'outgoing' })!
          return new Promise<void>((resolve, reject) => {
            conn.once('handshake', () => setImmediate(() => (conn.isOpen ? resolve() : reject(conn.closeReason))))
            conn.once('close', reject)
          })
        })
        const results = await Promise.all([
          outcome(a.get(IH)!.connect({ host: '203.0.113.1', port: 6881 })),
          outcome(viaTcp),
        ])
        await vsleep(w, 3000)
        const greaterIsA = idA > idB
        assert.deepEqual(results, greaterIsA ? ['ok', 'DUPLICATE'] : ['DUPLICATE', 'ok'])
        const ca = a.get(IH)!.connections
        const cb = b.get(IH)!.connections
        assert.equal(ca.length, 1, 'A keeps one connection')
        assert.equal(cb.length, 1, 'B keeps one connection')
        const kept = greaterIsA ? 'utp' : 'tcp'
        assert.equal(ca[0].transport, kept)
        assert.equal(cb[0].transport, kept, 'both ends keep the same one')
        assert.equal(ca[0].direction, greaterIsA ? 'outgoing' : 'incoming')
        assert.equal(await haveThrough(ca[0], cb[0], 6), 6)
        assert.equal(await haveThrough(cb[0], ca[0], 7), 7)
      } finally {
        stop()
        await a.close()
        await b.close()
      }
    })
  }

  it('a direct dial to a NATed peer tries uTP, then TCP (its SYNs die at the NAT), then the rendezvous', async () => {
    const w = await holepunchWorld('port-preserving', 'port-preserving', { node: { swarm: { autoDial: false } } })
    const stop = w.clock.autoAdvance()
    try {
      await w.b.connect(INFO_HASH, RELAY)
      await w.a.connect(INFO_HASH, RELAY)
      const bAt = { host: '203.0.113.1', port: 6881 }
      while (!w.a.initiator(INFO_HASH)!.supportsHolepunch(bAt))
        await new Promise<void>((r) => w.clock.setTimeout(r, 50))
      const failedAt: number[] = []
      w.a.on('dial_failed', () => failedAt.push(w.clock.now()))
      const t0 = w.clock.now()
      const before = w.nat.b.tcpStats().droppedNoMapping
      const conn = await w.a.connect(INFO_HASH, bAt)
      assert.equal(conn.transport, 'utp', 'the punched connection')
      assert.equal(failedAt.length, 1)
      assert.equal(failedAt[0] - t0, 4000, 'uTP gave up after 1 s (before the TCP head start), TCP 3 s later')
      assert.equal(w.nat.b.tcpStats().droppedNoMapping - before, 2, "TCP's SYN and its re-send 1 s later")
      // The relay connections the nodes opened first are uTP; TCP carried none of them.
      assert.ok(w.relay.get(INFO_HASH)!.connections.every((c) => c.transport === 'utp'))
    } finally {
      stop()
      for (const n of [w.a, w.b, w.relay]) await n.close()
    }
  })
})
