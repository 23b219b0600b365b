import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { fromHex, toHex } from '../../src/codec/bytes.js'
import { CodecError } from '../../src/codec/errors.js'
import {
  decodeHandshake,
  decodeMessage,
  encodeHandshake,
  encodeMessage,
  makeReserved,
  type PeerMessage,
  reservedFlags,
} from '../../src/codec/peer-wire.js'
import { WireFramer } from '../../src/codec/wire-framer.js'

const ih = fromHex('0123456789abcdef0123456789abcdef01234567') as Uint8Array
const pid = new TextEncoder().encode('-LT2080-abcdefghijkl')

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof CodecError, `expected CodecError, got ${String(err)}`)
    return err.code
  }
  return 'none'
}

describe('handshake', () => {
  it('round-trips and reads the reserved bits libtorrent sends', () => {
    const reserved = fromHex('0000000000100005') as Uint8Array
    const bytes = encodeHandshake({ reserved, infoHash: ih, peerId: pid })
    assert.equal(bytes.length, 68)
    assert.equal(toHex(bytes.subarray(0, 20)), `13${toHex(new TextEncoder().encode('BitTorrent protocol'))}`)
    const h = decodeHandshake(bytes)
    assert.deepEqual(h, { reserved, infoHash: ih, peerId: pid })
    assert.deepEqual(reservedFlags(reserved), { extension: true, dht: true, fast: true })
    assert.equal(toHex(makeReserved({ extension: true, dht: true })), '0000000000100001')
    assert.deepEqual(reservedFlags(new Uint8Array(8)), { extension: false, dht: false, fast: false })
  })
  it('rejects a wrong protocol string, and short or long input', () => {
    const bytes = encodeHandshake({ reserved: new Uint8Array(8), infoHash: ih, peerId: pid })
    const bad = bytes.slice()
    bad[5] ^= 1
    assert.equal(
      codeOf(() => decodeHandshake(bad)),
      'UNEXPECTED_BYTE',
    )
    assert.equal(
      codeOf(() => decodeHandshake(bytes.subarray(0, 67))),
      'TRUNCATED',
    )
    assert.equal(
      codeOf(() => decodeHandshake(new Uint8Array([...bytes, 0]))),
      'TRAILING_BYTES',
    )
    assert.equal(
      codeOf(() => encodeHandshake({ reserved: new Uint8Array(8), infoHash: ih.subarray(1), peerId: pid })),
      'BAD_LENGTH',
    )
  })
})

const samples: PeerMessage[] = [
  { type: 'keep_alive' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'interested' },
  { type: 'not_interested' },
  { type: 'have', index: 0xfffffffe },
  { type: 'bitfield', bitfield: new Uint8Array([0xff, 0x80]) },
  { type: 'request', index: 1, begin: 16384, length: 16384 },
  { type: 'piece', index: 2, begin: 0, block: new Uint8Array([1, 2, 3]) },
  { type: 'cancel', index: 1, begin: 16384, length: 16384 },
  { type: 'port', port: 6881 },
  { type: 'suggest', index: 7 },
  { type: 'have_all' },
  { type: 'have_none' },
  { type: 'reject', index: 3, begin: 4, length: 5 },
  { type: 'allowed_fast', index: 9 },
  { type: 'extended', id: 4, payload: new Uint8Array([0, 0, 127, 0, 0, 1, 0, 9]) },
  { type: 'unknown', id: 21, payload: new Uint8Array([1]) },
]

describe('messages', () => {
  it('round-trips every message with the exact frame layout', () => {
    for (const m of samples) {
      const frame = encodeMessage(m)
      const len = new DataView(frame.buffer).getUint32(0)
      assert.equal(len, frame.length - 4, m.type)
      assert.deepEqual(decodeMessage(frame.subarray(4)), m)
    }
    assert.equal(toHex(encodeMessage({ type: 'have', index: 5 })), '000000050400000005')
    assert.equal(toHex(encodeMessage({ type: 'port', port: 0x1ae1 })), '00000003091ae1')
    assert.equal(toHex(encodeMessage({ type: 'have_all' })), '000000010e')
  })
  it('checks every fixed-size message size: a 1-byte have is an error, not index 0', () => {
    assert.equal(
      codeOf(() => decodeMessage(new Uint8Array([4, 0]))),
      'BAD_LENGTH',
    )
    assert.equal(
      codeOf(() => decodeMessage(new Uint8Array([0, 0]))),
      'BAD_LENGTH',
    )
    assert.equal(
      codeOf(() => decodeMessage(new Uint8Array([6, 0, 0, 0, 1]))),
      'BAD_LENGTH',
    )
    assert.equal(
      codeOf(() => decodeMessage(new Uint8Array([7, 0, 0, 0, 1, 0, 0, 0]))),
      'BAD_LENGTH',
    )
    assert.equal(
      codeOf(() => decodeMessage(new Uint8Array([9, 1]))),
      'BAD_LENGTH',
    )
    assert.equal(
      codeOf(() => decodeMessage(new Uint8Array([20]))),
      'BAD_LENGTH',
    )
    assert.equal(
      codeOf(() => decodeMessage(new Uint8Array([14, 0]))),
      'BAD_LENGTH',
    )
  })
  it('refuses to encode out-of-range values', () => {
    assert.equal(
      codeOf(() => encodeMessage({ type: 'have', index: -1 })),
      'BAD_VALUE',
    )
    assert.equal(
      codeOf(() => encodeMessage({ type: 'port', port: 70000 })),
      'BAD_VALUE',
    )
    assert.equal(
      codeOf(() => encodeMessage({ type: 'extended', id: 256, payload: new Uint8Array() })),
      'BAD_VALUE',
    )
  })
  it('property: request/cancel/reject/piece round-trip for any u32', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff })
    fc.assert(
      fc.property(u32, u32, u32, fc.uint8Array({ maxLength: 64 }), (a, b, c, block) => {
        for (const type of ['request', 'cancel', 'reject'] as const) {
          assert.deepEqual(decodeMessage(encodeMessage({ type, index: a, begin: b, length: c }).subarray(4)), {
            type,
            index: a,
            begin: b,
            length: c,
          })
        }
        assert.deepEqual(decodeMessage(encodeMessage({ type: 'piece', index: a, begin: b, block }).subarray(4)), {
          type: 'piece',
          index: a,
          begin: b,
          block,
        })
      }),
      { numRuns: 300 },
    )
  })
})

