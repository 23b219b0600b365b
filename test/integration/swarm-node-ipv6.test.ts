// SwarmNode over IPv6 on real sockets: the dual-stack port on '::' (UDP answers IPv4 like TCP does), a BEP 55
// rendezvous and uTP punch between peers on ::1 (the 24-byte address form), and a DHT on ::1 whose `nodes6` and
// 18-byte peer values lead one peer to another.
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { after, describe, it } from 'node:test'
import { decodeHolepunch } from '../../src/codec/holepunch.js'
import type { Endpoint } from '../../src/net/types.js'
import type { UdpSocket } from '../../src/net/udp.js'
import { SwarmNode, type SwarmNodeOptions } from '../../src/swarm/node.js'
import { ipv6LoopbackSkip } from '../helpers/ipv6.js'
import { until } from '../helpers/until.js'

const IH = new Uint8Array(20).fill(0x6b)
const skip = await ipv6LoopbackSkip()

describe('SwarmNode over IPv6', { timeout: 60_000, skip }, () => {
  const nodes: SwarmNode[] = []
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()))
  })
  const make = async (opts: SwarmNodeOptions) => {
    // Bound to '::', a node would ask this machine's real router for a port mapping: tests stay on loopback.
    const n = new SwarmNode({ portmap: false, ...opts })
    nodes.push(n)
    await n.listen()
    n.add(IH)
    return n
  }

  it("on '::' UDP is dual stack like TCP: an IPv4 peer connects over uTP (failed before: v6-only UDP, TCP only)", async () => {
    const server = await make({ host: '::', dht: false })
    const client = await make({ host: '127.0.0.1', dht: false, tcp: false })
    const port = server.address?.port as number
    const conn = await client.connect(IH, { host: '127.0.0.1', port })
    assert.equal(conn.transport, 'utp')
    await until(() => server.get(IH)?.connections.length === 1, { within: 10_000, what: 'the server sees the peer' })
    // The v4 peer is reported by its plain address, not as ::ffff:127.0.0.1.
    assert.equal(server.get(IH)?.connections[0].remote.host, '127.0.0.1')
  })

  it("on '::' the DHT (IPv6) answers IPv6 queries and ignores IPv4 ones it could not answer", async () => {
    const server = await make({ host: '::', dht: { bootstrap: [] } })
    const port = server.address?.port as number
    const ping = Buffer.from(`d1:ad2:id20:${'a'.repeat(20)}e1:q4:ping1:t2:aa1:y1:qe`)
    const ask = (type: 'udp4' | 'udp6', host: string) =>
      new Promise<boolean>((resolve) => {
        const s = createSocket(type)
        const t = setTimeout(() => {
          s.close()
          resolve(false)
        }, 1000)
        s.on('message', () => {
          clearTimeout(t)
          s.close()
          resolve(true)
        })
        s.send(ping, port, host)
      })
    assert.equal(await ask('udp6', '::1'), true, 'an IPv6 ping is answered')
    assert.equal(await ask('udp4', '127.0.0.1'), false, 'an IPv4 ping gets no answer from an IPv6 DHT')
    assert.equal(server.dht?.stats().drops.wrong_family, 1)
  })

  it('rendezvous through a relay on ::1 and a uTP punch: connect carries the 24-byte IPv6 form', async () => {
    const opts = { host: '::1', dht: false as const, swarm: { autoDial: false } }
    const relay = await make(opts)
    const a = await make(opts)
    const b = await make(opts)
    const r = relay.address as Endpoint
    const ra = await a.connect(IH, r)
    const rb = await b.connect(IH, r)
    assert.equal(ra.transport, 'utp')
    await until(() => !!ra.remoteExtended && !!rb.remoteExtended && relay.get(IH)?.connections.length === 2, {
      within: 10_000,
      what: 'extended handshakes with the relay',
    })
    await until(() => relay.get(IH)?.connections.every((c) => c.holepunch.supported) === true, {
      within: 10_000,
      what: 'the relay knows both support ut_holepunch',
    })
    // The raw ut_holepunch payloads B receives: a `connect` naming A at ::1.
    const payloads: Uint8Array[] = []
    rb.on('extension_message', (name, payload) => {
      if (name === 'ut_holepunch') payloads.push(payload)
    })
    const target = b.address as Endpoint
    const res = await a.holepunch(IH, target, { relay: ra })
    assert.equal(res.conn.transport, 'utp')
    assert.deepEqual(res.target, { host: '::1', port: target.port })
    assert.equal(res.conn.remote.host, '::1')
    await until(() => payloads.length > 0, { within: 5000, what: 'B got the connect' })
    assert.equal(payloads[0].length, 24)
    assert.deepEqual(decodeHolepunch(payloads[0]), {
      type: 'connect',
      host: '::1',
      port: a.address?.port,
      errorCode: 0,
    })
  })

  it('a relay bridging an IPv4-only and an IPv6-only peer: neither punches to an address it cannot reach (both did before)', async () => {
    const opts = { dht: false as const, swarm: { autoDial: false }, holepunch: { rendezvousTimeout: 1500 } }
    const relay = await make({ ...opts, host: '::' })
    const a = await make({ ...opts, host: '127.0.0.1' })
    const b = await make({ ...opts, host: '::1' })
    const port = relay.address?.port as number
    const ra = await a.connect(IH, { host: '127.0.0.1', port })
    await b.connect(IH, { host: '::1', port })
    await until(() => relay.get(IH)?.connections.filter((c) => c.holepunch.supported).length === 2, {
      within: 10_000,
      what: 'the relay knows both support ut_holepunch',
    })
    await until(() => ra.holepunch.supported, { within: 10_000, what: "A knows the relay's ut_holepunch" })
    const seen: string[] = []
    for (const [name, n] of [
      ['A', a],
      ['B', b],
    ] as const) {
      n.on('hp_punching', (_r, t) => seen.push(`${name} punching ${t.host}`))
      n.on('hp_ignored', (_r, t, why) => seen.push(`${name} ignored ${t.host} ${why}`))
    }
    const target = { host: '::1', port: b.address?.port as number }
    await assert.rejects(a.holepunch(IH, target, { relay: ra }), { reason: 'no_answer' })
    assert.deepEqual(seen.sort(), ['A ignored ::1 address family', 'B ignored 127.0.0.1 address family'])
  })

  it('a dial from an IPv4-only node to an IPv6 peer goes straight to TCP (it sent uTP SYNs nowhere before)', async () => {
    const b = await make({ host: '::1', dht: false })
    const a = await make({ host: '127.0.0.1', dht: false, dial: { utpTimeout: 3000 } })
    const conn = await a.connect(IH, b.address as Endpoint)
    assert.equal(conn.transport, 'tcp')
    const udp = a.mux.socket as UdpSocket
    assert.equal(udp.stats().sendRejected, 0, 'no uTP datagram was even tried')
  })

  it('a DHT on ::1: announce and get_peers find the other peer through nodes6 and 18-byte values', async () => {
    const dht = { restrictIps: false, restrictSearchIps: false }
    const boot = await make({ host: '::1', dht: { bootstrap: [], ...dht }, swarm: { autoDial: false } })
    const bootstrap = [boot.address as Endpoint]
    const middle = await make({ host: '::1', dht: { bootstrap, ...dht }, swarm: { autoDial: false } })
    const b = await make({ host: '::1', dht: { bootstrap, ...dht }, swarm: { autoDial: false } })
    const a = await make({ host: '::1', dht: { bootstrap, ...dht }, swarm: { autoDial: false } })
    await Promise.all([middle, a, b].map((n) => n.dht?.bootstrapped()))
    assert.equal(b.dht?.address().host, '::1', 'the DHT runs on IPv6')
    assert.ok(((await b.announce(IH)) as number) > 0, 'B announced to some nodes')
    const found = await a.discover(IH)
    assert.deepEqual(
      found.filter((p) => p.port === b.address?.port),
      [{ host: '::1', port: b.address?.port }],
    )
    assert.ok((a.dht?.nodes().length ?? 0) >= 2, 'A learnt nodes beyond its bootstrap node from nodes6')
  })
})
