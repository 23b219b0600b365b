import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { CodecError } from '../../src/codec/errors.js'
import {
  decodeUtpPacket,
  encodeUtpPacket,
  isUtpPacket,
  ST_DATA,
  ST_FIN,
  ST_STATE,
  ST_SYN,
  UTP_HEADER_SIZE,
} from '../../src/codec/utp-packet.js'

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

describe('uTP packet codec', () => {
  it('decodes a header field by field (big endian, type in the high nibble)', () => {
    // ST_STATE v1, no extension, conn 0x1234, ts 0x01020304, diff 0x05060708, wnd 0x00100000, seq 0xfffe, ack 0x0102
    const p = decodeUtpPacket(hex('21 00 1234 01020304 05060708 00100000 fffe 0102'))
    assert.equal(p.type, ST_STATE)
    assert.equal(p.connId, 0x1234)
    assert.equal(p.timestamp, 0x01020304)
    assert.equal(p.timestampDiff, 0x05060708)
    assert.equal(p.wnd, 0x100000)
    assert.equal(p.seq, 0xfffe)
    assert.equal(p.ack, 0x0102)
    assert.equal(p.sack, null)
    assert.equal(p.payload.length, 0)
  })

  it('round-trips header, SACK and payload; u32 fields above 2^31 stay unsigned', () => {
    const payload = Uint8Array.from([1, 2, 3])
    const sack = Uint8Array.from([0x81, 0, 0, 0x80])
    const bytes = encodeUtpPacket({
      type: ST_DATA,
      connId: 65535,
      timestamp: 0xfffffff0,
      timestampDiff: 0x80000000,
      wnd: 0xffffffff,
      seq: 65535,
      ack: 0,
      sack,
      payload,
    })
    assert.equal(bytes.length, UTP_HEADER_SIZE + 2 + 4 + 3)
    const p = decodeUtpPacket(bytes)
    assert.deepEqual(
      [p.type, p.connId, p.timestamp, p.timestampDiff, p.wnd, p.seq, p.ack],
      [ST_DATA, 65535, 0xfffffff0, 0x80000000, 0xffffffff, 65535, 0],
    )
    assert.deepEqual([...(p.sack ?? [])], [...sack])
    assert.deepEqual([...p.payload], [1, 2, 3])
  })

  it('accepts SACK lengths libtorrent sends (ceil(span/8): 1, 2, 3 bytes) as well as multiples of 4', () => {
    for (const len of [1, 2, 3, 4, 8, 12, 32]) {
      const b = new Uint8Array(UTP_HEADER_SIZE + 2 + len)
      b[0] = 0x21
      b[1] = 1
      b[UTP_HEADER_SIZE + 1] = len
      b[UTP_HEADER_SIZE + 2] = 0b101
      const p = decodeUtpPacket(b)
      assert.equal(p.sack?.length, len)
      assert.equal(p.payload.length, 0)
      assert.ok(isUtpPacket(b))
    }
  })

  it('skips unknown extensions by length and reads libtorrent close reason (ext 3)', () => {
    // ext chain: 2 (len 8, unknown) -> 3 (close reason 4 bytes) -> end; payload "hi"
    const b = hex('01 02 0001 00000000 00000000 00000000 0001 0000  03 08 0000000000000000  00 04 0000 0007  6869')
    const p = decodeUtpPacket(b)
    assert.equal(p.type, ST_DATA)
    assert.equal(p.closeReason, 7)
    assert.equal(p.sack, null)
    assert.equal(Buffer.from(p.payload).toString(), 'hi')
  })

  it('rejects malformed packets with typed CodecErrors', () => {
    const cases: [string, string][] = [
      ['21 00 1234', 'TRUNCATED'],
      ['22 00 0000 00000000 00000000 00000000 0000 0000', 'BAD_VALUE'], // version 2
      ['51 00 0000 00000000 00000000 00000000 0000 0000', 'BAD_VALUE'], // type 5
      ['21 01 0000 00000000 00000000 00000000 0000 0000', 'TRUNCATED'], // ext header missing
      ['21 01 0000 00000000 00000000 00000000 0000 0000 00 08 0000', 'LENGTH_OVERFLOW'],
      ['21 01 0000 00000000 00000000 00000000 0000 0000 00 00', 'BAD_LENGTH'], // empty SACK
    ]
    for (const [h, code] of cases) {
      const b = hex(h)
      assert.throws(
        () => decodeUtpPacket(b),
        (e: unknown) => e instanceof CodecError && e.code === code,
        `${h} -> ${code}`,
      )
      assert.equal(isUtpPacket(b), false, h)
    }
  })

  it('isUtpPacket rejects KRPC (bencoded dicts start with "d" = version 4)', () => {
    const krpc = new TextEncoder().encode('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe')
    assert.equal(isUtpPacket(krpc), false)
    assert.ok(
      isUtpPacket(encodeUtpPacket({ type: ST_SYN, connId: 1, timestamp: 0, timestampDiff: 0, wnd: 0, seq: 1, ack: 0 })),
    )
    assert.ok(
      isUtpPacket(encodeUtpPacket({ type: ST_FIN, connId: 1, timestamp: 0, timestampDiff: 0, wnd: 0, seq: 1, ack: 0 })),
    )
  })

  it('random and mutated input: only CodecError, and isUtpPacket agrees with decode', () => {
    const valid = encodeUtpPacket({
      type: ST_STATE,
      connId: 7,
      timestamp: 1,
      timestampDiff: 2,
      wnd: 3,
      seq: 4,
      ack: 5,
      sack: Uint8Array.from([1, 2, 3, 4]),
      payload: Uint8Array.from([9, 9]),
    })
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 80 }),
          fc
            .tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(valid.length))
            .map(([i, v, cut]) => {
              const m = valid.slice(0, Math.max(cut, 1))
              if (i < m.length) m[i] = v
              return m
            }),
        ),
        (b) => {
          let ok = true
          try {
            decodeUtpPacket(b)
          } catch (e) {
            assert.ok(e instanceof CodecError)
            ok = false
          }
          assert.equal(isUtpPacket(b), ok)
        },
      ),
      { numRuns: 5000 },
    )
  })
})
