// DhtPortExchange alone, on a fake connection: what it sends for each pair of DHT bits, and which PORT messages
// become DHT candidates (the connection's own IP, never port 0 or an address that cannot be a node).
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import { makeReserved, type PeerMessage } from '../../src/codec/peer-wire.js'
import type { Endpoint } from '../../src/net/types.js'
import { DhtPortExchange } from '../../src/swarm/dht-port.js'
import type { PeerConnection } from '../../src/wire/peer-connection.js'

function fakeConn(host: string, dhtBit: boolean) {
  const sent: PeerMessage[] = []
  const drops: string[] = []
  const conn = Object.assign(new EventEmitter(), {
    remote: { host, port: 51413 },
    remoteHandshake: { reserved: makeReserved({ extension: true, dht: dhtBit }) },
    isOpen: true,
    isClosed: false,
    send: (m: PeerMessage) => sent.push(m),
    countDrop: (r: string) => drops.push(r),
  })
  return { conn, asConn: conn as unknown as PeerConnection, sent, drops }
}

function exchange(port: number | undefined) {
  const added: Endpoint[] = []
  const x = new DhtPortExchange({ dht: { addNode: (n) => added.push(n) }, port: () => port })
  return { x, added }
}

describe('DhtPortExchange', () => {
  it('sends our port only to a peer that set the DHT bit', () => {
    const { x } = exchange(6881)
    const withBit = fakeConn('203.0.113.5', true)
    const without = fakeConn('203.0.113.6', false)
    x.attach(withBit.asConn)
    x.attach(without.asConn)
    assert.deepEqual(withBit.sent, [{ type: 'port', port: 6881 }])
    assert.deepEqual(without.sent, [])
    assert.equal(x.stats.sent, 1)
  })

  it('sends nothing while our DHT has no port', () => {
    const { x } = exchange(undefined)
    const c = fakeConn('203.0.113.5', true)
    x.attach(c.asConn)
    assert.deepEqual(c.sent, [])
  })

  it("a PORT becomes a candidate at the connection's IP (canonical form)", () => {
    const { x, added } = exchange(6881)
    const c = fakeConn('::ffff:203.0.113.5', true)
    x.attach(c.asConn)
    c.conn.emit('port', { type: 'port', port: 7000 })
    assert.deepEqual(added, [{ host: '203.0.113.5', port: 7000 }])
  })

  it('ignores port 0, addresses that are not unicast, the same port again, and more than the budget', () => {
    const { x, added } = exchange(6881)
    const zero = fakeConn('203.0.113.5', true)
    x.attach(zero.asConn)
    zero.conn.emit('port', { type: 'port', port: 0 })
    for (const host of ['0.0.0.0', '224.0.0.1', '255.255.255.255', 'ff02::1', '::', 'not-an-ip']) {
      const c = fakeConn(host, true)
      x.attach(c.asConn)
      c.conn.emit('port', { type: 'port', port: 6881 })
      assert.deepEqual(c.drops, ['dht_port_ignored'], host)
    }
    const chatty = fakeConn('198.51.100.9', true)
    x.attach(chatty.asConn)
    for (const port of [7000, 7000, 7001, 7002, 7003]) chatty.conn.emit('port', { type: 'port', port })
    assert.deepEqual(added, [
      { host: '198.51.100.9', port: 7000 },
      { host: '198.51.100.9', port: 7001 },
    ])
    assert.equal(x.stats.received, 12)
    assert.equal(x.stats.candidates, 2)
    assert.equal(x.stats.ignored, 10)
  })
})
