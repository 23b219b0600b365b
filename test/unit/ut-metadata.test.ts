// BEP 9 ut_metadata messages: round trips, the size rules (piece index within metadata_size / 16 KiB, data
// exactly 16 KiB except the last piece) and hostile payloads failing only with CodecError.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { utf8 } from '../../src/codec/bytes.js'
import {
  CodecError,
  decodeUtMetadata,
  encode,
  encodeUtMetadata,
  METADATA_PIECE_SIZE,
  metadataPieceCount,
  metadataPieceLength,
} from '../../src/codec/index.js'

function code(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    assert.ok(e instanceof CodecError, String(e))
    return e.code
  }
  assert.fail('did not throw')
}

const SIZE = 2 * METADATA_PIECE_SIZE + 100 // three pieces, the last 100 bytes

describe('ut_metadata', () => {
  it('encodes the BEP 9 examples byte for byte', () => {
    assert.equal(new TextDecoder().decode(encodeUtMetadata({ type: 'request', piece: 0 })), 'd8:msg_typei0e5:piecei0ee')
    assert.equal(new TextDecoder().decode(encodeUtMetadata({ type: 'reject', piece: 0 })), 'd8:msg_typei2e5:piecei0ee')
    const data = encodeUtMetadata({ type: 'data', piece: 2, totalSize: SIZE, data: new Uint8Array(100).fill(7) })
    const head = 'd8:msg_typei1e5:piecei2e10:total_sizei32868ee'
    assert.equal(new TextDecoder().decode(data.subarray(0, head.length)), head)
    assert.equal(data.length, head.length + 100)
  })

  it('round-trips every message', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 22 }),
        fc.nat(),
        fc.constantFrom('request', 'reject', 'data'),
        (size, p, t) => {
          const piece = p % metadataPieceCount(size)
          const msg =
            t === 'data'
              ? {
                  type: t,
                  piece,
                  totalSize: size,
                  data: new Uint8Array(metadataPieceLength(size, piece)).fill(piece & 0xff),
                }
              : { type: t, piece }
          const back = decodeUtMetadata(encodeUtMetadata(msg as never), { metadataSize: size })
          assert.deepEqual(back, msg)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('checks sizes against metadata_size', () => {
    const ctx = { metadataSize: SIZE }
    const full = new Uint8Array(METADATA_PIECE_SIZE)
    assert.equal(
      code(() => decodeUtMetadata(encode({ msg_type: 0, piece: 3 }), ctx)),
      'BAD_VALUE',
    ) // out of range
    assert.equal(
      code(() => decodeUtMetadata(encode({ msg_type: 0, piece: -1 }), ctx)),
      'BAD_VALUE',
    )
    const dataMsg = (piece: number, total: number, n: number) =>
      new Uint8Array([...encode({ msg_type: 1, piece, total_size: total }), ...new Uint8Array(n)])
    assert.equal(decodeUtMetadata(dataMsg(0, SIZE, METADATA_PIECE_SIZE), ctx).type, 'data')
    assert.equal(
      code(() => decodeUtMetadata(dataMsg(0, SIZE, METADATA_PIECE_SIZE - 1), ctx)),
      'BAD_LENGTH',
    )
    assert.equal(
      code(() => decodeUtMetadata(dataMsg(2, SIZE, METADATA_PIECE_SIZE), ctx)),
      'BAD_LENGTH',
    ) // last is 100
    assert.equal(
      code(() => decodeUtMetadata(dataMsg(2, SIZE, 101), ctx)),
      'BAD_LENGTH',
    )
    assert.equal(
      code(() => decodeUtMetadata(dataMsg(1, SIZE + 1, METADATA_PIECE_SIZE), ctx)),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => decodeUtMetadata(dataMsg(0, 2 ** 40, METADATA_PIECE_SIZE))),
      'BAD_VALUE',
    ) // 1 TiB
    assert.equal(
      code(() => decodeUtMetadata(encode({ msg_type: 1, piece: 0 }), ctx)),
      'MISSING_KEY',
    )
    assert.equal(
      code(() => decodeUtMetadata(encode({ msg_type: 9, piece: 0 }), ctx)),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => decodeUtMetadata(encode({ piece: 0 }), ctx)),
      'MISSING_KEY',
    )
    assert.equal(
      code(() => decodeUtMetadata(encode([1, 2]), ctx)),
      'BAD_TYPE',
    )
    assert.equal(
      code(() => decodeUtMetadata(utf8('d8:msg_typei0e5:piecei0eexx'), ctx)),
      'TRAILING_BYTES',
    )
    assert.equal(
      code(() => encodeUtMetadata({ type: 'data', piece: 0, totalSize: SIZE, data: full.subarray(1) })),
      'BAD_LENGTH',
    )
    assert.equal(
      code(() => encodeUtMetadata({ type: 'data', piece: 3, totalSize: SIZE, data: full })),
      'BAD_VALUE',
    )
  })

  it('fails only with CodecError on hostile payloads (fuzz)', () => {
    const valid = [
      encodeUtMetadata({ type: 'request', piece: 1 }),
      encodeUtMetadata({ type: 'data', piece: 2, totalSize: SIZE, data: new Uint8Array(100) }),
    ]
    const mutated = fc
      .tuple(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
      )
      .map(([v, edits, cut]) => {
        const b = v.slice(0, v.length - (cut % 4))
        for (const [at, x] of edits) b[at % b.length] = x
        return b
      })
    fc.assert(
      fc.property(
        fc.oneof(mutated, fc.uint8Array({ maxLength: 64 })),
        fc.option(fc.nat({ max: 1 << 20 }), { nil: undefined }),
        (b, size) => {
          try {
            decodeUtMetadata(b, { metadataSize: size })
          } catch (e) {
            assert.ok(e instanceof CodecError, String(e))
          }
        },
      ),
      { numRuns: 5000 },
    )
  })
})