function stream(): Uint8Array {
  const parts = [encodeHandshake({ reserved: makeReserved({ extension: true }), infoHash: ih, peerId: pid })]
  for (const m of samples) parts.push(encodeMessage(m))
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

function drain(f: WireFramer): unknown[] {
  const items: unknown[] = []
  for (let it = f.next(); it; it = f.next()) items.push(it)
  return items
}

describe('WireFramer', () => {
  it('yields the same items for one chunk, 1-byte chunks and random splits', () => {
    const bytes = stream()
    const whole = new WireFramer()
    whole.push(bytes)
    const expected = drain(whole)
    assert.equal(expected.length, 1 + samples.length)
    const one = new WireFramer()
    const got: unknown[] = []
    for (let i = 0; i < bytes.length; i++) {
      one.push(bytes.slice(i, i + 1))
      got.push(...drain(one))
    }
    assert.deepEqual(got, expected)
    assert.equal(one.buffered, 0)
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: bytes.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b)
        const f = new WireFramer()
        const items: unknown[] = []
        let prev = 0
        for (const c of [...points, bytes.length]) {
          f.push(bytes.slice(prev, c))
          items.push(...drain(f))
          prev = c
        }
        assert.deepEqual(items, expected)
      }),
      { numRuns: 200 },
    )
  })
  it('keeps earlier views intact while buffering more', () => {
    const f = new WireFramer({ handshake: false })
    const a = encodeMessage({ type: 'bitfield', bitfield: new Uint8Array([1, 2, 3]) })
    const b = encodeMessage({ type: 'bitfield', bitfield: new Uint8Array([4, 5, 6]) })
    f.push(new Uint8Array([...a, ...b.subarray(0, 3)]))
    const first = f.next()
    assert.ok(first?.kind === 'message' && first.message.type === 'bitfield')
    f.push(b.subarray(3))
    const second = f.next()
    assert.ok(second?.kind === 'message' && second.message.type === 'bitfield')
    assert.deepEqual([...first.message.bitfield], [1, 2, 3])
    assert.deepEqual([...second.message.bitfield], [4, 5, 6])
  })
  it('rejects oversize and signed-looking lengths before buffering the body', () => {
    for (const hex of ['80000000', 'ffffffff', '00100001']) {
      const f = new WireFramer({ handshake: false })
      f.push(fromHex(hex) as Uint8Array)
      assert.equal(
        codeOf(() => f.next()),
        'LENGTH_OVERFLOW',
        hex,
      )
    }
    const small = new WireFramer({ handshake: false, maxFrame: 16 })
    small.push(encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(8) }))
    assert.equal(
      codeOf(() => small.next()),
      'LENGTH_OVERFLOW',
    )
    const ok = new WireFramer({ handshake: false, maxFrame: 17 })
    ok.push(encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(8) }))
    assert.equal(ok.next()?.kind, 'message')
  })
  it('fails a non-BitTorrent stream on its first wrong byte', () => {
    const f = new WireFramer()
    f.push(new TextEncoder().encode('GET / HTTP/1.1\r\n'))
    assert.equal(
      codeOf(() => f.next()),
      'UNEXPECTED_BYTE',
    )
    const g = new WireFramer()
    g.push(new Uint8Array([19, 66, 105, 116, 88]))
    assert.equal(
      codeOf(() => g.next()),
      'UNEXPECTED_BYTE',
    )
  })
  it('reports a wrong-size message with its stream offset', () => {
    const f = new WireFramer({ handshake: false })
    f.push(new Uint8Array([0, 0, 0, 1, 2, 0, 0, 0, 2, 4, 0]))
    assert.deepEqual(f.next(), { kind: 'message', message: { type: 'interested' } })
    try {
      f.next()
      assert.fail('expected an error')
    } catch (err) {
      assert.ok(err instanceof CodecError)
      assert.equal(err.code, 'BAD_LENGTH')
      assert.equal(err.offset, 9)
    }
  })
})
