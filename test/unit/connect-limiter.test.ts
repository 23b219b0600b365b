import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { VirtualClock } from '../../src/net/sim/clock.js'
import { ConnectLimiter } from '../../src/swarm/connect-limiter.js'

describe('ConnectLimiter', () => {
  it('caps connects per relay within the window, then admits again', async () => {
    const clock = new VirtualClock()
    const l = new ConnectLimiter(clock, { perRelay: 2, overall: 10, window: 1000, maxInFlight: 100 })
    const r = {}
    assert.equal(l.admit(r), true)
    assert.equal(l.admit(r), true)
    assert.equal(l.admit(r), 'relay_rate')
    assert.equal(l.admit({}), true, 'another relay is not affected')
    await clock.runFor(1000)
    assert.equal(l.admit(r), true)
    assert.equal(l.stats.refused.relay_rate, 1)
  })

  it('caps connects from all relays together', () => {
    const l = new ConnectLimiter(new VirtualClock(), { perRelay: 5, overall: 3, window: 1000, maxInFlight: 100 })
    assert.deepEqual(
      [{}, {}, {}, {}].map((r) => l.admit(r)),
      [true, true, true, 'overall_rate'],
    )
  })

  it('bounds punches in flight until released', () => {
    const l = new ConnectLimiter(new VirtualClock(), { perRelay: 10, overall: 10, maxInFlight: 1 })
    assert.equal(l.admit({}), true)
    assert.equal(l.admit({}), 'in_flight')
    l.release()
    assert.equal(l.admit({}), true)
    assert.equal(l.punchesInFlight, 1)
  })
})
