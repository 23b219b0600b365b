import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import bencodeAnchor from 'bencode'
import fc from 'fast-check'
import { fromLatin1, utf8 } from '../../src/codec/bytes.js'
import { type BValue, CodecError, decode, decodePrefix, encode } from '../../src/codec/index.js'

const b = (s: string) => fromLatin1(s)

function codeOf(input: string, opts?: Parameters<typeof decode>[1]): string {
  try {
    decode(b(input), opts)
  } catch (e) {
    assert.ok(e instanceof CodecError, `expected CodecError, got ${e}`)
    return e.code
  }
  return 'OK'
}

describe('bencode decode', () => {
  it('decodes every type', () => {
    const v = decode(b('d1:ai-42e1:bl4:spami0ee1:cd0:0:ee')) as Record<string, BValue>
    assert.equal(v.a, -42)
    const list = v.b as BValue[]
    assert.deepEqual(list[0], utf8('spam'))
    assert.equal(list[1], 0)
    assert.deepEqual((v.c as Record<string, BValue>)[''], new Uint8Array(0))
  })

  it('keeps integers beyond 2^53 exact as bigint', () => {
    assert.equal(decode(b('i9007199254740993e')), 9007199254740993n)
    assert.equal(decode(b('i-9007199254740993e')), -9007199254740993n)
    assert.equal(decode(b('i9007199254740991e')), 9007199254740991)
    assert.equal(decode(b('i0000000000000000001e'), { strict: false }), 1)
  })

  const rejects: [string, string][] = [
    ['', 'TRUNCATED'],
    ['i03e', 'LEADING_ZERO'],
    ['i-0e', 'LEADING_ZERO'],
    ['ie', 'UNEXPECTED_BYTE'],
    ['i-e', 'UNEXPECTED_BYTE'],
    ['i12', 'TRUNCATED'],
    ['i1x2e', 'UNEXPECTED_BYTE'],
    ['03:abc', 'LEADING_ZERO'],
    ['-3:abc', 'NEGATIVE_LENGTH'],
    ['5:abc', 'LENGTH_OVERFLOW'],
    ['99999999999999999999:a', 'LENGTH_OVERFLOW'],
    ['3abc', 'UNEXPECTED_BYTE'],
    ['4', 'LENGTH_OVERFLOW'],
    ['1', 'TRUNCATED'],
    ['d1:bi1e1:ai2ee', 'UNSORTED_KEYS'],
    ['d1:ai1e1:ai2ee', 'DUPLICATE_KEY'],
    ['di1ei2ee', 'UNEXPECTED_BYTE'],
    ['i1ei2e', 'TRAILING_BYTES'],
    ['l', 'TRUNCATED'],
    ['d1:a', 'TRUNCATED'],
    ['x', 'UNEXPECTED_BYTE'],
  ]
  for (const [input, code] of rejects) {
    it(`rejects ${JSON.stringify(input)} with ${code}`, () => assert.equal(codeOf(input), code))
  }

  it('limits depth (32 by default)', () => {
    assert.equal(codeOf(`${'l'.repeat(32)}${'e'.repeat(32)}`), 'OK')
    assert.equal(codeOf(`${'l'.repeat(33)}${'e'.repeat(33)}`), 'TOO_DEEP')
    assert.equal(codeOf('llee', { maxDepth: 1 }), 'TOO_DEEP')
    assert.equal(codeOf('l'.repeat(100000)), 'TOO_DEEP')
  })

  it('limits the number of values', () => {
    assert.equal(codeOf('li1ei2ei3ee', { maxItems: 3 }), 'TOO_MANY_ITEMS')
    assert.equal(codeOf('li1ei2ei3ee', { maxItems: 4 }), 'OK')
  })

  it('lenient mode reads non-canonical input, keeping the first duplicate key', () => {
    const v = decode(b('d1:bi1e1:ai2e1:ai3e1:ci03e1:d03:xyze'), { strict: false }) as Record<string, BValue>
    assert.equal(v.a, 2)
    assert.equal(v.b, 1)
    assert.equal(v.c, 3)
    assert.deepEqual(v.d, utf8('xyz'))
    assert.equal(decode(b('i-0e'), { strict: false }), 0)
  })

  it('compares dict keys as raw bytes', () => {
    assert.equal(codeOf('d1:\x7fi1e1:\x80i2ee'), 'OK')
    assert.equal(codeOf('d1:\x80i1e1:\x7fi2ee'), 'UNSORTED_KEYS')
    assert.equal(codeOf('d1:ai1e2:aai2ee'), 'OK')
  })

  it('dicts have no prototype: __proto__ is a plain key', () => {
    const v = decode(b('d9:__proto__i1ee')) as Record<string, BValue>
    assert.equal(Object.getPrototypeOf(v), null)
    assert.equal(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, 1)
  })

  it('decodePrefix returns the end offset and allows trailing bytes', () => {
    const { value, end } = decodePrefix(b('xxi7eyy'), 2)
    assert.equal(value, 7)
    assert.equal(end, 5)
  })
})

