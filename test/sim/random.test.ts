import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SeededRandom } from '../../src/net/sim/random.js'

describe('SeededRandom', () => {
  it('matches the xoshiro128** reference output for state {1, 2, 3, 4}', () => {
    const r = SeededRandom.fromState(1, 2, 3, 4)
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map(() => r.uint32()),
      [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
    )
  })

  it('is reproducible per seed and differs between seeds', () => {
    const seq = (seed: number | string) => {
      const r = new SeededRandom(seed)
      return [...Array(8)].map(() => r.uint32())
    }
    assert.deepEqual(seq(42), seq(42))
    assert.deepEqual(seq('node-7'), seq('node-7'))
    assert.notDeepEqual(seq(42), seq(43))
    assert.notDeepEqual(seq(0), seq(1))
    assert.ok(
      seq(0).some((x) => x !== 0),
      'seed 0 must still give a mixed state',
    )
  })

  it('int stays in range and is roughly uniform; float is in [0, 1)', () => {
    const r = new SeededRandom(7)
    const counts = new Array(6).fill(0)
    for (let i = 0; i < 60_000; i++) {
      const x = r.int(10, 16)
      assert.ok(x >= 10 && x < 16 && Number.isInteger(x))
      counts[x - 10]++
    }
    for (const c of counts) assert.ok(c > 9_400 && c < 10_600, `bucket count ${c}`)
    for (let i = 0; i < 10_000; i++) {
      const f = r.float()
      assert.ok(f >= 0 && f < 1)
    }
    assert.throws(() => r.int(5, 5), RangeError)
  })

  it('bytes, pick, shuffle, chance and fork', () => {
    const r = new SeededRandom(3)
    for (const n of [0, 1, 3, 4, 5, 20]) assert.equal(r.bytes(n).length, n)
    const b = r.bytes(4096)
    assert.ok(new Set(b).size > 200, 'bytes cover the byte range')
    const items = [...Array(50).keys()]
    const shuffled = r.shuffle([...items])
    assert.notDeepEqual(shuffled, items)
    assert.deepEqual(
      [...shuffled].sort((x, y) => x - y),
      items,
    )
    assert.ok(items.includes(r.pick(items)))
    assert.throws(() => r.pick([]), RangeError)
    assert.equal(r.chance(0), false)
    assert.equal(r.chance(1), true)
    const a = r.fork()
    const c = r.fork()
    assert.notEqual(a.uint32(), c.uint32())
  })
})
