import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from '../../src/codec/bytes.js'
import { encodePex } from '../../src/codec/pex.js'
import type { Endpoint } from '../../src/net/types.js'
import type { HolepunchFailure, HolepunchSuccess } from '../../src/swarm/initiator.js'
import type { SwarmNode } from '../../src/swarm/node.js'
import { B_AT, connectedWorld, holepunchWorld, INFO_HASH, RELAY, type WorldOptions } from '../helpers/holepunch-sim.js'
import { until } from '../helpers/until.js'

function nextEvent<T extends unknown[]>(node: SwarmNode, name: 'hp_connected' | 'hp_failed'): Promise<T> {
  return new Promise((resolve) => node.once(name, (...args: unknown[]) => resolve(args as T)))
}

/** Waits `ms` of virtual time (the clock advances by itself: autoAdvance). */
function vsleep(w: { clock: { setTimeout(fn: () => void, ms: number): unknown } }, ms: number): Promise<void> {
  return new Promise((resolve) => w.clock.setTimeout(resolve, ms))
}

function peersOf(node: SwarmNode, relayHost: string) {
  return node.get(INFO_HASH)!.connections.filter((c) => c.remote.host !== relayHost)
}

async function punchThrough(o: WorldOptions, expectKept: 'incoming' | 'outgoing') {
  const w = await holepunchWorld('port-preserving', 'port-preserving', o)
  const stop = w.clock.autoAdvance()
  try {
    await w.b.connect(INFO_HASH, RELAY)
    const aDone = nextEvent<[HolepunchSuccess]>(w.a, 'hp_connected')
    const bDone = nextEvent<[HolepunchSuccess]>(w.b, 'hp_connected')
    const rendezvous: Endpoint[] = []
    w.a.on('hp_rendezvous_sent', (_r, t) => rendezvous.push(t))
    await w.a.connect(INFO_HASH, RELAY)
    const [ra] = await aDone
    const [rb] = await bDone
    assert.deepEqual(rendezvous, [{ host: '203.0.113.1', port: 6881 }])
    assert.deepEqual(ra.target, { host: '203.0.113.1', port: 6881 })
    assert.equal(ra.conn.transport, 'utp')
    assert.equal(ra.direction, expectKept, 'the connection initiated by the greater peer id is kept')
    assert.equal(rb.conn.transport, 'utp')
    // Let any crossing connection be closed, then check exactly one connection each way.
    await vsleep(w, 2000)
    const pa = peersOf(w.a, RELAY.host)
    const pb = peersOf(w.b, RELAY.host)
    assert.equal(pa.length, 1, 'A keeps one connection to B')
    assert.equal(pb.length, 1, 'B keeps one connection to A')
    assert.deepEqual(pa[0].remotePeerId, w.b.peerId)
    assert.deepEqual(pb[0].remotePeerId, w.a.peerId)
    // The kept connection carries data both ways.
    const got = new Promise<number>((resolve) => pb[0].once('have', (m) => resolve(m.index)))
    pa[0].send({ type: 'have', index: 7 })
    assert.equal(await got, 7)
    assert.equal(w.a.utp.size, 2, 'relay + peer')
  } finally {
    stop()
    for (const n of [w.a, w.b, w.relay]) await n.close()
  }
}

