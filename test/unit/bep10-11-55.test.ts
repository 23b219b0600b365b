import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { encode } from '../../src/codec/bencode.js'
import { fromHex, toHex } from '../../src/codec/bytes.js'
import { CodecError } from '../../src/codec/errors.js'
import { decodeExtendedHandshake, encodeExtendedHandshake } from '../../src/codec/extension.js'
import { decodeHolepunch, encodeHolepunch, HolepunchError, holepunchErrorName } from '../../src/codec/holepunch.js'
import { decodePex, encodePex, PexFlags } from '../../src/codec/pex.js'

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof CodecError, `expected CodecError, got ${String(err)}`)
    return err.code
  }
  return 'none'
}

describe('BEP 10 extended handshake', () => {
  it("reads libtorrent 2.0.8's handshake, keeping unknown keys", () => {
    const payload = encode({
      complete_ago: -1,
      m: { lt_donthave: 7, share_mode: 8, upload_only: 3, ut_holepunch: 4, ut_metadata: 2, ut_pex: 1 },
      metadata_size: 1234,
      reqq: 2000,
      upload_only: 0,
      v: 'libtorrent/2.0.8.0',
      yourip: new Uint8Array([127, 0, 0, 1]),
    })
    const h = decodeExtendedHandshake(payload)
    assert.deepEqual(
      { ...h.m },
      { lt_donthave: 7, share_mode: 8, upload_only: 3, ut_holepunch: 4, ut_metadata: 2, ut_pex: 1 },
    )
    assert.equal(h.v, 'libtorrent/2.0.8.0')
    assert.equal(h.yourip, '127.0.0.1')
    assert.equal(h.reqq, 2000)
    assert.equal(h.metadataSize, 1234)
    assert.equal(h.p, undefined)
    assert.deepEqual(Object.keys(h.extra).sort(), ['complete_ago', 'upload_only'])
    assert.equal(h.extra.complete_ago, -1)
  })
  it('round-trips every field', () => {
    const bytes = encodeExtendedHandshake({
      m: { ut_pex: 1, ut_holepunch: 2, gone: 0 },
      p: 6881,
      v: 'mainline/0.1.0',
      yourip: '::ffff:198.51.100.7',
      reqq: 250,
      ipv4: '203.0.113.9',
      ipv6: '2001:db8::1',
      metadataSize: 99,
      extra: { e: 1 },
    })
    const h = decodeExtendedHandshake(bytes)
    assert.deepEqual({ ...h.m }, { gone: 0, ut_holepunch: 2, ut_pex: 1 })
    assert.equal(h.p, 6881)
    assert.equal(h.yourip, '198.51.100.7')
    assert.equal(h.ipv4, '203.0.113.9')
    assert.equal(h.ipv6, '2001:db8::1')
    assert.equal(h.reqq, 250)
    assert.equal(h.metadataSize, 99)
    assert.equal(h.extra.e, 1)
  })
  it('drops bad optional values instead of failing, and fails only a non-dict', () => {
    const h = decodeExtendedHandshake(
      encode({
        m: { a: -1, b: 300, c: 'x', d: 5 },
        p: 70000,
        yourip: new Uint8Array(5),
        reqq: 'x',
        ipv4: new Uint8Array(16),
      }),
    )
    assert.deepEqual({ ...h.m }, { d: 5 })
    assert.equal(h.p, undefined)
    assert.equal(h.yourip, undefined)
    assert.equal(h.reqq, undefined)
    assert.equal(h.ipv4, undefined)
    assert.deepEqual({ ...decodeExtendedHandshake(encode({})).m }, {})
    assert.equal(
      codeOf(() => decodeExtendedHandshake(encode([1]))),
      'UNEXPECTED_BYTE',
    )
    assert.equal(
      codeOf(() => decodeExtendedHandshake(new Uint8Array([0x64]))),
      'TRUNCATED',
    )
    // "__proto__" is an extension name like any other.
    const proto = decodeExtendedHandshake(new TextEncoder().encode('d1:md9:__proto__i3eee'))
    assert.deepEqual(Object.entries(proto.m), [['__proto__', 3]])
    assert.equal(Object.getPrototypeOf(proto.m), null)
    // Non-canonical key order from a sloppy client is accepted.
    assert.deepEqual({ ...decodeExtendedHandshake(new TextEncoder().encode('d1:pi5e1:md1:xi1eee')).m }, { x: 1 })
  })
})

