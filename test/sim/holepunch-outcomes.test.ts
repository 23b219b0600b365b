// Every rendezvous we send ends in exactly one hp_connected or hp_failed, and as soon as the outcome is known: the
// corner cases of net/sim holepunch (address spellings, limits, a target reaching us from another port, closing).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SeededRandom } from '../../src/net/sim/random.js'
import { SwarmNode } from '../../src/swarm/node.js'
import { B_AT, connectedWorld, holepunchWorld, INFO_HASH, RELAY, vsleep } from '../helpers/holepunch-sim.js'
import { until } from '../helpers/until.js'

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { reason?: string; code?: string }) => `rejected ${e.reason ?? e.code}`,
  )

describe('holepunch outcomes on net/sim', { timeout: 60_000 }, () => {
  it('a target written as an IPv4-mapped address is the same peer the relay answers about', async () => {
    const { w, events, done } = await connectedWorld()
    try {
      const r = await outcome(w.a.holepunch(INFO_HASH, { host: '::ffff:203.0.113.1', port: 6881 }))
      await vsleep(w, 12_000)
      assert.equal(r, 'resolved')
      assert.deepEqual(events, ['sent 203.0.113.1', 'connected 203.0.113.1'])
    } finally {
      await done()
    }
  })

  it('the answer to our own rendezvous is not refused by the limits on relays', async () => {
    const { w, events, done } = await connectedWorld()
    try {
      // The relay spends A's per-relay budget (5 per 10 s) on connects A never asked for.
      const atRelay = w.relay.get(INFO_HASH)!.connections.find((c) => c.remote.host === '198.51.100.1')!
      const ignored: string[] = []
      w.a.on('hp_ignored', (_r, _t, why) => ignored.push(why))
      for (let i = 1; i <= 6; i++) atRelay.holepunch.sendHpConnect(`203.0.113.${100 + i}`, 6881)
      await vsleep(w, 200)
      assert.deepEqual(ignored, ['relay_rate'], 'the sixth is over the budget')
      const t0 = w.clock.now()
      assert.equal(await outcome(w.a.holepunch(INFO_HASH, B_AT)), 'resolved')
      assert.ok(w.clock.now() - t0 < 2000, `connected in ${w.clock.now() - t0} ms, not after the 10 s relay timeout`)
      assert.deepEqual(events.slice(-2), ['sent 203.0.113.1', 'connected 203.0.113.1'])
      assert.deepEqual(ignored, ['relay_rate'])
    } finally {
      await done()
    }
  })

  it('a relay naming the target by another port (a NAT that does not keep ports) still answers our rendezvous', async () => {
    const w = await holepunchWorld('port-preserving', 'port-preserving', {
      node: { swarm: { autoDial: false } },
      natB: { preservePort: false },
    })
    const stop = w.clock.autoAdvance()
    try {
      await w.b.connect(INFO_HASH, RELAY)
      await w.a.connect(INFO_HASH, RELAY)
      await until(() => w.a.initiator(INFO_HASH)!.supportsHolepunch(B_AT), {
        clock: w.clock,
        within: 60_000,
        every: 50,
        what: 'A knows B supports holepunch',
      })
      const events: string[] = []
      w.a.on('hp_connected', (r) => events.push(`connected ${r.target.host}:${r.target.port}`))
      w.a.on('hp_failed', (t, why) => events.push(`failed ${t.host}:${t.port} ${why}`))
      const punched: number[] = []
      w.a.on('hp_punching', (_r, t) => punched.push(t.port))
      const res = await w.a.holepunch(INFO_HASH, B_AT)
      assert.notEqual(punched[0], 6881, "the relay named B's NAT mapping, not its listen port")
      assert.deepEqual(res.target, B_AT, 'the rendezvous we asked for')
      assert.deepEqual(res.conn.remotePeerId, w.b.peerId)
      await vsleep(w, 12_000)
      assert.deepEqual(events, ['connected 203.0.113.1:6881'])
    } finally {
      stop()
      for (const n of [w.a, w.b, w.relay]) await n.close()
    }
  })

  it('the target reaching us from another port (its listen port in its extended handshake) ends the rendezvous', async () => {
    const { w, events, done } = await connectedWorld('full-cone')
    // B's second socket, same peer id, advertising 6881 as its listen port (as a TCP connection would).
    const b2 = new SwarmNode({
      socket: w.nat.b.bind('192.0.2.2', 7000),
      clock: w.clock,
      random: new SeededRandom(9),
      peerId: w.b.peerId,
      dht: false,
      utp: { defer: (fn) => w.clock.setTimeout(fn, 0) },
      swarm: { autoDial: false, connection: { listenPort: 6881 } },
    })
    try {
      await b2.listen()
      b2.add(INFO_HASH)
      // The relay's answer is slow to reach A: B's other connection arrives first.
      w.net.setLinkConditions(w.nat.a, RELAY.host, { latencyMs: 300 })
      const r = outcome(w.a.holepunch(INFO_HASH, B_AT))
      await b2.connect(INFO_HASH, { host: '198.51.100.1', port: 6881 })
      assert.equal(await r, 'resolved')
      await vsleep(w, 12_000)
      assert.deepEqual(events, ['sent 203.0.113.1', 'connected 203.0.113.1'])
    } finally {
      await done(b2)
    }
  })

  it('a connect arriving after our rendezvous ended in no_answer starts no punch (it did before)', async () => {
    const { w, events, done } = await connectedWorld()
    try {
      // The relay stays silent on A's rendezvous (as libtorrent does when it will not bridge two peers)…
      const atRelay = w.relay.get(INFO_HASH)!.connections.find((c) => c.remote.host === '198.51.100.1')!
      atRelay.holepunch.removeAllListeners('hp_rendezvous')
      const ignored: string[] = []
      const punching: string[] = []
      w.a.on('hp_ignored', (_r, t, why) => ignored.push(`${t.host} ${why}`))
      w.a.on('hp_punching', (_r, t) => punching.push(t.host))
      assert.equal(await outcome(w.a.holepunch(INFO_HASH, B_AT)), 'rejected no_answer')
      // … and answers long after A gave up: A was told the rendezvous failed, so it sends nothing to B now.
      await vsleep(w, 5000)
      atRelay.holepunch.sendHpConnect(B_AT.host, B_AT.port)
      await vsleep(w, 12_000)
      assert.deepEqual(punching, [])
      assert.deepEqual(ignored, ['203.0.113.1 rendezvous ended'])
      assert.deepEqual(events, ['sent 203.0.113.1', 'failed 203.0.113.1 no_answer'], 'one outcome per rendezvous')
      // Only that one answer is ignored: the relay's next connect (B asking for us) is acted on as usual.
      await vsleep(w, 2000)
      atRelay.holepunch.sendHpConnect(B_AT.host, B_AT.port)
      await vsleep(w, 1000)
      assert.deepEqual(punching, ['203.0.113.1'])
    } finally {
      await done()
    }
  })

  it('closing the node during a punch reports the pending rendezvous once, as aborted', async () => {
    const w = await holepunchWorld('port-preserving', 'symmetric', { node: { swarm: { autoDial: false } } })
    const stop = w.clock.autoAdvance()
    try {
      await w.b.connect(INFO_HASH, RELAY)
      await w.a.connect(INFO_HASH, RELAY)
      await until(() => w.a.initiator(INFO_HASH)!.supportsHolepunch(B_AT), {
        clock: w.clock,
        within: 60_000,
        every: 50,
        what: 'A knows B supports holepunch',
      })
      const failed: string[] = []
      let punching = false
      w.a.on('hp_failed', (t, why) => failed.push(`${t.host} ${why}`))
      w.a.on('hp_punching', () => {
        punching = true
      })
      const r = outcome(w.a.holepunch(INFO_HASH, B_AT))
      await until(() => punching, { clock: w.clock, within: 60_000, every: 5, what: 'hp_punching' })
      await w.a.close()
      assert.equal(await r, 'rejected aborted')
      await until(() => failed.length > 0, { clock: w.clock, within: 10_000, what: 'hp_failed' })
      await vsleep(w, 1000) // and no second report after it
      assert.deepEqual(failed, ['203.0.113.1 aborted'])
    } finally {
      stop()
      for (const n of [w.a, w.b, w.relay]) await n.close()
    }
  })

  it('a relay inside a SwarmNode answers NoSelf for a rendezvous with itself', async () => {
    const { w, events, done } = await connectedWorld()
    try {
      const toRelay = w.a.get(INFO_HASH)!.connections.find((c) => c.remote.host === RELAY.host)!
      assert.equal(await outcome(w.a.holepunch(INFO_HASH, RELAY, { relay: toRelay })), 'rejected NoSelf')
      assert.deepEqual(events, [`sent ${RELAY.host}`, `failed ${RELAY.host} NoSelf`])
    } finally {
      await done()
    }
  })

  it('SwarmNode.connect to a peer we are connected to fails at once, with no rendezvous', async () => {
    const { w, events, done } = await connectedWorld()
    try {
      await w.a.holepunch(INFO_HASH, B_AT)
      events.length = 0
      const t0 = w.clock.now()
      // B refuses the second connection (a duplicate): a reset or a DUPLICATE here, never a rendezvous.
      const r = await outcome(w.a.connect(INFO_HASH, B_AT))
      assert.match(r, /^rejected (DUPLICATE|STREAM_ERROR|STREAM_ENDED)$/)
      assert.ok(w.clock.now() - t0 < 2000)
      assert.deepEqual(events, [])
    } finally {
      await done()
    }
  })

  it('asks one introducer for at most 8 rendezvous a minute (relays ignore more, and cut off floods)', async () => {
    const { w, events, done } = await connectedWorld()
    try {
      const targets = Array.from({ length: 12 }, (_, i) => ({ host: `203.0.113.${50 + i}`, port: 6881 }))
      const results = await Promise.all(targets.map((t) => outcome(w.a.holepunch(INFO_HASH, t))))
      assert.equal(results.filter((r) => r === 'rejected NotConnected').length, 8, 'the relay answered the first 8')
      assert.equal(results.filter((r) => r === 'rejected no_introducer').length, 4, 'the rest found no introducer')
      assert.equal(events.filter((e) => e.startsWith('sent')).length, 8)
      const toRelay = w.a.get(INFO_HASH)!.connections.find((c) => c.remote.host === RELAY.host)!
      assert.equal(toRelay.isOpen, true)
      await vsleep(w, 60_000)
      assert.equal(await outcome(w.a.holepunch(INFO_HASH, targets[0])), 'rejected NotConnected', 'a minute later')
    } finally {
      await done()
    }
  })
})