describe('bencode encode', () => {
  it('sorts keys as raw bytes and skips undefined', () => {
    const out = encode({ b: 1, a: 'x', c: undefined, '\x80': 2, Z: new Uint8Array([0, 255]) })
    assert.deepEqual(out, b('d1:Z2:\x00\xff1:a1:x1:bi1e1:\x80i2ee'))
  })
  it('encodes UTF-8 strings by byte length, and bigints', () => {
    assert.deepEqual(encode('é'), b('2:\xc3\xa9'))
    assert.deepEqual(encode(2n ** 64n), b('i18446744073709551616e'))
    assert.deepEqual(encode([-1, 0]), b('li-1ei0ee'))
  })
  it('rejects what bencode cannot hold', () => {
    for (const bad of [1.5, Number.NaN, 2 ** 60, null, true, { k: () => 1 }] as unknown[]) {
      assert.throws(
        () => encode(bad as never),
        (e: unknown) => e instanceof CodecError && e.code === 'NOT_ENCODABLE',
      )
    }
  })
  it('grows past its scratch buffer', () => {
    const big = new Uint8Array(100_000).fill(7)
    const out = encode([big, big])
    assert.equal(out.length, 2 * (100_000 + 7) + 2)
    assert.deepEqual((decode(out) as Uint8Array[])[1], big)
  })
})

const bvalue: fc.Arbitrary<BValue> = fc.letrec<{ v: BValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer(),
    fc
      .bigInt({ min: -(2n ** 80n), max: 2n ** 80n })
      .map((x) => (Number.isSafeInteger(Number(x)) && BigInt(Number(x)) === x ? Number(x) : x)),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc
      .dictionary(
        fc.string({ maxLength: 6 }).map((s) => s.replace(/[^\x00-\xff]/g, 'x')),
        tie('v'),
        { maxKeys: 5 },
      )
      .map((d) => Object.assign(Object.create(null), d) as BValue),
  ),
})).v

describe('bencode properties', () => {
  it('decode(encode(v)) equals v, and encode(decode(x)) equals x', () => {
    fc.assert(
      fc.property(bvalue, (v) => {
        const enc = encode(v)
        const dec = decode(enc)
        assert.deepEqual(dec, v)
        assert.deepEqual(encode(dec), enc)
      }),
      { numRuns: 2000 },
    )
  })

  it('agrees with the bencode package on canonical data', () => {
    fc.assert(
      fc.property(bvalue, (v) => {
        // The anchor has no bigint support; compare on what both can hold.
        fc.pre(!JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? 'BIG!' : x)).includes('BIG!'))
        assert.deepEqual(Buffer.from(encode(v)), Buffer.from(bencodeAnchor.encode(v as never)))
      }),
      { numRuns: 500 },
    )
  })

  it('random and mutated input raises only CodecError', () => {
    const seeds = [
      encode({ a: [1, 2, new Uint8Array(5)], t: 'aa', y: 'q' }),
      b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'),
    ]
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc
            .tuple(
              fc.constantFrom(...seeds),
              fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
            )
            .map(([s, muts]) => {
              const m = s.slice()
              for (const [i, x] of muts) m[i % m.length] = x
              return m
            }),
        ),
        fc.boolean(),
        (input, strict) => {
          try {
            decode(input, { strict })
          } catch (e) {
            if (!(e instanceof CodecError)) throw e
          }
        },
      ),
      { numRuns: 20000 },
    )
  })
})
