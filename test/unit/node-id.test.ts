import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { compareBytes } from '../../src/codec/bytes.js'
import {
  CodecError,
  compareDistance,
  fromHex,
  isNodeId,
  randomNodeId,
  randomTransactionId,
  sortByDistance,
  toHex,
  xorDistance,
} from '../../src/codec/index.js'
import { bucketIndex, commonPrefixLength, randomIdInBucket } from '../../src/codec/node-id.js'

/** A deterministic byte source (xorshift32) so tests are reproducible. */
function seeded(seed: number) {
  let s = seed || 1
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) {
        s ^= s << 13
        s ^= s >>> 17
        s ^= s << 5
        out[i] = s & 0xff
      }
      return out
    },
  }
}

const id20 = fc.uint8Array({ minLength: 20, maxLength: 20 })

describe('node ids', () => {
  it('random ids come from the given source, as copies', () => {
    const buf = new Uint8Array(32).fill(9)
    const a = randomNodeId(() => buf)
    assert.equal(a.length, 20)
    buf.fill(0)
    assert.deepEqual(a, new Uint8Array(20).fill(9))
    const r = seeded(42)
    assert.notDeepEqual(randomNodeId(r), randomNodeId(r))
    assert.ok(isNodeId(randomNodeId(r)))
    assert.throws(
      () => randomNodeId(() => new Uint8Array(3)),
      (e: unknown) => e instanceof CodecError,
    )
  })

  it('xor distance', () => {
    const a = fromHex('ff'.repeat(20))!
    const b = fromHex('0f'.repeat(20))!
    assert.equal(toHex(xorDistance(a, b)), 'f0'.repeat(20))
    assert.throws(
      () => xorDistance(a, new Uint8Array(19)),
      (e: unknown) => e instanceof CodecError && e.code === 'BAD_LENGTH',
    )
  })

  it('compareDistance orders like comparing xor distances (property)', () => {
    fc.assert(
      fc.property(id20, id20, id20, (t, a, b) => {
        const want = Math.sign(compareBytes(xorDistance(t, a), xorDistance(t, b)))
        assert.equal(Math.sign(compareDistance(t, a, b)), want)
      }),
    )
  })

  it('sortByDistance puts the closest first', () => {
    const t = new Uint8Array(20)
    const ids = [0x80, 0x01, 0x40, 0x00].map((x) => {
      const b = new Uint8Array(20)
      b[0] = x
      return b
    })
    assert.deepEqual(
      sortByDistance(t, ids, (x) => x).map((x) => x[0]),
      [0x00, 0x01, 0x40, 0x80],
    )
  })

  it('bucket index is the common prefix length', () => {
    const own = new Uint8Array(20)
    const other = new Uint8Array(20)
    assert.equal(bucketIndex(own, other), 160)
    other[0] = 0x80
    assert.equal(bucketIndex(own, other), 0)
    other[0] = 0x01
    assert.equal(bucketIndex(own, other), 7)
    other[0] = 0
    other[19] = 1
    assert.equal(bucketIndex(own, other), 159)
  })

  it('randomIdInBucket lands in the asked bucket (property)', () => {
    fc.assert(
      fc.property(id20, fc.integer({ min: 0, max: 160 }), fc.integer(), (own, prefix, seed) => {
        const id = randomIdInBucket(own, prefix, seeded(seed))
        assert.equal(commonPrefixLength(own, id), prefix)
      }),
    )
  })
})

describe('transaction ids', () => {
  it('random ids default to 2 bytes', () => {
    assert.equal(randomTransactionId(seeded(1)).length, 2)
    assert.equal(randomTransactionId(seeded(1), 4).length, 4)
    assert.throws(() => randomTransactionId(seeded(1), 0), CodecError)
  })
})
