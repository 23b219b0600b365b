// The birthday strategy on net/sim (virtual time): through one symmetric NAT, `symmetric` at once when both are,
// and what a hostile relay's `connect`s can make a node send (the caps, and never random-port probes).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { NatType } from '../../src/net/sim/nat.js'
import { SimNetwork, type SimTrace } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { DatagramSocket, Endpoint } from '../../src/net/types.js'
import { BIRTHDAY_PROBE } from '../../src/swarm/birthday.js'
import { SwarmNode } from '../../src/swarm/node.js'
import { until } from '../helpers/until.js'

const INFO_HASH = new Uint8Array(20).fill(0xab)
const RELAY = { host: '198.51.100.10', port: 6881 }
const A_WAN = '198.51.100.1'
const B_WAN = '203.0.113.1'

/** Relay (public), A and B behind their NATs; each peer told its own mapping kind as three DHT nodes would. */
async function world(natA: NatType, natB: NatType, seed = 1) {
  const random = new SeededRandom(seed)
  const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs: 20, jitterMs: 2 } })
  const clock = net.clock
  const nats = { a: net.addNat({ publicIp: A_WAN, type: natA }), b: net.addNat({ publicIp: B_WAN, type: natB }) }
  const make = (socket: DatagramSocket, id: number, bind?: () => Promise<DatagramSocket>) =>
    new SwarmNode({
      socket,
      clock,
      random: random.fork(),
      peerId: new Uint8Array(20).fill(id),
      dht: false,
      tcp: false,
      utp: { defer: (fn) => clock.setTimeout(fn, 0) },
      dial: { utpTimeout: 1000 },
      birthday: bind ? { bindSocket: bind } : {},
      swarm: { autoDial: false },
    })
  const relay = make(net.bind(RELAY.host, RELAY.port), 0x10)
  const a = make(nats.a.bind('192.0.2.2', 6881), 0x0a, async () => nats.a.bind('192.0.2.2'))
  const b = make(nats.b.bind('192.0.2.66', 6881), 0x0b, async () => nats.b.bind('192.0.2.66'))
  for (const n of [relay, a, b]) {
    await n.listen()
    n.add(INFO_HASH)
  }
  const stop = clock.autoAdvance()
  // What three DHT nodes would report: the same port (consistent) or one port each (random).
  for (const [node, nat, wan] of [
    [a, natA, A_WAN],
    [b, natB, B_WAN],
  ] as const) {
    for (let i = 0; i < 3; i++) {
      node.reportExternal(
        { host: wan, port: nat === 'symmetric' ? 40000 + i : 6881 },
        { host: `198.51.100.${20 + i}`, port: 6881 },
      )
    }
  }
  const ca = await a.connect(INFO_HASH, RELAY)
  const cb = await b.connect(INFO_HASH, RELAY)
  const ready = () =>
    ca.holepunch.supported &&
    cb.holepunch.supported &&
    (relay.get(INFO_HASH)?.connections.filter((c) => c.holepunch.supported).length ?? 0) === 2
  await until(ready, { clock, within: 10_000, what: 'extended handshakes' })
  const done = async () => {
    stop()
    for (const n of [a, b, relay]) await n.close()
  }
  return { net, clock, a, b, relay, done }
}

