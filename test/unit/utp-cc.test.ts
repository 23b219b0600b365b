import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DelayHistory, Ledbat } from '../../src/utp/ledbat.js'
import { RttEstimator } from '../../src/utp/rtt.js'
import { seqAdd, seqDiff, seqLt, seqLte } from '../../src/utp/seq.js'

describe('16-bit sequence arithmetic', () => {
  it('wraps at 65535', () => {
    assert.equal(seqAdd(65535, 1), 0)
    assert.equal(seqAdd(0, -1), 65535)
    assert.equal(seqDiff(2, 65534), 4)
    assert.equal(seqDiff(65534, 2), -4)
    assert.ok(seqLt(65530, 5))
    assert.ok(!seqLt(5, 65530))
    assert.ok(seqLte(7, 7))
    assert.equal(seqDiff(32768, 0), -32768)
  })
})

describe('RTT and RTO', () => {
  it('starts at 1 s, follows BEP 29 smoothing, floors at 500 ms, backs off and caps', () => {
    const r = new RttEstimator()
    assert.equal(r.rto, 1000)
    r.sample(100)
    assert.equal(r.rtt, 100)
    assert.equal(r.rto, 500) // 100 + 4 × 50 = 300, floored to 500
    r.sample(900)
    // delta = 100 - 900: var += (800 - 50) / 4; rtt += 800 / 8
    assert.equal(r.rtt, 200)
    assert.equal(r.rttVar, 50 + 750 / 4)
    assert.equal(r.rto, 200 + 4 * (50 + 750 / 4))
    const base = r.rto
    r.onTimeout()
    r.onTimeout()
    assert.equal(r.rto, base * 4)
    for (let i = 0; i < 20; i++) r.onTimeout()
    assert.equal(r.rto, 60_000)
    r.onProgress()
    assert.equal(r.rto, base)
  })
})

describe('LEDBAT', () => {
  it('base delay is the minimum over the history, and queueing delay is measured against it', () => {
    const h = new DelayHistory(120_000)
    assert.equal(h.add(50_000, 0), 0)
    assert.equal(h.add(70_000, 10), 20_000)
    assert.equal(h.add(40_000, 20), 0)
    assert.equal(h.base, 40_000)
    // Old minima expire after the history window.
    for (let t = 30_000; t <= 150_000; t += 30_000) h.add(60_000, t)
    assert.equal(h.base, 60_000)
  })

  it('handles u32 wrap-around of delay samples', () => {
    const h = new DelayHistory(120_000)
    h.add(0xfffffff0, 0)
    assert.equal(h.add(0x10, 1), 0x20, 'a sample just past the wrap is 32 µs more, not 4 billion less')
    assert.equal(h.base, 0xfffffff0)
  })

  it('grows below target, shrinks above it, halves on loss, never below the minimum', () => {
    const l = new Ledbat({ minWindow: 3000, initialWindow: 10_000 })
    l.slowStart = false
    l.onDelaySample(1000, 0) // base
    l.onDelaySample(1000, 1)
    const w0 = l.cwnd
    l.onAck(10_000, true)
    assert.ok(l.cwnd > w0, 'no queueing delay: grows')
    assert.ok(l.cwnd - w0 <= 3000, 'by at most the gain per window')
    const w1 = l.cwnd
    l.onAck(10_000, false)
    assert.equal(l.cwnd, w1, 'application-limited: no growth')
    l.onDelaySample(1000 + 200_000, 2) // 200 ms of queueing: twice the target
    l.onAck(10_000, true)
    assert.ok(l.cwnd < w1, 'above target: shrinks')
    const w2 = l.cwnd
    l.onLoss()
    assert.equal(l.cwnd, Math.max(w2 / 2, 3000))
    for (let i = 0; i < 10; i++) l.onLoss()
    assert.equal(l.cwnd, 3000)
    l.onTimeout()
    assert.equal(l.cwnd, 3000)
  })

  it('slow start doubles per window until loss', () => {
    const l = new Ledbat({ initialWindow: 4000 })
    l.onAck(4000, true)
    assert.equal(l.cwnd, 8000)
    l.onLoss()
    assert.equal(l.slowStart, false)
    assert.equal(l.cwnd, 4000)
  })
})
