// NAT mapping kind from reporters' views of our endpoint, and who does what in the birthday strategy.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { VirtualClock } from '../../src/net/sim/clock.js'
import { BirthdayBudget, chooseStrategy } from '../../src/swarm/birthday.js'
import { ReachabilityTracker } from '../../src/swarm/reachability.js'

const WAN = '203.0.113.7'
const reporter = (i: number) => ({ host: `198.51.100.${10 + i}`, port: 6881 })

describe('ReachabilityTracker', () => {
  it('is unknown with one reporter, however many reports it sends', () => {
    const t = new ReachabilityTracker(6881)
    for (let i = 0; i < 10; i++) t.report({ host: WAN, port: 6881 }, { host: '198.51.100.10', port: 6881 + i })
    assert.equal(t.current.kind, 'unknown')
    assert.equal(t.current.reporters, 1)
  })

  it('consistent: two reporters at different addresses see the same port; one liar more does not change it', () => {
    const t = new ReachabilityTracker(6881)
    const changes: string[] = []
    t.on('change', (r) => changes.push(r.kind))
    t.report({ host: WAN, port: 6881 }, reporter(0))
    t.report({ host: WAN, port: 6881 }, reporter(1))
    assert.equal(t.current.kind, 'consistent')
    assert.deepEqual(t.current.external, [{ host: WAN, port: 6881 }])
    assert.equal(t.current.learnt, 'dht')
    t.report({ host: WAN, port: 50000 }, reporter(2))
    assert.equal(t.current.kind, 'consistent')
    assert.deepEqual(changes, ['unknown', 'consistent'])
  })

  it('random: each reporter sees another port', () => {
    const t = new ReachabilityTracker(6881)
    t.report({ host: WAN, port: 40001 }, reporter(0))
    assert.equal(t.current.kind, 'unknown')
    t.report({ host: WAN, port: 40002 }, reporter(1))
    assert.equal(t.current.kind, 'random')
    t.report({ host: WAN, port: 40003 }, reporter(2))
    assert.equal(t.current.kind, 'random')
    assert.equal(t.current.external.length, 3)
  })

  it('public: our own address and port', () => {
    const t = new ReachabilityTracker(6881, { isLocalAddress: (h) => h === WAN })
    t.report({ host: WAN, port: 6881 }, reporter(0))
    t.report({ host: WAN, port: 6881 }, reporter(1))
    assert.equal(t.current.kind, 'public')
  })

  it('reports of a minority address are left out; bad ports are ignored', () => {
    const t = new ReachabilityTracker(6881)
    t.report({ host: WAN, port: 6881 }, reporter(0))
    t.report({ host: WAN, port: 6881 }, reporter(1))
    t.report({ host: '192.0.2.99', port: 1 }, reporter(2))
    assert.equal(t.report({ host: WAN, port: 0 }, reporter(3)), false)
    assert.equal(t.current.kind, 'consistent')
    assert.equal(t.current.reporters, 2)
  })

  it('remembers at most maxReporters addresses (oldest dropped)', () => {
    const t = new ReachabilityTracker(6881, { maxReporters: 4 })
    for (let i = 0; i < 4; i++) t.report({ host: WAN, port: 40000 + i }, reporter(i))
    assert.equal(t.current.kind, 'random')
    for (let i = 4; i < 8; i++) t.report({ host: WAN, port: 6881 }, reporter(i))
    assert.equal(t.current.kind, 'consistent')
    assert.equal(t.current.reporters, 4)
  })
})

describe('chooseStrategy', () => {
  const asked = { host: WAN, port: 6881 }
  const kept = { host: WAN, port: 6881 }
  const changed = { host: WAN, port: 51234 }
  it('the asker: random × changed port → symmetric; random × kept → sockets; other × changed → probe, × kept → probe late', () => {
    assert.equal(chooseStrategy('random', changed, asked), 'symmetric')
    assert.equal(chooseStrategy('random', kept, asked), 'sockets')
    assert.equal(chooseStrategy('consistent', changed, asked), 'probe')
    assert.equal(chooseStrategy('unknown', changed, asked), 'probe')
    assert.equal(chooseStrategy('public', kept, asked), 'probe-late')
    assert.equal(chooseStrategy('consistent', kept, asked), 'probe-late')
  })
  it('the target never probes: sockets when random, else plain', () => {
    for (const named of [kept, changed]) {
      assert.equal(chooseStrategy('random', named, undefined), 'sockets')
      for (const own of ['consistent', 'public', 'unknown'] as const)
        assert.equal(chooseStrategy(own, named, undefined), 'plain')
    }
  })
})

describe('BirthdayBudget', () => {
  it('allows perMinute attempts per role in any minute, and never more than 16', async () => {
    const clock = new VirtualClock()
    const b = new BirthdayBudget(clock, 2)
    assert.equal(b.take('sockets'), true)
    assert.equal(b.take('sockets'), true)
    assert.equal(b.take('sockets'), false)
    assert.equal(b.take('probe'), true)
    await clock.runFor(60_000)
    assert.equal(b.take('sockets'), true)
    assert.equal(new BirthdayBudget(clock, 1000).perMinute, 16)
  })
})
