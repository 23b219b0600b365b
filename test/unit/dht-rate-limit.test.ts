// The rate limiter's memory under floods: fresh sources never push a ban out (issue 14: they used to, the map
// forgot its oldest entry when full, and a ban was usually the oldest).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RateLimiter } from '../../src/dht/rate-limit.js'
import { ManualClock } from '../helpers/dht-fixtures.js'

describe('rate limiter memory', () => {
  it('10,000 fresh sources (twice its size) do not lift a ban', () => {
    const clock = new ManualClock()
    const rl = new RateLimiter({ now: () => clock.now(), perSecond: 10, burst: 20, banMs: 60_000 })
    for (let i = 0; i < 25; i++) rl.allow('attacker')
    assert.ok(rl.banned('attacker'))
    for (let i = 0; i < 20_000; i++) rl.allow(`fresh-${i}`)
    assert.ok(rl.banned('attacker'))
    assert.equal(rl.allow('attacker'), false)
    assert.ok(rl.size <= rl.maxEntries + rl.maxBans)
    clock.advance(60_001)
    assert.ok(rl.allow('attacker'), 'the ban still ends on time')
  })

  it('bans are capped too: the one ending soonest goes first', () => {
    const clock = new ManualClock()
    const rl = new RateLimiter({ now: () => clock.now(), perSecond: 1, burst: 1, banMs: 60_000, maxBans: 3 })
    for (const k of ['a', 'b', 'c', 'd']) {
      clock.advance(10)
      rl.allow(k)
      rl.allow(k)
    }
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((k) => rl.banned(k)),
      [false, true, true, true],
    )
    assert.equal(rl.bans, 4)
  })

  it('forgets the least recently seen source first, so a steady one keeps its bucket', () => {
    const clock = new ManualClock()
    const rl = new RateLimiter({ now: () => clock.now(), perSecond: 10, burst: 5, maxEntries: 10 })
    for (let i = 0; i < 5; i++) assert.ok(rl.allow('steady'))
    for (let i = 0; i < 100; i++) {
      rl.allow(`fresh-${i}`)
      if (i % 5 === 0) rl.allow('steady') // seen again: never the least recent
    }
    // Its bucket was kept (not reset): it has overdrawn by now and is banned.
    assert.ok(rl.banned('steady'))
    assert.ok(rl.size <= 11)
    clock.advance(10 * 60_000)
    rl.sweep()
    assert.equal(rl.size, 0)
  })
})
