import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Endpoint } from '../../src/net/types.js'
import type { HolepunchFailure, HolepunchSuccess } from '../../src/swarm/initiator.js'
import type { SwarmNode } from '../../src/swarm/node.js'
import { holepunchWorld, INFO_HASH, RELAY } from '../helpers/holepunch-sim.js'

function nextEvent<T extends unknown[]>(node: SwarmNode, name: 'hp_connected' | 'hp_failed'): Promise<T> {
  return new Promise((resolve) => node.once(name, (...args: unknown[]) => resolve(args as T)))
}

function peersOf(node: SwarmNode, relayHost: string) {
  return node.get(INFO_HASH)!.connections.filter((c) => c.remote.host !== relayHost)
}

describe('holepunch on net/sim', () => {
  it('port-preserving NATs on both sides: PEX from the relay, failed direct dial, rendezvous, one uTP connection', async () => {
    const w = await holepunchWorld('port-preserving', 'port-preserving')
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
      assert.equal(rb.conn.transport, 'utp')
      // Let any crossing connection be closed, then check exactly one connection each way.
      await new Promise((r) => setTimeout(r, 50))
      await w.clock.runFor(2000).catch(() => {})
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
      await w.clock.runFor(1000).catch(() => {})
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
})