describe('BEP 11 ut_pex', () => {
  it('round-trips v4 and v6 peers with flags', () => {
    const msg = {
      added: [
        { host: '127.0.0.1', port: 6881, flags: PexFlags.holepunch | PexFlags.utp },
        { host: '2001:db8::2', port: 1, flags: PexFlags.seed },
        { host: '198.51.100.1', port: 65535, flags: 0 },
      ],
      dropped: [
        { host: '203.0.113.5', port: 80 },
        { host: '2001:db8::9', port: 443 },
      ],
    }
    const d = decodePex(encodePex(msg))
    assert.deepEqual(d.ignored, [])
    const sort = <T extends { host: string }>(a: T[]) => [...a].sort((x, y) => x.host.localeCompare(y.host))
    assert.deepEqual(sort(d.added), sort(msg.added))
    assert.deepEqual(sort(d.dropped), sort(msg.dropped))
  })
  it('encodes the layout libtorrent expects', () => {
    const bytes = encodePex({ added: [{ host: '127.0.0.1', port: 0x1ae1, flags: 0x0c }], dropped: [] })
    assert.equal(
      new TextDecoder('latin1').decode(bytes),
      'd5:added6:\x7f\x00\x00\x01\x1a\xe17:added.f1:\x0c7:dropped0:e',
    )
  })
  it('ignores added when added.f does not have one byte per peer, and lists of a wrong length', () => {
    const two = new Uint8Array([127, 0, 0, 1, 0, 1, 127, 0, 0, 2, 0, 2])
    let d = decodePex(encode({ added: two, 'added.f': new Uint8Array([1]) }))
    assert.deepEqual(d.added, [])
    assert.deepEqual(d.ignored, ['added.f'])
    d = decodePex(encode({ added: two }))
    assert.equal(d.added.length, 2)
    d = decodePex(encode({ added: two.subarray(0, 7), dropped: two.subarray(0, 6), added6: 5 }))
    assert.deepEqual(d.added, [])
    assert.deepEqual(d.dropped, [{ host: '127.0.0.1', port: 1 }])
    assert.deepEqual(d.ignored.sort(), ['added', 'added6'])
    d = decodePex(encode({ added: two, 'added.f': new Uint8Array([1, 2]) }), { maxPeersPerList: 1 })
    assert.deepEqual(d.added, [{ host: '127.0.0.1', port: 1, flags: 1 }])
    assert.equal(
      codeOf(() => decodePex(encode('x'))),
      'UNEXPECTED_BYTE',
    )
  })
})

