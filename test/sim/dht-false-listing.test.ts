// A node listed under an id it does not answer with: the listing says nothing about the node we know under that
// id elsewhere, and the answering node is not taken for the one at that distance.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from '../../src/codec/bytes.js'
import type { CompactNode } from '../../src/codec/compact.js'
import { buildFindNodeReply, buildPingReply, parseKrpc } from '../../src/codec/index.js'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'
import type { Endpoint } from '../../src/net/types.js'

describe('DHT on net/sim: false listings', { timeout: 60_000 }, () => {
  it("a node listed under a good node's id at another address neither evicts that node nor poses as it", async () => {
    const net = new SimNetwork({ random: new SeededRandom(1) })
    const clock = net.clock
    const rnd = new SeededRandom(2)
    const idWith = (first: number) => {
      const id = rnd.bytes(20).slice()
      id[0] = first
      return id
    }
    let fillersAnswer = true
    const responder = (host: string, port: number, id: Uint8Array, nodes: () => CompactNode[], filler = false) => {
      const s = net.bind(host, port)
      s.setReceiver((data: Uint8Array, from: Endpoint) => {
        if (filler && !fillersAnswer) return
        const m = parseKrpc(data)
        if (m.y !== 'q') return
        if (m.q === 'find_node' || m.q === 'get_peers') s.send(buildFindNodeReply(m.t, id, nodes()), from)
        else s.send(buildPingReply(m.t, id), from)
      })
    }
    const good = { id: idWith(0x20), host: '198.51.100.50', port: 6881 }
    responder(good.host, good.port, good.id, () => [])
    // A node near the target lists the good node's id at an endpoint where another node answers.
    const liar = idWith(0x00)
    responder('203.0.113.9', 6881, liar, () => [{ id: good.id, host: '192.0.2.200', port: 7000 }])
    const impostor = idWith(0x42)
    responder('192.0.2.200', 7000, impostor, () => [])
    // Sixteen nodes closer to the target than the good node, so that the lookup does not start from it; they
    // stop answering before the lookup, so that the listing's endpoint is queried (and the failures pile up).
    for (let i = 0; i < 16; i++) responder(`198.51.100.${100 + i}`, 6881, idWith(0x01 + i), () => [], true)
    const own = new Uint8Array(20)
    own[19] = 1
    const dht = new DHT({
      id: own,
      socket: net.bind('192.0.2.1', 6881),
      clock,
      random: new SeededRandom(3),
      restrictIps: false,
    })
    try {
      await clock.settle(dht.listen())
      await clock.settle(dht.ping({ host: good.host, port: good.port }))
      await clock.settle(dht.ping({ host: '203.0.113.9', port: 6881 }))
      for (let i = 0; i < 16; i++) await clock.settle(dht.ping({ host: `198.51.100.${100 + i}`, port: 6881 }))
      const isGood = (n: { id: Uint8Array; host: string; port: number }) =>
        toHex(n.id) === toHex(good.id) && n.host === good.host && n.port === good.port
      assert.ok(dht.nodes().some(isGood))
      fillersAnswer = false
      const found = await clock.settle(dht.findNode(new Uint8Array(20)), { timeout: 60_000 })
      assert.ok(dht.nodes().some(isGood), 'the good node is still in the table')
      assert.ok(
        !found.some((n) => toHex(n.id) === toHex(good.id) && n.port === 7000),
        "the impostor is not returned under the good node's id",
      )
    } finally {
      await dht.destroy()
    }
  })
})

describe('DHT on net/sim: dark addresses', { timeout: 60_000 }, () => {
  it('a node on the Internet cannot point our lookups at local networks or non-unicast addresses', async () => {
    const net = new SimNetwork({ random: new SeededRandom(7) })
    const clock = net.clock
    const rnd = new SeededRandom(8)
    const listed: CompactNode[] = [
      { id: rnd.bytes(20).slice(), host: '192.168.1.1', port: 80 },
      { id: rnd.bytes(20).slice(), host: '127.0.0.1', port: 22 },
      { id: rnd.bytes(20).slice(), host: '10.0.0.1', port: 6881 },
      { id: rnd.bytes(20).slice(), host: '224.0.0.1', port: 6881 },
      { id: rnd.bytes(20).slice(), host: '198.51.100.77', port: 6881 },
    ]
    const public1 = net.bind('203.0.113.20', 6881)
    const id = rnd.bytes(20).slice()
    public1.setReceiver((data: Uint8Array, from: Endpoint) => {
      const m = parseKrpc(data)
      if (m.y !== 'q') return
      if (m.q === 'ping') public1.send(buildPingReply(m.t, id), from)
      else public1.send(buildFindNodeReply(m.t, id, listed), from)
    })
    const asked: string[] = []
    const other = net.bind('198.51.100.77', 6881)
    other.setReceiver((data: Uint8Array, from: Endpoint) => {
      const m = parseKrpc(data)
      if (m.y === 'q') {
        asked.push(m.q)
        other.send(buildPingReply(m.t, listed[4].id), from)
      }
    })
    const sent: string[] = []
    net.tap((t) => {
      if (t.event === 'send' && t.from.host === '203.0.113.30') sent.push(t.to.host)
    })
    const dht = new DHT({ socket: net.bind('203.0.113.30', 6881), clock, random: new SeededRandom(9) })
    try {
      await clock.settle(dht.listen())
      await clock.settle(dht.ping({ host: '203.0.113.20', port: 6881 }))
      await clock.settle(dht.findNode(rnd.bytes(20).slice()), { timeout: 60_000 })
      net.tap(null)
      assert.deepEqual([...new Set(sent)].sort(), ['198.51.100.77', '203.0.113.20'], 'only the public unicast nodes')
      assert.ok(asked.length > 0, 'the public node listed was asked')
      assert.ok((dht.stats().drops.dark_nodes ?? 0) >= 4)
    } finally {
      await dht.destroy()
    }
  })
})
