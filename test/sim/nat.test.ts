import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { NatOptions, NatType } from '../../src/net/sim/nat.js'
import { SimNetwork, type SimTrace } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { SimSocket } from '../../src/net/sim/socket.js'
import type { Endpoint } from '../../src/net/types.js'

// Addresses: 198.51.100.0/24 and 203.0.113.0/24 are "public", 192.0.2.0/24 the LANs (the same private address is
// used behind both NATs on purpose: each LAN is its own address space).

interface Peer {
  sock: SimSocket
  got: { text: string; from: Endpoint }[]
}

function peer(sock: SimSocket): Peer {
  const p: Peer = { sock, got: [] }
  sock.setReceiver((data, from) => p.got.push({ text: new TextDecoder().decode(data), from }))
  return p
}

type NatOpts = Omit<NatOptions, 'publicIp'>

const say = (p: Peer, text: string, to: Endpoint) => p.sock.send(new TextEncoder().encode(text), to)

/** Two hosts behind two NATs plus a public relay; both register with the relay, which learns their public endpoints. */
async function setup(typeA: NatType | NatOpts, typeB: NatType | NatOpts, seed = 1) {
  const net = new SimNetwork({ random: new SeededRandom(seed), defaults: { latencyMs: 20 } })
  const optsA = typeof typeA === 'string' ? { type: typeA } : typeA
  const optsB = typeof typeB === 'string' ? { type: typeB } : typeB
  const natA = net.addNat({ publicIp: '198.51.100.1', ...optsA })
  const natB = net.addNat({ publicIp: '203.0.113.1', ...optsB })
  const relay = peer(net.bind('198.51.100.200', 6881))
  const a = peer(natA.bind('192.0.2.2', 6881))
  const b = peer(natB.bind('192.0.2.2', 6881))
  say(a, 'register', relay.sock.address())
  say(b, 'register', relay.sock.address())
  await net.clock.runFor(100)
  assert.equal(relay.got.length, 2)
  const pubA = relay.got.find((g) => g.from.host === '198.51.100.1')!.from
  const pubB = relay.got.find((g) => g.from.host === '203.0.113.1')!.from
  return { net, natA, natB, relay, a, b, pubA, pubB }
}

/** Both sides send one punch every 100 ms for `rounds` rounds to the other's relay-observed endpoint. */
async function punch(s: Awaited<ReturnType<typeof setup>>, rounds = 10) {
  for (let i = 0; i < rounds; i++) {
    say(s.a, `punch a${i}`, s.pubB)
    say(s.b, `punch b${i}`, s.pubA)
    await s.net.clock.runFor(100)
  }
  return {
    aGot: s.a.got.filter((g) => g.text.startsWith('punch')),
    bGot: s.b.got.filter((g) => g.text.startsWith('punch')),
  }
}

