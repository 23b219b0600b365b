// Table admission (issue 9): nodes that query us or that replies name take free slots unconfirmed, are verified by
// a query of ours, and never displace a confirmed node; the IP-diversity rules hold for them too.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RoutingTable } from '../../src/dht/routing-table.js'
import { idOf, ManualClock } from '../helpers/dht-fixtures.js'

const own = idOf(0x00)
function table(opts: { restrictIps?: boolean } = {}) {
  const clock = new ManualClock()
  return { clock, t: new RoutingTable(own, { now: () => clock.now(), ...opts }) }
}

describe('routing table admission', () => {
  it('a querying node waits unconfirmed; its reply confirms it, a failed ping removes it', () => {
    const { t } = table()
    const a = { id: idOf(0x80), host: '198.51.100.1', port: 1 }
    const r = t.seen(a, false)
    assert.equal(r.status, 'pending')
    assert.deepEqual(
      r.ping.map((n) => n.port),
      [1],
    )
    assert.equal(t.pending, 1)
    assert.equal(t.size, 0)
    assert.deepEqual(t.nodes(), [], 'never listed (nor saved) unconfirmed')
    // It queries again before answering: no second ping.
    assert.deepEqual(t.seen(a, false).ping, [])
    assert.equal(t.seen(a, true).status, 'added')
    assert.equal(t.size, 1)
    assert.equal(t.pending, 0)
    assert.equal(t.closest(idOf(0x80))[0].port, 1)

    const b = { id: idOf(0x81), host: '203.0.113.1', port: 2 }
    t.seen(b, false)
    t.failed(b.id, b)
    assert.equal(t.get(b.id), undefined, 'one failed verification removes an unconfirmed entry')
    assert.equal(t.pending, 0)
  })

  it('nodes heard of in replies take free slots without a ping and are handed out by unverified() once each', () => {
    const { t } = table()
    assert.equal(t.heardAbout({ id: idOf(0x80), host: '198.51.100.1', port: 1 }).status, 'pending')
    assert.deepEqual(t.heardAbout({ id: idOf(0x81), host: '198.51.100.9', port: 1 }).ping, [])
    assert.equal(t.heardAbout({ id: idOf(0x81), host: '198.51.100.9', port: 1 }).status, 'rejected', 'same /24')
    assert.equal(t.heardAbout({ id: idOf(0x40), host: '203.0.113.7', port: 1 }).status, 'pending')
    assert.equal(t.unverified()?.host, '198.51.100.1')
    assert.equal(t.unverified()?.host, '203.0.113.7')
    assert.equal(t.unverified(), undefined, 'each once per re-ping interval')
  })

  it('unconfirmed entries never displace confirmed ones, and give way to a confirmed newcomer', () => {
    const { t } = table()
    // Fill the far half (first bit 1) with 8 confirmed nodes and split once.
    for (let i = 0; i < 8; i++) t.seen({ id: idOf(0x80 + i), host: `198.18.${i}.1`, port: 1 }, true)
    t.seen({ id: idOf(0x01), host: '203.0.113.1', port: 1 }, true)
    assert.equal(t.seen({ id: idOf(0xc0), host: '192.0.2.1', port: 1 }, false).status, 'rejected')
    assert.equal(t.heardAbout({ id: idOf(0xc1), host: '192.0.2.2', port: 1 }).status, 'rejected')
    assert.equal(t.size, 9)

    // A spoofer's queries fill the free slots of the near half with unconfirmed entries...
    const { t: u } = table()
    for (let i = 0; i < 8; i++) u.seen({ id: idOf(0x80 + i), host: `198.18.${i}.1`, port: 1 }, false)
    assert.equal(u.pending, 8)
    assert.equal(u.seen({ id: idOf(0x10), host: '203.0.113.50', port: 1 }, false).status, 'pending', 'after a split')
    // ...but a node that answers us takes one of their places at once.
    for (let i = 0; i < 8; i++) {
      const r = u.seen({ id: idOf(0xa0 + i), host: `198.19.${i}.9`, port: 1 }, true)
      assert.equal(r.status, 'added')
    }
    assert.equal(u.size, 8)
  })

  it('a query from a tabled endpoint under a new id earns a ping, not a new entry (one per re-ping interval)', () => {
    const { t, clock } = table()
    t.seen({ id: idOf(0x80), host: '198.51.100.1', port: 1 }, true)
    const r = t.seen({ id: idOf(0x90), host: '198.51.100.1', port: 1 }, false)
    assert.equal(r.status, 'rejected')
    assert.equal(r.ping.length, 1)
    assert.equal(t.seen({ id: idOf(0x91), host: '198.51.100.1', port: 1 }, false).ping.length, 0)
    clock.advance(11_000)
    assert.equal(t.seen({ id: idOf(0x91), host: '198.51.100.1', port: 1 }, false).ping.length, 1)
    // The reply under the new id replaces the old entry (a restarted node).
    assert.equal(t.seen({ id: idOf(0x91), host: '198.51.100.1', port: 1 }, true).status, 'added')
    assert.equal(t.get(idOf(0x80)), undefined)
    assert.equal(t.size, 1)
  })
})
