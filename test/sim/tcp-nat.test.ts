// Simulated TCP through the simulated NATs, as Linux NAT treats TCP: an outbound SYN creates the flow (and the
// mapping), replies come back through it, an unsolicited inbound SYN is dropped unless a port forward (or a
// mapping the NAT's filtering admits) lets it in, and a segment of a flow the NAT forgot is dropped.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { NatType } from '../../src/net/sim/nat.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { StreamSocket } from '../../src/net/types.js'

const SERVER = '203.0.113.10'
const THIRD = '203.0.113.20'
const NAT_IP = '198.51.100.1'
const INSIDE = '192.0.2.10'

function world(type: NatType = 'port-preserving', tcp = {}) {
  const net = new SimNetwork({ random: new SeededRandom(9), defaults: { latencyMs: 15 }, tcp })
  const nat = net.addNat({ publicIp: NAT_IP, type })
  return { net, clock: net.clock, nat, inside: nat.tcp(INSIDE), server: net.tcp(SERVER), third: net.tcp(THIRD) }
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  )

describe('simulated TCP through NATs', { timeout: 30_000 }, () => {
  it('an outbound connection gets through a port-preserving NAT; the server sees the public address', async () => {
    const { clock, nat, inside, server } = world()
    const seen: StreamSocket[] = []
    await server.listen({ port: 80 }, (s) => {
      seen.push(s)
      s.pipe(s) // echo
    })
    const c = await clock.settle(inside.connect({ host: SERVER, port: 80 }))
    await clock.runUntil(() => seen.length === 1)
    assert.equal(seen[0].remoteAddress, NAT_IP)
    assert.equal(seen[0].remotePort, c.localPort, 'the NAT kept the source port')
    const echoed = new Promise<string>((r) => c.once('data', (d: Buffer) => r(d.toString())))
    c.write('ping')
    assert.equal(await clock.settle(echoed), 'ping')
    const st = nat.tcpStats()
    assert.equal(st.flows, 1)
    assert.ok(st.outbound >= 3 && st.inbound >= 2)
    c.destroy()
    await clock.runUntilIdle()
  })

  it('an unsolicited SYN to the NAT is dropped (the connect times out); a port forward lets it in', async () => {
    const { net, clock, nat, inside, server } = world()
    const accepted: StreamSocket[] = []
    await inside.listen({ port: 6881 }, (s) => accepted.push(s))
    const ac = new AbortController()
    clock.setTimeout(() => ac.abort(new Error('gave up')), 3500)
    const r = await clock.settle(outcome(server.connect({ host: NAT_IP, port: 6881 }, { signal: ac.signal })))
    assert.equal(r, undefined, 'aborted by our own timeout: no reset came back')
    assert.equal(accepted.length, 0)
    assert.equal(nat.tcpStats().droppedNoMapping, 3, 'the SYN and its re-sends at 1 s and 3 s')
    assert.equal(net.tcpStats().dropped.natNoMapping, 3)

    nat.forwardTcp(6881, { host: INSIDE, port: 6881 })
    const c = await clock.settle(server.connect({ host: NAT_IP, port: 6881 }))
    await clock.runUntil(() => accepted.length === 1)
    assert.equal(accepted[0].remoteAddress, SERVER, 'a forward translates the destination only')
    c.destroy()
    await clock.runUntilIdle()
  })

  for (const [type, fromThird, fromServersIp] of [
    ['port-preserving', 'filtered', 'filtered'],
    ['symmetric', 'filtered', 'filtered'],
    ['restricted-cone', 'filtered', 'admitted'],
    ['full-cone', 'admitted', 'admitted'],
  ] as const) {
    it(`${type}: a SYN from elsewhere to a live mapping is ${fromThird} (from the server's address: ${fromServersIp})`, async () => {
      const { clock, nat, inside, server, third } = world(type)
      const seen: StreamSocket[] = []
      await server.listen({ port: 80 }, (s) => seen.push(s))
      const c = await clock.settle(inside.connect({ host: SERVER, port: 80 }))
      await clock.runUntil(() => seen.length === 1)
      const ext = seen[0].remotePort!
      if (type === 'symmetric') assert.notEqual(ext, c.localPort, 'a symmetric NAT picks a random port')
      else assert.equal(ext, c.localPort)
      // Nothing listens on the inside port: a SYN that gets in is answered by a reset, one that is dropped by nothing.
      const knock = async (from: typeof third) => {
        const ac = new AbortController()
        const t = clock.setTimeout(() => ac.abort(new Error('no answer')), 3500)
        const r = await clock.settle(outcome(from.connect({ host: NAT_IP, port: ext }, { signal: ac.signal })))
        t.cancel()
        return r === 'ECONNREFUSED' ? 'admitted' : r === undefined ? 'filtered' : r
      }
      // A symmetric NAT has no endpoint-independent mapping to filter: the port leads nowhere (no mapping).
      const dropped = () => nat.tcpStats().droppedFiltered + nat.tcpStats().droppedNoMapping
      const before = dropped()
      assert.equal(await knock(third), fromThird)
      assert.equal(await knock(server), fromServersIp)
      const filtered = (fromThird === 'filtered' ? 3 : 0) + (fromServersIp === 'filtered' ? 3 : 0)
      assert.equal(dropped() - before, filtered)
      c.destroy()
      await clock.runUntilIdle()
    })
  }

  it('firewall: no translation; unsolicited SYNs are dropped unless the port is opened', async () => {
    const { clock, nat, inside, server } = world('firewall')
    const seen: StreamSocket[] = []
    await server.listen({ port: 80 }, (s) => seen.push(s))
    const c = await clock.settle(inside.connect({ host: SERVER, port: 80 }))
    await clock.runUntil(() => seen.length === 1)
    assert.equal(seen[0].remoteAddress, INSIDE, 'the inside address is routable')
    assert.equal(seen[0].remotePort, c.localPort)
    const accepted: StreamSocket[] = []
    await inside.listen({ port: 6881 }, (s) => accepted.push(s))
    const ac = new AbortController()
    clock.setTimeout(() => ac.abort(new Error('no answer')), 2000)
    assert.equal(
      await clock.settle(outcome(server.connect({ host: INSIDE, port: 6881 }, { signal: ac.signal }))),
      undefined,
    )
    nat.forwardTcp(6881, { host: INSIDE, port: 6881 })
    const d = await clock.settle(server.connect({ host: INSIDE, port: 6881 }))
    await clock.runUntil(() => accepted.length === 1)
    c.destroy()
    d.destroy()
    await clock.runUntilIdle()
  })

  it('a NAT that forgets a live flow drops its segments: the connection times out (ETIMEDOUT)', async () => {
    const { clock, nat, inside, server } = world('port-preserving', { giveUpMs: 30_000 })
    const seen: StreamSocket[] = []
    await server.listen({ port: 80 }, (s) => seen.push(s))
    const c = await clock.settle(inside.connect({ host: SERVER, port: 80 }))
    await clock.runUntil(() => seen.length === 1)
    nat.flush()
    const err = new Promise<{ code?: string; at: number }>((r) =>
      c.once('error', (e: { code?: string }) => r({ code: e.code, at: clock.now() })),
    )
    const t0 = clock.now()
    c.write('lost') // an outbound segment of no flow: INVALID, dropped
    const e = await clock.settle(err)
    assert.equal(e.code, 'ETIMEDOUT')
    assert.equal(e.at - t0, 30_000)
    assert.equal(nat.tcpStats().droppedInvalid, 1)
    seen[0].destroy()
    await clock.runUntilIdle()
  })

  it('a NAT keeps its TCP flows apart from its UDP mappings', async () => {
    const { clock, nat, inside, server } = world()
    await server.listen({ port: 80 }, () => {})
    const c = await clock.settle(inside.connect({ host: SERVER, port: 80 }))
    assert.equal(nat.stats().mappingsCreated, 0, 'no UDP mapping')
    assert.equal(nat.tcpStats().flows, 1)
    c.destroy()
    await clock.runUntilIdle()
  })

  it('segments end their path as datagrams do: a link override sets their delay, a hairpin needs hairpinning', async () => {
    const { net, clock, inside, server, third } = world()
    net.setLinkConditions(NAT_IP, SERVER, { latencyMs: 100 })
    await server.listen({ port: 80 }, () => {})
    await third.listen({ port: 80 }, () => {})
    const connectTime = async (host: string) => {
      const t0 = clock.now()
      const c = await clock.settle(inside.connect({ host, port: 80 }))
      c.destroy()
      return clock.now() - t0
    }
    const viaThird = await connectTime(THIRD)
    const viaServer = await connectTime(SERVER)
    // The SYN and the SYN-ACK each cross the 100 ms link instead of a default 15 ms one.
    assert.equal(viaServer - viaThird, 2 * (100 - 15))

    for (const hairpin of [false, true]) {
      const hnet = new SimNetwork({ random: new SeededRandom(9), defaults: { latencyMs: 15 } })
      const nat = hnet.addNat({ publicIp: NAT_IP, hairpin })
      const accepted: StreamSocket[] = []
      await nat.tcp('192.0.2.11').listen({ port: 6881 }, (s) => accepted.push(s))
      nat.forwardTcp(6881, { host: '192.0.2.11', port: 6881 })
      const ac = new AbortController()
      hnet.clock.setTimeout(() => ac.abort(new Error('gave up')), 3500)
      const opened: StreamSocket[] = []
      const connect = nat.tcp(INSIDE).connect({ host: NAT_IP, port: 6881 }, { signal: ac.signal })
      const r = await hnet.clock.settle(outcome(connect.then((c) => opened.push(c))))
      assert.equal(r, hairpin ? 'ok' : undefined, hairpin ? 'connected' : 'aborted by our own timeout')
      if (hairpin) await hnet.clock.runUntil(() => accepted.length === 1)
      assert.equal(accepted.length, hairpin ? 1 : 0)
      assert.equal(hnet.tcpStats().dropped.natHairpin, hairpin ? 0 : 3, 'the SYN and its re-sends at 1 s and 3 s')
      for (const s of [...accepted, ...opened]) s.destroy()
      await hnet.clock.runUntilIdle()
    }
    await clock.runUntilIdle()
  })
})
