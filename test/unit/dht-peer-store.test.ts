// The peer store under floods: per-network accounting (prefix-quota.ts) and the eviction rules built on it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PeerStore } from '../../src/dht/peer-store.js'
import { type Held, PrefixQuota } from '../../src/dht/prefix-quota.js'
import { networkPrefix } from '../../src/net/prefix.js'
import { ManualClock, seededRandom } from '../helpers/dht-fixtures.js'

/** A distinct 20-byte info hash per number (0..65535). */
function idOf(n: number): Uint8Array {
  const id = new Uint8Array(20).fill(0x5a)
  id[0] = n >> 8
  id[1] = n & 0xff
  return id
}

const held = (host: string): Held => ({ host, prefix: networkPrefix(host) })

describe('network prefixes', () => {
  it('are the /24 of IPv4 and the /64 of IPv6, loopback and LAN included', () => {
    assert.equal(networkPrefix('203.0.113.77'), '203.0.113')
    assert.equal(networkPrefix('127.0.0.1'), '127.0.0')
    assert.equal(networkPrefix('2001:db8:0:aa::1'), '20010db8000000aa')
    assert.equal(networkPrefix('2001:db8:0:aa:ffff::9'), networkPrefix('2001:db8:0:aa::2'))
    assert.notEqual(networkPrefix('2001:db8:0:ab::1'), networkPrefix('2001:db8:0:aa::1'))
    assert.equal(networkPrefix('not-an-ip'), 'not-an-ip')
  })
})

describe('prefix quota', () => {
  it('counts per network and address, knows the heaviest, and gives up room only to fairness', () => {
    const q = new PrefixQuota<Held>({ maxPerPrefix: 5, maxPerAddress: 3 })
    const a = ['198.51.100.1', '198.51.100.2', '198.51.100.2', '198.51.100.3'].map(held)
    for (const e of a) q.add(e)
    const b = held('203.0.113.9')
    q.add(b)
    assert.equal(q.count('198.51.100'), 4)
    assert.equal(q.addressCount('198.51.100.2'), 2)
    assert.equal(q.heaviest(), '198.51.100')
    // A newcomer holding nothing may take from a network two or more ahead of it; one holding 1 of 4 too.
    assert.equal(q.victimFor('192.0.2'), '198.51.100')
    assert.equal(q.victimFor('203.0.113'), '198.51.100')
    // The heaviest itself replaces its own entries.
    assert.equal(q.victimFor('198.51.100'), '198.51.100')
    // Caps: a fifth entry of the /24 does not fit, nor a fourth of one address.
    assert.ok(q.fits(held('198.51.100.9')))
    q.add(held('198.51.100.9'))
    assert.ok(!q.fits(held('198.51.100.10')))
    assert.equal(q.oldestOwn(held('198.51.100.10')), a[0])
    // Oldest first, and a touch makes an entry the newest.
    q.touch(a[0])
    assert.equal(q.entries('198.51.100').next().value, a[1])
    for (const e of [...a, held('198.51.100.9')]) q.delete(e)
    // Deleting by value identity: the 198.51.100.9 added above was a different object and stays.
    assert.equal(q.count('198.51.100'), 1)
  })

  it('refuses when every network holds the same: nobody is over its share', () => {
    const q = new PrefixQuota<Held>({ maxPerPrefix: 100, maxPerAddress: 100 })
    for (let i = 0; i < 50; i++) q.add(held(`198.51.${i}.1`))
    assert.equal(q.victimFor('203.0.113'), undefined)
    q.add(held('198.51.7.2'))
    assert.equal(q.victimFor('203.0.113'), '198.51.7')
    // The heaviest's max drops back when it shrinks.
    assert.equal(q.victimFor('198.51.8'), undefined)
  })
})