describe('birthday strategy (sim)', () => {
  it('port-preserving asker × symmetric target: connected through a probe that met one of 256 mappings', async () => {
    const w = await world('port-preserving', 'symmetric')
    try {
      assert.equal(w.a.reachability.kind, 'consistent')
      assert.equal(w.b.reachability.kind, 'random')
      const bdA: unknown[] = []
      const bdB: unknown[] = []
      w.a.on('hp_birthday', (_t, role, st, ok) => bdA.push({ role, ...st, ok }))
      w.b.on('hp_birthday', (_t, role, st, ok) => bdB.push({ role, ...st, ok }))
      // The relay sees B at its symmetric mapping; A asks for B's listen port, as the DHT or PEX would list it.
      const r = await w.a.holepunch(INFO_HASH, { host: B_WAN, port: 6881 })
      assert.equal(r.conn.transport, 'utp')
      assert.equal(r.conn.remote.host, B_WAN)
      assert.notEqual(r.conn.remote.port, 6881, 'B dialed from one of its extra sockets')
      assert.ok(r.ms < 10_000, `${r.ms} ms`)
      await until(() => bdB.length > 0, { clock: w.clock, within: 20_000, what: "B's attempt ended" })
      assert.deepEqual((bdA[0] as { role: string; ok: boolean }).role, 'probe')
      assert.equal((bdA[0] as { ok: boolean }).ok, true)
      const b = bdB[0] as { role: string; sockets: number; sent: number; ok: boolean }
      assert.equal(b.role, 'sockets')
      assert.equal(b.sockets, 256)
      assert.equal(b.ok, true)
      // The connection works, and lives on after the attempt closed every other socket.
      assert.ok(r.conn.isOpen)
    } finally {
      await w.done()
    }
  })

  it('symmetric × symmetric: hp_failed with reason symmetric at once, no probe sent', async () => {
    const w = await world('symmetric', 'symmetric')
    try {
      const probes: SimTrace[] = []
      w.net.tap((t) => t.event === 'send' && t.bytes === BIRTHDAY_PROBE.length && probes.push(t))
      const t0 = w.clock.now()
      await assert.rejects(w.a.holepunch(INFO_HASH, { host: B_WAN, port: 6881 }), /symmetric/)
      assert.ok(w.clock.now() - t0 < 1000, 'failed as soon as the relay answered')
      assert.equal(probes.filter((p) => p.from.host === A_WAN).length, 0, 'the asker sent no probe')
    } finally {
      w.net.tap(null)
      await w.done()
    }
  })

  it('a hostile relay: connects naming third parties make a symmetric target send at most its cap, to the named endpoints only; a consistent target opens nothing', async () => {
    const w = await world('port-preserving', 'symmetric')
    try {
      const sent: SimTrace[] = []
      w.net.tap((t) => t.event === 'send' && t.to.host.startsWith('203.0.113.2') && sent.push(t))
      const relayToB = w.relay.get(INFO_HASH)?.connections.find((c) => c.remote.host === B_WAN)
      const relayToA = w.relay.get(INFO_HASH)?.connections.find((c) => c.remote.host === A_WAN)
      assert.ok(relayToB && relayToA)
      const named: Endpoint[] = []
      // 40 connects over a minute, each naming another third party (beyond the relay limits too).
      for (let i = 0; i < 40; i++) {
        const ep = { host: `203.0.113.${200 + (i % 50)}`, port: 10000 + i }
        named.push(ep)
        relayToB.holepunch.sendHpConnect(ep.host, ep.port)
        relayToA.holepunch.sendHpConnect(ep.host, ep.port)
        await new Promise<void>((r) => w.clock.setTimeout(r, 1500))
      }
      await new Promise<void>((r) => w.clock.setTimeout(r, 15_000))
      const ok = new Set(named.map((e) => `${e.host}:${e.port}`))
      const stray = sent.filter((t) => !ok.has(`${t.to.host}:${t.to.port}`))
      assert.deepEqual(stray, [], 'nothing but the named endpoints (no random-port probe)')
      const probes = sent.filter((t) => t.bytes === BIRTHDAY_PROBE.length)
      // B (random, the target): at most 4 attempts a minute, each at most 1024 probes; A (consistent): none.
      assert.ok(probes.length > 0, 'B did open sockets for some')

      assert.ok(probes.length <= 4 * 1024, `${probes.length} probes`)
      assert.equal(
        probes.filter((t) => t.from.host === '192.0.2.2').length,
        0,
        'a consistent target never probes (sim traces show the inside address)',
      )
    } finally {
      w.net.tap(null)
      await w.done()
    }
  })
})
