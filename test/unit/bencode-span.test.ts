import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { fromLatin1, latin1 } from '../../src/codec/bytes.js'
import { CodecError, decode, encode, rawSpan } from '../../src/codec/index.js'

const b = (s: string) => fromLatin1(s)

describe('rawSpan', () => {
  it('returns the exact bytes of a nested value, even when not canonical', () => {
    // A BEP 44 put whose v is a dict with unsorted keys and a leading-zero length: the span keeps them.
    const v = 'd1:bi1e1:a02:xye'
    const pkt = b(`d1:ad2:id20:${'A'.repeat(20)}1:v${v}3:seqi1ee1:q3:put1:t2:aa1:y1:qe`)
    assert.equal(latin1(rawSpan(pkt, ['a', 'v'])!), v)
    assert.equal(latin1(rawSpan(pkt, ['a', 'seq'])!), 'i1e')
    assert.equal(latin1(rawSpan(pkt, ['q'])!), '3:put')
    assert.equal(latin1(rawSpan(pkt, [])!), latin1(pkt))
  })
  it('undefined for missing keys and non-dictionaries', () => {
    const pkt = b('d1:ali1ee1:t1:xe')
    assert.equal(rawSpan(pkt, ['r']), undefined)
    assert.equal(rawSpan(pkt, ['a', 'v']), undefined)
    assert.equal(rawSpan(pkt, ['t', 'x']), undefined)
  })
  it('first occurrence wins', () => {
    assert.equal(latin1(rawSpan(b('d1:ai1e1:ai2ee'), ['a'])!), 'i1e')
  })
  it('broken bencode on the way is a CodecError', () => {
    for (const bad of ['d1:a', 'd1:ai1', 'dx:ai1ee', 'd9:a']) {
      assert.throws(() => rawSpan(b(bad), ['a', 'b']), CodecError, bad)
    }
  })
  it('matches the encoder for every key of random dictionaries (property)', () => {
    const leaf = fc.oneof(fc.integer(), fc.uint8Array({ maxLength: 8 }))
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ maxLength: 4 }),
          fc.oneof(leaf, fc.array(leaf), fc.dictionary(fc.string({ maxLength: 3 }), leaf)),
        ),
        (d) => {
          const wire = encode(d)
          for (const k of Object.keys(d)) {
            const span = rawSpan(wire, [k])
            assert.deepEqual(decode(span!), decode(encode(d[k])))
          }
        },
      ),
      { numRuns: 500 },
    )
  })
  it('random bytes raise only CodecError (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 60 }),
        fc.array(fc.constantFrom('a', 'v', 't'), { maxLength: 3 }),
        (bytes, path) => {
          try {
            rawSpan(bytes, path)
          } catch (e) {
            assert.ok(e instanceof CodecError, String(e))
          }
        },
      ),
      { numRuns: 3000 },
    )
  })
})
