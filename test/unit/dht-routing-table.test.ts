import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { commonPrefixLength, compareDistance } from '../../src/codec/node-id.js'
import { RoutingTable } from '../../src/dht/routing-table.js'
import { BAD_FAILS, GOOD_MS } from '../../src/dht/table-node.js'
import { idOf, ManualClock, seededRandom } from '../helpers/dht-fixtures.js'

const own = idOf(0x00)
function table(opts: { restrictIps?: boolean; k?: number } = {}) {
  const clock = new ManualClock()
  return { clock, t: new RoutingTable(own, { now: () => clock.now(), ...opts }) }
}

describe('routing table', () => {
  it('tables replying nodes, splits only the bucket holding our id', () => {
    const { t } = table()
    // 8 nodes in the far half (first bit 1) fill bucket 0 before any split.
    for (let i = 0; i < 8; i++)
      assert.equal(t.seen({ id: idOf(0x80 + i), host: '127.0.0.1', port: 1000 + i }, true).status, 'added')
    assert.equal(t.size, 8)
    // A 9th far node forces a split of the only bucket; it still does not fit the far half (8 there).
    const r = t.seen({ id: idOf(0x90), host: '127.0.0.1', port: 2000 }, true)
    assert.equal(r.status, 'replacement')
    assert.equal(t.bucketCount, 2)
    // Nodes near us go into the near bucket, which splits as needed.
    for (let i = 0; i < 20; i++) t.seen({ id: idOf(0x01 + i), host: '127.0.0.1', port: 3000 + i }, true)
    assert.ok(t.bucketCount > 2)
    // The far bucket never split: still exactly 8 nodes with first bit 1.
    assert.equal(t.nodes().filter((n) => n.id[0] >= 0x80).length, 8)
  })

  it('never confirms a node that only queried us: it waits unconfirmed and the table asks to ping it', () => {
    const { t } = table()
    const r = t.seen({ id: idOf(0x40), host: '127.0.0.1', port: 1 }, false)
    assert.equal(r.status, 'pending')
    assert.equal(r.ping.length, 1)
    assert.equal(t.size, 0)
    assert.deepEqual(t.closest(idOf(0x40)), [])
  })

  it('replaces bad nodes with replacements and asks to ping questionable ones', () => {
    const { t, clock } = table()
    for (let i = 0; i < 8; i++) t.seen({ id: idOf(0x80 + i), host: '127.0.0.1', port: 1000 + i }, true)
    t.seen({ id: idOf(0x01), host: '127.0.0.1', port: 999 }, true) // forces the first split
    clock.advance(GOOD_MS + 1)
    const r = t.seen({ id: idOf(0xf0), host: '127.0.0.1', port: 5000 }, true)
    assert.equal(r.status, 'replacement')
    assert.equal(r.ping.length, 8) // all far nodes are questionable now
    const victim = idOf(0x83)
    for (let i = 0; i < BAD_FAILS; i++) t.failed(victim)
    assert.equal(t.get(victim), undefined)
    assert.ok(t.get(idOf(0xf0)))
  })

  it('closest() is sorted by XOR distance and leaves out bad nodes', () => {
    const { t } = table()
    const rnd = seededRandom(7)
    for (let i = 0; i < 300; i++) t.seen({ id: rnd.bytes(20).slice(), host: '127.0.0.1', port: 1 + i }, true)
    const target = rnd.bytes(20).slice()
    const c = t.closest(target, 8)
    assert.equal(c.length, 8)
    for (let i = 1; i < c.length; i++) assert.ok(compareDistance(target, c[i - 1].id, c[i].id) < 0)
    t.failed(c[0].id)
    t.failed(c[0].id)
    assert.ok(!t.closest(target, 8).some((n) => n.id === c[0].id))
  })

  it('closest() equals a brute-force sort of the confirmed, not-bad nodes for targets near and far', () => {
    // closest() visits buckets in distance order and stops early; any slip in that order shows up here.
    const rnd = seededRandom(11)
    for (let round = 0; round < 20; round++) {
      const { t } = table({ k: 1 + (round % 8) })
      for (let i = 0; i < 400; i++) {
        // Half the ids share a long prefix with ours, so the table splits deep.
        const id = rnd.bytes(20).slice()
        if (i % 2 === 0) id.fill(0, 0, 1 + (i % 3))
        t.seen({ id, host: '127.0.0.1', port: 1 + i }, i % 5 !== 0)
      }
      const all = t.nodes()
      for (const n of all.slice(0, 3)) for (let f = 0; f < BAD_FAILS; f++) t.failed(n.id)
      const live = t.nodes().filter((n) => n.fails < BAD_FAILS)
      for (let q = 0; q < 30; q++) {
        const target = q % 3 === 0 ? all[q % all.length].id.slice() : rnd.bytes(20).slice()
        if (q % 3 === 1) target.fill(0, 0, 1 + (q % 4))
        for (const want of [1, 8, 20]) {
          const expect = [...live].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, want)
          assert.deepEqual(
            t.closest(target, want).map((n) => n.port),
            expect.map((n) => n.port),
            `round ${round} query ${q} n ${want}`,
          )
        }
      }
    }
  })

  it('every node sits in the bucket its prefix says, and no bucket holds more than k', () => {
    const { t } = table()
    const rnd = seededRandom(3)
    for (let i = 0; i < 2000; i++) {
      const id = rnd.bytes(20).slice()
      if (i % 3 === 0) id[0] = 0 // plenty of nodes near us
      t.seen({ id, host: '127.0.0.1', port: 1 + i }, true)
    }
    const perBucket = new Map<number, number>()
    for (const n of t.nodes()) {
      const b = Math.min(commonPrefixLength(own, n.id), t.bucketCount - 1)
      perBucket.set(b, (perBucket.get(b) ?? 0) + 1)
    }
    for (const c of perBucket.values()) assert.ok(c <= 8)
    assert.ok(t.size > 40)
  })

  it('IP diversity: one entry per public IP, one per /24 in a bucket; loopback and private exempt', () => {
    const { t } = table()
    assert.equal(t.seen({ id: idOf(0x80), host: '198.51.100.1', port: 1 }, true).status, 'added')
    assert.equal(t.seen({ id: idOf(0x81), host: '198.51.100.1', port: 2 }, true).status, 'rejected')
    assert.equal(t.seen({ id: idOf(0x82), host: '198.51.100.2', port: 1 }, true).status, 'rejected') // same /24
    assert.equal(t.seen({ id: idOf(0x83), host: '203.0.113.9', port: 1 }, true).status, 'added')
    // The same endpoint with a new id is a restarted node: it replaces the old entry.
    assert.equal(t.seen({ id: idOf(0x84), host: '198.51.100.1', port: 1 }, true).status, 'added')
    assert.equal(t.get(idOf(0x80)), undefined)
    for (let i = 0; i < 3; i++)
      assert.equal(t.seen({ id: idOf(0x90 + i), host: '127.0.0.1', port: 10 + i }, true).status, 'added')
    for (let i = 0; i < 2; i++)
      assert.equal(t.seen({ id: idOf(0xa0 + i), host: '192.168.1.1', port: 10 + i }, true).status, 'added')
    const v6 = table().t
    assert.equal(v6.seen({ id: idOf(0x80), host: '2001:db8::1', port: 1 }, true).status, 'added')
    assert.equal(v6.seen({ id: idOf(0x81), host: '2001:db8::2', port: 1 }, true).status, 'rejected') // same /64
    assert.equal(v6.seen({ id: idOf(0x82), host: '2001:db8:0:1::2', port: 1 }, true).status, 'added')
  })

  it('restrictIps: false turns IP diversity off', () => {
    const { t } = table({ restrictIps: false })
    assert.equal(t.seen({ id: idOf(0x80), host: '198.51.100.1', port: 1 }, true).status, 'added')
    assert.equal(t.seen({ id: idOf(0x81), host: '198.51.100.1', port: 2 }, true).status, 'added')
  })

  it('reset() re-keys the table for a new own id', () => {
    const { t } = table()
    const rnd = seededRandom(11)
    for (let i = 0; i < 200; i++) t.seen({ id: rnd.bytes(20).slice(), host: '127.0.0.1', port: 1 + i }, true)
    const before = t.size
    const fresh = rnd.bytes(20).slice()
    t.reset(fresh)
    assert.equal(t.id, fresh)
    assert.ok(t.size > 0 && t.size <= before + 16)
    for (const n of t.nodes()) assert.ok(commonPrefixLength(fresh, n.id) < 160)
  })

  it('reports buckets idle for 15 minutes and the stalest questionable node', () => {
    const { t, clock } = table()
    t.seen({ id: idOf(0x80), host: '127.0.0.1', port: 1 }, true)
    assert.deepEqual(t.staleBuckets(), [])
    clock.advance(GOOD_MS + 1)
    assert.deepEqual(t.staleBuckets(), [0])
    assert.equal(t.stalest()?.port, 1)
    assert.equal(t.stalest(), undefined) // not handed out twice in a row
  })
})