describe('holepunch on net/sim', { timeout: 30_000 }, () => {
  it('port-preserving NATs on both sides: PEX from the relay, failed direct dial, rendezvous, one uTP connection', () =>
    punchThrough({}, 'incoming'))

  it('the greater peer id initiates the kept connection (ids swapped)', () =>
    punchThrough({ ids: [0xf0, 0x01] }, 'outgoing'))

  it('5% loss on both NATs uplinks: still connects', async () => {
    for (const seed of [2, 3, 4]) await punchThrough({ seed, loss: 0.05 }, 'incoming')
  })

  it('symmetric NAT on one side: hp_failed (timeout), nothing left behind, relay connections healthy', async () => {
    const w = await holepunchWorld('port-preserving', 'symmetric')
    const stop = w.clock.autoAdvance()
    try {
      await w.b.connect(INFO_HASH, RELAY)
      const aFailed = nextEvent<[Endpoint, HolepunchFailure]>(w.a, 'hp_failed')
      const bFailed = nextEvent<[Endpoint, HolepunchFailure]>(w.b, 'hp_failed')
      await w.a.connect(INFO_HASH, RELAY)
      const [, reasonA] = await aFailed
      const [, reasonB] = await bFailed
      assert.equal(reasonA, 'timeout')
      assert.equal(reasonB, 'timeout')
      await vsleep(w, 1000)
      for (const n of [w.a, w.b]) {
        assert.equal(peersOf(n, RELAY.host).length, 0)
        assert.equal(n.get(INFO_HASH)!.connections.length, 1, 'still connected to the relay')
        assert.equal(n.utp.size, 1, 'only the relay connection is left in uTP')
        assert.equal(n.initiator(INFO_HASH)!.punchFor({ host: '203.0.113.1', port: 6881 }), undefined)
      }
    } finally {
      stop()
      for (const n of [w.a, w.b, w.relay]) await n.close()
    }
  })

  it('a relay cannot make us spray packets: one endpoint per connect, rate-limited per relay', async () => {
    const w = await holepunchWorld('port-preserving', 'port-preserving', { node: { holepunch: { timeout: 500 } } })
    const stop = w.clock.autoAdvance()
    try {
      await w.a.connect(INFO_HASH, RELAY)
      const atRelay = w.relay.get(INFO_HASH)!.connections[0]
      await until(() => atRelay.holepunch.supported, {
        clock: w.clock,
        within: 60_000,
        what: 'the relay sees A support holepunch',
      })
      const punching: string[] = []
      const ignored: string[] = []
      w.a.on('hp_punching', (_r, t) => punching.push(t.host))
      w.a.on('hp_ignored', (_r, _t, why) => ignored.push(why))
      const destinations = new Set<string>()
      w.net.tap((t) => {
        if (t.event === 'send' && t.from.host === '192.0.2.2' && t.to.host !== RELAY.host) destinations.add(t.to.host)
      })
      for (let i = 1; i <= 8; i++) atRelay.holepunch.sendHpConnect(`203.0.113.${100 + i}`, 6881)
      atRelay.holepunch.sendHpConnect('0.0.0.0', 6881)
      await vsleep(w, 2000)
      w.net.tap(null)
      assert.equal(punching.length, 5, 'five connects acted on (perRelay default)')
      assert.deepEqual(ignored, ['relay_rate', 'relay_rate', 'relay_rate', 'invalid endpoint'])
      assert.deepEqual([...destinations].sort(), punching.sort(), 'packets only to the endpoints acted on')
      assert.equal(w.a.utp.size, 1, 'the failed punches left nothing behind')
    } finally {
      stop()
      for (const n of [w.a, w.b, w.relay]) await n.close()
    }
  })

  it('ignores connect for a peer we are already connected to', async () => {
    const w = await holepunchWorld('port-preserving', 'port-preserving')
    const stop = w.clock.autoAdvance()
    try {
      await w.b.connect(INFO_HASH, RELAY)
      const done = nextEvent<[HolepunchSuccess]>(w.a, 'hp_connected')
      await w.a.connect(INFO_HASH, RELAY)
      await done
      const ignored = new Promise<string>((resolve) => w.a.once('hp_ignored', (_r, _t, why) => resolve(why)))
      const atRelay = w.relay.get(INFO_HASH)!.connections.find((c) => c.remote.host === '198.51.100.1')!
      atRelay.holepunch.sendHpConnect('203.0.113.1', 6881)
      assert.equal(await ignored, 'already connected')
    } finally {
      stop()
      for (const n of [w.a, w.b, w.relay]) await n.close()
    }
  })

  it('SwarmNode.connect() to a NATed peer falls back to a rendezvous and resolves with the punched connection', async () => {
    const w = await holepunchWorld('port-preserving', 'port-preserving', { node: { swarm: { autoDial: false } } })
    const stop = w.clock.autoAdvance()
    try {
      await w.b.connect(INFO_HASH, RELAY)
      await w.a.connect(INFO_HASH, RELAY)
      const bAt = { host: '203.0.113.1', port: 6881 }
      await until(() => w.a.initiator(INFO_HASH)!.supportsHolepunch(bAt), {
        clock: w.clock,
        within: 60_000,
        every: 50,
        what: 'A knows B supports holepunch',
      })
      const conn = await w.a.connect(INFO_HASH, bAt)
      assert.equal(conn.transport, 'utp')
      assert.deepEqual(conn.remotePeerId, w.b.peerId)
    } finally {
      stop()
      for (const n of [w.a, w.b, w.relay]) await n.close()
    }
  })

  it('a rendezvous the target answers by dialing us first still ends in hp_connected (and is not repeated)', async () => {
    // A is reachable (full cone) and hears the relay's connect late: B's punch reaches A first, A ignores the late
    // connect ("already connected"), and the rendezvous must still end in exactly one hp_connected.
    const { w, events, done } = await connectedWorld('full-cone')
    const order: string[] = []
    w.a.on('connected', (c) => {
      if (c.remotePeerId && toHex(c.remotePeerId) === toHex(w.b.peerId)) order.push('connected')
    })
    w.a.on('hp_connected', () => order.push('hp_connected'))
    try {
      w.net.setLinkConditions(w.nat.a, RELAY.host, { latencyMs: 1500 }, { oneWay: false })
      const res = await w.a.holepunch(INFO_HASH, B_AT)
      assert.equal(res.direction, 'incoming', "B's punch, arriving before A heard connect")
      // The connection is reported connected before hp_connected names it (as a punched one is).
      assert.deepEqual(order, ['connected', 'hp_connected'])
      assert.deepEqual(res.conn.remotePeerId, w.b.peerId)
      // The late connect is ignored, the dial that lost the crossing does not start a second rendezvous.
      await vsleep(w, 15_000)
      assert.deepEqual(events, ['sent 203.0.113.1', 'connected 203.0.113.1'])
      assert.equal(peersOf(w.a, RELAY.host).length, 1)
    } finally {
      await done()
    }
  })

  it('never dials or asks a rendezvous for our own endpoint, as peers see it', async () => {
    const w = await holepunchWorld('port-preserving', 'port-preserving')
    const stop = w.clock.autoAdvance()
    try {
      await w.a.connect(INFO_HASH, RELAY)
      const self = { host: '198.51.100.1', port: 6881 }
      const conn = w.a.get(INFO_HASH)!.connections[0]
      await until(() => conn.remoteExtended?.yourip === self.host, {
        clock: w.clock,
        within: 60_000,
        what: 'the relay tells A its address (yourip)',
      })
      const dialed: string[] = []
      w.net.tap((t) => {
        if (t.event === 'send' && t.from.host === '192.0.2.2' && t.to.host !== RELAY.host) dialed.push(t.to.host)
      })
      // The relay lists A to A itself (libtorrent can): holepunch-capable, so a failed dial would rendezvous.
      const atRelay = w.relay.get(INFO_HASH)!.connections[0]
      atRelay.sendExtended('ut_pex', encodePex({ added: [{ ...self, flags: 0x08 | 0x04 }], dropped: [] }))
      await vsleep(w, 5000)
      w.net.tap(null)
      assert.deepEqual(dialed, [], 'no packet to our own public endpoint')
      await assert.rejects(w.a.holepunch(INFO_HASH, self), (e: Error & { reason?: string }) => e.reason === 'NoSelf')
    } finally {
      stop()
      for (const n of [w.a, w.b, w.relay]) await n.close()
    }
  })

  it('a direct dial still in flight when the punch starts: one connection, reported once as hp_connected', async () => {
    // 990 ms: the direct dial's SYN retry (at 1 s) crosses the punch's first SYNs.
    for (const [delay, ids] of [
      [100, undefined],
      [990, undefined],
      [990, [0xf0, 0x01]],
      [1010, [0xf0, 0x01]],
    ] as const) {
      await directDialCrossesPunch(delay, ids && [ids[0], ids[1]])
    }
  })
})

async function directDialCrossesPunch(delay: number, ids: [number, number] | undefined) {
  const { w, events, done } = await connectedWorld('port-preserving', { node: { dial: { utpTimeout: 4000 } }, ids })
  try {
    // The direct dial's SYN dies at B's NAT but opens A's; its retry (1 s later) may cross the punch.
    const direct = w.a
      .get(INFO_HASH)!
      .connect(B_AT)
      .catch((e: Error) => e)
    await vsleep(w, delay)
    const res = await w.a.holepunch(INFO_HASH, B_AT)
    assert.deepEqual(res.conn.remotePeerId, w.b.peerId)
    await direct
    await vsleep(w, 8000)
    assert.deepEqual(events, ['sent 203.0.113.1', 'connected 203.0.113.1'], `delay ${delay}`)
    const open = peersOf(w.a, RELAY.host).filter((c) => c.isOpen)
    assert.equal(open.length, 1, 'one connection to B')
    assert.equal(open[0], res.conn, 'the one the rendezvous reported')
  } finally {
    await done()
  }
}