describe('peer store under floods', () => {
  const store = (o: Partial<ConstructorParameters<typeof PeerStore>[0]> = {}) => {
    const clock = new ManualClock()
    return { clock, s: new PeerStore({ now: () => clock.now(), random: seededRandom(7), ...o }) }
  }

  it('a full info hash takes room from the network with most peers in it, never from a lone peer', () => {
    const { s } = store({ maxPerHash: 20 })
    const ih = idOf(1)
    for (let i = 0; i < 5; i++) assert.ok(s.add(ih, { host: `198.51.${i}.1`, port: 6881 }))
    // One /24 fills the rest and keeps announcing new ports: it only ever replaces its own.
    for (let port = 1; port <= 500; port++) s.add(ih, { host: '203.0.113.5', port })
    const got = s.get(ih, 4, 100)
    assert.equal(got.length, 20)
    for (let i = 0; i < 5; i++) assert.ok(got.some((p) => p.host === `198.51.${i}.1`))
    // A new network gets in, at the flooder's expense.
    assert.ok(s.add(ih, { host: '192.0.2.1', port: 1 }))
    assert.equal(s.get(ih, 4, 100).filter((p) => p.host === '203.0.113.5').length, 14)
  })

  it('a full info hash of one peer per network refuses newcomers, unless a network spams many hashes', () => {
    const { s } = store({ maxPerHash: 10 })
    const ih = idOf(2)
    for (let i = 0; i < 10; i++) assert.ok(s.add(ih, { host: `198.51.${i}.1`, port: 6881 }))
    assert.equal(s.add(ih, { host: '192.0.2.1', port: 1 }), false)
    assert.equal(s.refused, 1)
    // 198.51.3.0/24 announces 20 other hashes: now a newcomer may take its place in this one.
    for (let k = 0; k < 20; k++) s.add(idOf(100 + k), { host: '198.51.3.1', port: 6881 })
    assert.ok(s.add(ih, { host: '192.0.2.1', port: 1 }))
    const hosts = s.get(ih, 4, 100).map((p) => p.host)
    assert.ok(!hosts.includes('198.51.3.1'))
    assert.ok(hosts.includes('198.51.0.1'))
  })

  it('when the info hashes are full, only a hash announced by the heaviest network alone is evicted', () => {
    const { s } = store({ maxHashes: 10, maxPeers: 1000 })
    // One hash announced by three networks, three by one network each.
    for (let i = 0; i < 3; i++) s.add(idOf(1), { host: `198.51.${i}.1`, port: 1 })
    for (let i = 0; i < 3; i++) s.add(idOf(2 + i), { host: `192.0.${i}.1`, port: 1 })
    // A flooder from one /24 creates new hashes: it fills the six free slots, then cycles through its own.
    for (let k = 0; k < 200; k++) s.add(idOf(1000 + k), { host: '203.0.113.8', port: 1 })
    assert.equal(s.infoHashes, 10)
    assert.equal(s.get(idOf(1), 4, 10).length, 3)
    for (let i = 0; i < 3; i++) assert.equal(s.get(idOf(2 + i), 4, 10).length, 1)
    assert.equal(s.get(idOf(1199), 4, 10).length, 1, 'its newest hash is kept, its oldest went')
    assert.equal(s.get(idOf(1000), 4, 10).length, 0)
  })

  it('a store full of peers takes from the heaviest network; a flood spread over many networks evicts nobody', () => {
    const { s } = store({ maxPeers: 100, maxPerHash: 100, maxHashes: 100, maxPerPrefix: 100, maxPerAddress: 100 })
    for (let i = 0; i < 10; i++) s.add(idOf(1), { host: `198.51.${i}.1`, port: 1 })
    // 4,000 announces from 1,000 networks (/64s of the documentation range) of 4 addresses each, to 50 hashes.
    for (let k = 0; k < 4000; k++) {
      const net = (k % 1000).toString(16)
      s.add(idOf(10 + (k % 50)), { host: `2001:db8:${net}::${k % 4}`, port: 2 })
    }
    assert.ok(s.peers <= 100)
    assert.equal(s.get(idOf(1), 4, 100).length, 10, 'what was stored before the flood is still served')
    assert.ok(s.refused > 0)
  })

  it('a reply that cannot carry every peer carries one per network first', () => {
    const { s } = store()
    const ih = idOf(7)
    for (let i = 0; i < 5; i++) s.add(ih, { host: `198.51.${i}.1`, port: 6881 })
    for (let port = 1; port <= 195; port++) s.add(ih, { host: `203.0.113.${port}`, port })
    for (let q = 0; q < 20; q++) {
      const got = s.get(ih, 4, 20)
      assert.equal(got.length, 20)
      for (let i = 0; i < 5; i++)
        assert.ok(
          got.some((p) => p.host === `198.51.${i}.1`),
          `query ${q}`,
        )
    }
  })

  it('caps one network and one address over all hashes; refreshes are always accepted', () => {
    const { s, clock } = store({ maxPerPrefix: 8, maxPerAddress: 3 })
    for (let k = 0; k < 10; k++) s.add(idOf(k), { host: '203.0.113.1', port: 1 })
    assert.equal(s.heldBy('203.0.113.1'), 3)
    for (let k = 0; k < 10; k++) s.add(idOf(k), { host: `203.0.113.${10 + k}`, port: 1 })
    assert.equal(s.heldBy('203.0.113.99'), 8)
    assert.ok(s.peers <= 8)
    clock.advance(29 * 60_000)
    assert.ok(s.add(idOf(9), { host: '203.0.113.19', port: 1 }))
    clock.advance(2 * 60_000)
    assert.deepEqual(s.get(idOf(9), 4, 10), [{ host: '203.0.113.19', port: 1 }])
    s.sweep()
    assert.equal(s.peers, 1)
    assert.equal(s.heldBy('203.0.113.19'), 1)
  })
})