describe('NAT', () => {
  it('port-preserving NATs keep the source port and let a UDP punch through after the first datagram', async () => {
    const s = await setup('port-preserving', 'port-preserving')
    assert.deepEqual(s.pubA, { host: '198.51.100.1', port: 6881 })
    assert.deepEqual(s.pubB, { host: '203.0.113.1', port: 6881 })
    // A punches first: B's NAT has no permission for A yet, so this one is dropped.
    say(s.a, 'punch first', s.pubB)
    await s.net.clock.runFor(100)
    assert.equal(s.b.got.length, 0)
    assert.equal(s.natB.stats().droppedFiltered, 1)
    // B's punch opens B's side and passes A's NAT, which A's first punch opened.
    say(s.b, 'punch back', s.pubA)
    await s.net.clock.runFor(100)
    assert.deepEqual(s.a.got, [{ text: 'punch back', from: s.pubB }])
    say(s.a, 'hello', s.pubB)
    await s.net.clock.runFor(100)
    assert.deepEqual(s.b.got, [{ text: 'hello', from: s.pubA }])
    assert.equal(s.net.stats().dropped.natFiltered, 1)
  })

  it('simultaneous punching between port-preserving NATs succeeds every round after the first', async () => {
    const s = await setup('port-preserving', 'port-preserving', 9)
    const { aGot, bGot } = await punch(s)
    // Both first punches leave at the same virtual time, so each NAT has opened its side (at send time) before the
    // other's punch arrives 20 ms later: every punch gets through. The sequential case is the test above.
    assert.equal(aGot.length, 10)
    assert.equal(bGot.length, 10)
  })

  it('symmetric NAT on one side defeats hole punching; so does symmetric on both', async () => {
    for (const [ta, tb] of [
      ['symmetric', 'port-preserving'],
      ['port-preserving', 'symmetric'],
      ['symmetric', 'symmetric'],
    ] as const) {
      const s = await setup(ta, tb, 3)
      const { aGot, bGot } = await punch(s)
      assert.equal(aGot.length + bGot.length, 0, `${ta} ↔ ${tb} must not connect`)
      const st = s.net.stats().dropped
      assert.equal(st.natFiltered + st.natNoMapping, 20, `${ta} ↔ ${tb}: every punch is dropped at a NAT`)
    }
  })

  it('symmetric NAT uses a new external port per destination', async () => {
    const net = new SimNetwork()
    const nat = net.addNat({ publicIp: '198.51.100.1', type: 'symmetric' })
    const r1 = peer(net.bind('203.0.113.10', 1000))
    const r2 = peer(net.bind('203.0.113.11', 1000))
    const a = peer(nat.bind('192.0.2.2', 6881))
    say(a, 'x', r1.sock.address())
    say(a, 'y', r2.sock.address())
    say(a, 'z', r1.sock.address())
    await net.clock.runUntilIdle()
    assert.equal(r1.got.length, 2)
    assert.equal(r1.got[0].from.port, r1.got[1].from.port, 'same destination, same mapping')
    assert.notEqual(r1.got[0].from.port, r2.got[0].from.port)
    assert.equal(nat.stats().mappingsCreated, 2)
  })

  it('drops unsolicited inbound: unmapped ports and endpoints the inside host never sent to', async () => {
    const s = await setup('port-preserving', 'port-preserving')
    const stranger = peer(s.net.bind('203.0.113.50', 4000))
    say(stranger, 'unmapped', { host: '198.51.100.1', port: 7777 })
    say(stranger, 'mapped, not allowed', s.pubA)
    const sameHostOtherPort = peer(s.net.bind('198.51.100.200', 6882))
    say(sameHostOtherPort, 'relay ip, other port', s.pubA)
    say(s.relay, 'reply', s.pubA)
    await s.net.clock.runFor(100)
    assert.deepEqual(
      s.a.got.map((g) => g.text),
      ['reply'],
    )
    const st = s.natA.stats()
    assert.equal(st.droppedNoMapping, 1)
    assert.equal(st.droppedFiltered, 2)
  })

  it('full-cone accepts anyone on a mapped port; restricted-cone only known addresses', async () => {
    for (const [type, expected] of [
      ['full-cone', ['reply', 'other port', 'stranger']],
      ['restricted-cone', ['reply', 'other port']],
    ] as const) {
      const s = await setup(type, 'port-preserving')
      say(s.relay, 'reply', s.pubA)
      say(peer(s.net.bind('198.51.100.200', 9999)), 'other port', s.pubA)
      say(peer(s.net.bind('203.0.113.77', 9999)), 'stranger', s.pubA)
      await s.net.clock.runFor(100)
      assert.deepEqual(
        s.a.got.map((g) => g.text),
        expected,
        type,
      )
    }
  })

  it('expires one-way mappings after 30 s and two-way ones after 120 s of silence', async () => {
    const s = await setup('port-preserving', 'port-preserving')
    // A registered at t≈0 and never got a reply: after 30 s the relay cannot reach it.
    await s.net.clock.runFor(30_000)
    say(s.relay, 'too late', s.pubA)
    await s.net.clock.runFor(100)
    assert.equal(s.a.got.length, 0)
    assert.equal(s.natA.stats().droppedNoMapping, 1)

    // Re-register and get a reply: now two-way, it lives 120 s from the last datagram.
    say(s.a, 'register again', s.relay.sock.address())
    await s.net.clock.runFor(100)
    say(s.relay, 'reply', s.pubA)
    await s.net.clock.runFor(100)
    await s.net.clock.runFor(100_000)
    say(s.relay, 'after 100 s', s.pubA)
    await s.net.clock.runFor(100)
    await s.net.clock.runFor(120_100)
    say(s.relay, 'after 120 s more', s.pubA)
    await s.net.clock.runFor(100)
    assert.deepEqual(
      s.a.got.map((g) => g.text),
      ['reply', 'after 100 s'],
    )
    assert.equal(s.natA.stats().mappings, 0)
  })

  it('mapping timeouts are configurable and a refresh keeps the mapping alive', async () => {
    const s = await setup({ type: 'port-preserving', udpTimeoutMs: 5_000, udpStreamTimeoutMs: 10_000 }, 'full-cone')
    say(s.relay, 'reply', s.pubA) // two-way now: 10 s
    for (let i = 0; i < 5; i++) {
      await s.net.clock.runFor(8_000)
      say(s.a, 'keepalive', s.relay.sock.address())
    }
    await s.net.clock.runFor(8_000)
    say(s.relay, 'still there', s.pubA)
    await s.net.clock.runFor(11_000)
    say(s.relay, 'gone', s.pubA)
    await s.net.clock.runFor(100)
    assert.deepEqual(
      s.a.got.map((g) => g.text),
      ['reply', 'still there'],
    )
  })

  it('hairpinning is off by default and works when enabled', async () => {
    for (const hairpin of [false, true]) {
      const net = new SimNetwork()
      const nat = net.addNat({ publicIp: '198.51.100.1', hairpin })
      const relay = peer(net.bind('203.0.113.5', 6881))
      const a = peer(nat.bind('192.0.2.2', 6881))
      const b = peer(nat.bind('192.0.2.3', 6882))
      say(a, 'reg', relay.sock.address())
      say(b, 'reg', relay.sock.address())
      await net.clock.runFor(100)
      const pubA = relay.got[0].from
      const pubB = relay.got[1].from
      say(a, 'to b via public', pubB)
      say(b, 'to a via public', pubA)
      say(a, 'to b via public', pubB)
      await net.clock.runFor(100)
      if (!hairpin) {
        assert.equal(a.got.length + b.got.length, 0)
        assert.equal(nat.stats().droppedHairpin, 3)
      } else {
        assert.deepEqual(b.got.at(-1), { text: 'to b via public', from: pubA })
        assert.ok(a.got.length >= 1)
      }
    }
  })

  it('LAN hosts reach each other directly by private address', async () => {
    const net = new SimNetwork()
    const nat = net.addNat({ publicIp: '198.51.100.1' })
    const a = peer(nat.bind('192.0.2.2', 1000))
    const b = peer(nat.bind('192.0.2.3', 1000))
    say(a, 'lan', b.sock.address())
    await net.clock.runUntilIdle()
    assert.deepEqual(b.got, [{ text: 'lan', from: { host: '192.0.2.2', port: 1000 } }])
    assert.equal(net.clock.now(), 0.5)
    // A public host cannot address a private one.
    const pub = peer(net.bind('203.0.113.5'))
    say(pub, 'x', { host: '192.0.2.2', port: 1000 })
    await net.clock.runUntilIdle()
    assert.equal(net.stats().dropped.unroutable, 1)
  })

  it('nests NATs: a home NAT behind a carrier-grade NAT', async () => {
    const net = new SimNetwork()
    const cgnat = net.addNat({ publicIp: '198.51.100.1', type: 'port-preserving' })
    const home = cgnat.addNat({ publicIp: '192.0.2.100', type: 'port-preserving' })
    const relay = peer(net.bind('203.0.113.5', 6881))
    const a = peer(home.bind('192.0.2.2', 6881))
    say(a, 'out', relay.sock.address())
    await net.clock.runUntilIdle()
    assert.deepEqual(relay.got[0].from, { host: '198.51.100.1', port: 6881 })
    say(relay, 'back', relay.got[0].from)
    await net.clock.runUntilIdle()
    assert.deepEqual(a.got, [{ text: 'back', from: { host: '203.0.113.5', port: 6881 } }])
  })

  it('a busy preserved port gets another external port', async () => {
    const net = new SimNetwork()
    const nat = net.addNat({ publicIp: '198.51.100.1' })
    const relay = peer(net.bind('203.0.113.5', 6881))
    const a = peer(nat.bind('192.0.2.2', 6881))
    const b = peer(nat.bind('192.0.2.3', 6881))
    say(a, 'a', relay.sock.address())
    say(b, 'b', relay.sock.address())
    await net.clock.runUntilIdle()
    assert.equal(relay.got[0].from.port, 6881)
    assert.notEqual(relay.got[1].from.port, 6881)
    assert.equal(nat.externalPort('192.0.2.3', 6881), relay.got[1].from.port)
  })

  it('sweeps expired state: a NAT talking to ever new peers stays bounded', async () => {
    const net = new SimNetwork()
    const nat = net.addNat({ publicIp: '198.51.100.1', type: 'symmetric', udpTimeoutMs: 1000 })
    const a = nat.bind('192.0.2.2', 6881)
    net.bind('203.0.113.1', 1) // one public host; a new destination port per datagram = a new mapping
    for (let i = 0; i < 20_000; i++) {
      a.send(new Uint8Array(1), { host: '203.0.113.1', port: 1 + (i % 60_000) })
      if (i % 100 === 99) await net.clock.runFor(100) // 1,000 datagrams per virtual second
    }
    const st = nat.stats()
    assert.equal(st.mappingsCreated, 20_000)
    assert.ok(st.mappings <= 1_100, `live ${st.mappings}`)
    assert.ok(st.tracked < 5_000, `tracked ${st.tracked}`)
  })

  it('tap shows each datagram: the first punch dies at the far NAT, the next ones are delivered', async () => {
    const s = await setup('port-preserving', 'port-preserving')
    const trace: SimTrace[] = []
    s.net.tap((t) => trace.push(t))
    say(s.a, 'punch 1', s.pubB)
    await s.net.clock.runFor(100)
    say(s.b, 'punch 2', s.pubA)
    await s.net.clock.runFor(100)
    s.net.tap(null)
    say(s.a, 'untraced', s.pubB)
    await s.net.clock.runFor(100)
    const t0 = 100 // one-way: 0.5 ms (LAN A) + 20 ms (internet) + 0.5 ms (LAN B)
    assert.deepEqual(trace, [
      { event: 'send', time: t0, from: { host: '192.0.2.2', port: 6881 }, to: s.pubB, bytes: 7 },
      { event: 'drop', time: t0 + 21, from: s.pubA, to: s.pubB, bytes: 7, reason: 'natFiltered' },
      { event: 'send', time: t0 + 100, from: { host: '192.0.2.2', port: 6881 }, to: s.pubA, bytes: 7 },
      { event: 'deliver', time: t0 + 121, from: s.pubB, to: { host: '192.0.2.2', port: 6881 }, bytes: 7 },
    ])
  })

  it('firewall (IPv6 home router): no translation, unsolicited inbound dropped, hole punching works', async () => {
    const net = new SimNetwork({ defaults: { latencyMs: 20 } })
    const fwA = net.addNat({ publicIp: '2001:db8:a::1', type: 'firewall' })
    const fwB = net.addNat({ publicIp: '2001:db8:b::1', type: 'firewall' })
    const relay = peer(net.bind('2001:db8:ff::1', 6881))
    const a = peer(fwA.bind('2001:db8:a::2', 6881))
    const b = peer(fwB.bind('2001:db8:b::2', 6881))
    // Unsolicited: refused at the firewall although the address is routable.
    say(relay, 'unsolicited', { host: '2001:db8:a::2', port: 6881 })
    await net.clock.runFor(100)
    assert.equal(a.got.length, 0)
    assert.equal(fwA.stats().droppedNoMapping, 1)
    // After A talks to the relay, the relay sees A's own address and can answer.
    say(a, 'register', relay.sock.address())
    await net.clock.runFor(100)
    assert.deepEqual(relay.got[0].from, { host: '2001:db8:a::2', port: 6881 })
    say(relay, 'welcome', relay.got[0].from)
    await net.clock.runFor(100)
    assert.deepEqual(
      a.got.map((g) => g.text),
      ['welcome'],
    )
    // Punch: A first (dropped by B's firewall), then B (opens B, passes A), then A again.
    say(a, 'p1', b.sock.address())
    await net.clock.runFor(100)
    say(b, 'p2', a.sock.address())
    await net.clock.runFor(100)
    say(a, 'p3', b.sock.address())
    await net.clock.runFor(100)
    assert.deepEqual(
      b.got.map((g) => g.text),
      ['p3'],
    )
    assert.deepEqual(a.got.at(-1), { text: 'p2', from: { host: '2001:db8:b::2', port: 6881 } })
    assert.equal(fwB.stats().droppedNoMapping, 1, 'B had sent nothing yet: no state at all')
    assert.throws(() => net.bind('2001:db8:a::2'), { code: 'EADDRNOTAVAIL' })
  })

  it('per-link conditions between two NATs apply to the hosts behind them', async () => {
    const s = await setup('full-cone', 'full-cone')
    s.net.setLinkConditions(s.natA, s.natB, { latencyMs: 100 })
    const trace: SimTrace[] = []
    s.net.tap((t) => trace.push(t))
    say(s.a, 'slow', s.pubB)
    say(s.relay, 'fast', s.pubB)
    await s.net.clock.runFor(500)
    const at = (from: string) => trace.find((t) => t.event === 'deliver' && t.from.host === from)!.time - 100
    assert.equal(at(s.pubA.host), 101, 'A → B: 0.5 + 100 + 0.5 ms')
    assert.equal(at('198.51.100.200'), 20.5, "relay → B keeps the default 20 ms (+ B's LAN)")
  })
})
