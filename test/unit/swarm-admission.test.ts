// The admission policy for incoming streams before their handshake (src/swarm/admission.ts) and peer turnover
// for held connections (src/swarm/turnover.ts), on a virtual clock.
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import { VirtualClock } from '../../src/net/sim/clock.js'
import { HandshakeAdmission, sourcePrefix } from '../../src/swarm/admission.js'
import { PeerTurnover } from '../../src/swarm/turnover.js'
import type { PeerConnection } from '../../src/wire/peer-connection.js'

describe('sourcePrefix', () => {
  it('is the /24 of IPv4 (loopback included) and the /64 of IPv6', () => {
    assert.equal(sourcePrefix('203.0.113.7'), sourcePrefix('203.0.113.200'))
    assert.notEqual(sourcePrefix('203.0.113.7'), sourcePrefix('203.0.114.7'))
    assert.equal(sourcePrefix('::ffff:203.0.113.9'), sourcePrefix('203.0.113.7'))
    assert.equal(sourcePrefix('127.0.0.1'), sourcePrefix('127.0.0.2'))
    assert.notEqual(sourcePrefix('127.0.0.1'), sourcePrefix('127.0.1.1'))
    assert.equal(sourcePrefix('2001:db8:1:2::1'), sourcePrefix('2001:db8:1:2:ffff::9'))
    assert.notEqual(sourcePrefix('2001:db8:1:2::1'), sourcePrefix('2001:db8:1:3::1'))
    assert.equal(sourcePrefix('not-an-ip'), 'not-an-ip')
  })
})

function pool(options = {}) {
  const clock = new VirtualClock()
  const a = new HandshakeAdmission(clock, { maxPending: 8, ...options })
  const evicted: string[] = []
  const admit = (transport: 'tcp' | 'utp', ip: string, tag = ip) => a.admit(transport, ip, () => evicted.push(tag))
  return { clock, a, evicted, admit }
}

describe('HandshakeAdmission', () => {
  it('uTP and TCP have separate budgets', () => {
    const { a, evicted, admit } = pool()
    for (let i = 0; i < 8; i++) assert.ok(admit('tcp', `203.0.113.${i}`))
    for (let i = 0; i < 8; i++) assert.ok(admit('utp', `198.51.100.${i}`))
    assert.deepEqual(evicted, [])
    assert.equal(a.pending('tcp'), 8)
    assert.equal(a.pending('utp'), 8)
    a.close()
  })

  it('when full, a newcomer evicts the oldest entry of the prefix holding the most', async () => {
    const { a, clock, evicted, admit } = pool({ pressureTimeout: 60_000 })
    assert.ok(admit('tcp', '198.51.100.1', 'lone'))
    await clock.runFor(1)
    for (let i = 0; i < 7; i++) {
      assert.ok(admit('tcp', `203.0.113.${i}`, `flood-${i}`))
      await clock.runFor(1)
    }
    // 100 more from the flooding prefix and another: the lone entry, the oldest of all, is never the victim.
    for (let i = 0; i < 100; i++) assert.ok(admit('tcp', `203.0.113.${10 + (i % 100)}`, `more-${i}`))
    assert.ok(!evicted.includes('lone'))
    assert.deepEqual(evicted.slice(0, 3), ['flood-0', 'flood-1', 'flood-2'])
    assert.equal(a.pending('tcp'), 8)
    // A second prefix gets in, and then holds its own against the flood too.
    assert.ok(admit('tcp', '192.0.2.1', 'second'))
    for (let i = 0; i < 20; i++) admit('tcp', `203.0.113.${120 + i}`, `late-${i}`)
    assert.ok(!evicted.includes('lone') && !evicted.includes('second'))
    a.close()
  })

  it('many prefixes (here /64s) with one entry each: the oldest goes first', () => {
    const { a, evicted, admit } = pool()
    for (let i = 0; i < 8; i++) admit('tcp', `2001:db8:${i}::1`, `p${i}`)
    admit('tcp', '2001:db8:99::1', 'new')
    assert.deepEqual(evicted, ['p0'])
    a.close()
  })

  it('refuses a ninth stream from one IP; a released slot is reusable and release is idempotent', () => {
    const { a, admit } = pool({ maxPending: 64 })
    const tickets = Array.from({ length: 8 }, () => admit('tcp', '203.0.113.5'))
    assert.ok(tickets.every(Boolean))
    assert.equal(admit('tcp', '203.0.113.5'), undefined)
    assert.equal(a.stats.refused, 1)
    tickets[0]?.release()
    tickets[0]?.release()
    assert.equal(a.pending('tcp'), 7)
    assert.ok(admit('tcp', '203.0.113.5'))
    assert.equal(admit('tcp', '203.0.113.5'), undefined)
    a.close()
  })

  it('under pressure (half full) silent streams get pressureTimeout; below it, only the base timeout applies', async () => {
    const { a, clock, evicted, admit } = pool({ pressureTimeout: 2000 })
    for (let i = 0; i < 3; i++) admit('tcp', `203.0.113.${i}`)
    await clock.runFor(5000)
    assert.deepEqual(evicted, [], 'three of eight is no pressure')
    admit('tcp', '203.0.113.3')
    await clock.runFor(300)
    // Four of eight: the three old ones are expired; the new one has its two seconds.
    assert.deepEqual(evicted.sort(), ['203.0.113.0', '203.0.113.1', '203.0.113.2'])
    assert.equal(a.stats.expired, 3)
    assert.equal(a.pending('tcp'), 1)
    await clock.runFor(3000)
    assert.equal(a.pending('tcp'), 1, 'alone again: no pressure')
    a.close()
  })
})

/** Enough of a PeerConnection for the turnover policy. */
function fakeConn(host: string, direction: 'incoming' | 'outgoing' = 'incoming') {
  const e = new EventEmitter() as EventEmitter & {
    remote: { host: string; port: number }
    direction: string
    isClosed: boolean
  }
  e.remote = { host, port: 6881 }
  e.direction = direction
  e.isClosed = false
  return e as unknown as PeerConnection
}

describe('PeerTurnover', () => {
  it('replaces an idle incoming connection, oldest of the biggest prefix; never a useful or dialed one', async () => {
    const clock = new VirtualClock()
    const t = new PeerTurnover(clock)
    const dialed = fakeConn('192.0.2.1', 'outgoing')
    const talker = fakeConn('192.0.2.2')
    const lone = fakeConn('198.51.100.1')
    const crowd = [fakeConn('203.0.113.1'), fakeConn('203.0.113.2')]
    for (const c of [dialed, talker, lone, ...crowd]) {
      t.track(c)
      await clock.runFor(1)
    }
    // Keep-alives and extended handshakes are not useful; anything else is.
    talker.emit('message', { type: 'keep_alive' })
    talker.emit('message', { type: 'extended', id: 0, payload: new Uint8Array(0) })
    assert.ok(!t.isUseful(talker))
    talker.emit('message', { type: 'bitfield', bitfield: new Uint8Array(1) })
    assert.ok(t.isUseful(talker))
    const all = [dialed, talker, lone, ...crowd]
    assert.equal(t.victim(all), crowd[0])
    assert.equal(t.victim([dialed, talker, lone, crowd[1]]), lone, 'equal counts: the oldest')
    assert.equal(t.victim([dialed, talker]), undefined)
  })
})