describe('BEP 55 ut_holepunch', () => {
  it("decodes libtorrent's bytes (8-byte connect, 12-byte error) and sends the full 12/24", () => {
    // Payloads (after <len><20><sub-id>) taken from libtorrent 2.0.8 on loopback.
    assert.deepEqual(decodeHolepunch(fromHex('02007f000001000900000002') as Uint8Array), {
      type: 'error',
      host: '127.0.0.1',
      port: 9,
      errorCode: HolepunchError.NotConnected,
    })
    assert.deepEqual(decodeHolepunch(fromHex('01007f0000011ae1') as Uint8Array), {
      type: 'connect',
      host: '127.0.0.1',
      port: 6881,
      errorCode: 0,
    })
    assert.equal(
      toHex(encodeHolepunch({ type: 'rendezvous', host: '127.0.0.1', port: 9, errorCode: 0 })),
      '00007f000001000900000000',
    )
    const v6 = encodeHolepunch({ type: 'connect', host: '2001:db8::1', port: 6881, errorCode: 0 })
    assert.equal(v6.length, 24)
    assert.equal(decodeHolepunch(v6).host, '2001:db8::1')
    assert.equal(decodeHolepunch(v6.subarray(0, 20)).host, '2001:db8::1')
    assert.equal(encodeHolepunch({ type: 'connect', host: '::ffff:127.0.0.1', port: 1, errorCode: 0 }).length, 12)
  })
  it('names the error codes as BEP 55 does', () => {
    assert.deepEqual([1, 2, 3, 4, 9].map(holepunchErrorName), [
      'NoSuchPeer',
      'NotConnected',
      'NoSupport',
      'NoSelf',
      'Unknown(9)',
    ])
  })
  it('rejects bad types, address types and lengths', () => {
    assert.equal(
      codeOf(() => decodeHolepunch(fromHex('03007f000001000900000000') as Uint8Array)),
      'BAD_VALUE',
    )
    assert.equal(
      codeOf(() => decodeHolepunch(fromHex('00027f000001000900000000') as Uint8Array)),
      'BAD_VALUE',
    )
    assert.equal(
      codeOf(() => decodeHolepunch(fromHex('00007f00000100090000') as Uint8Array)),
      'BAD_LENGTH',
    )
    assert.equal(
      codeOf(() => decodeHolepunch(fromHex('00017f000001000900000000') as Uint8Array)),
      'BAD_LENGTH',
    )
    assert.equal(
      codeOf(() => decodeHolepunch(new Uint8Array([0]))),
      'TRUNCATED',
    )
    assert.equal(
      codeOf(() => encodeHolepunch({ type: 'connect', host: 'example.org', port: 1, errorCode: 0 })),
      'BAD_ADDRESS',
    )
  })
  it('property: round-trips any v4 endpoint and code', () => {
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.integer({ min: 0, max: 65535 }),
        fc.constantFrom('rendezvous', 'connect', 'error') as fc.Arbitrary<'rendezvous' | 'connect' | 'error'>,
        fc.integer({ min: 0, max: 0xffffffff }),
        (host, port, type, errorCode) => {
          assert.deepEqual(decodeHolepunch(encodeHolepunch({ type, host, port, errorCode })), {
            type,
            host,
            port,
            errorCode,
          })
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('round-trip properties', () => {
  it('ut_pex: any v4/v6 peers with flags survive encode → decode', () => {
    const v4 = fc.record({
      host: fc.ipV4(),
      port: fc.integer({ min: 0, max: 65535 }),
      flags: fc.integer({ min: 0, max: 255 }),
    })
    const v6 = fc.record({
      host: fc.constantFrom('2001:db8::1', '2001:db8::ff:1', 'fe80::1', '::2'),
      port: fc.integer({ min: 0, max: 65535 }),
      flags: fc.integer({ min: 0, max: 255 }),
    })
    fc.assert(
      fc.property(
        fc.array(v4, { maxLength: 20 }),
        fc.array(v6, { maxLength: 5 }),
        fc.array(v4, { maxLength: 5 }),
        (a4, a6, d) => {
          const plain = (x: { host: string; port: number; flags: number }) => ({
            host: x.host,
            port: x.port,
            flags: x.flags,
          })
          const msg = { added: [...a4, ...a6].map(plain), dropped: d.map(({ host, port }) => ({ host, port })) }
          const out = decodePex(encodePex(msg))
          assert.deepEqual(out.added, msg.added)
          assert.deepEqual(out.dropped, msg.dropped)
          assert.deepEqual(out.ignored, [])
        },
      ),
      { numRuns: 200 },
    )
  })
  it('extended handshake: m, p, v, reqq, yourip survive encode → decode', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 255 }), { maxKeys: 8 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.string({ maxLength: 30 }),
        fc.integer({ min: 0, max: 100000 }),
        fc.ipV4(),
        (m, p, v, reqq, yourip) => {
          const h = decodeExtendedHandshake(encodeExtendedHandshake({ m, p, v, reqq, yourip }))
          assert.deepEqual({ ...h.m }, { ...m })
          assert.equal(h.p, p)
          assert.equal(h.v, v)
          assert.equal(h.reqq, reqq)
          assert.equal(h.yourip, yourip)
        },
      ),
      { numRuns: 200 },
    )
  })
})
