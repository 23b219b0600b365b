import assert from 'node:assert/strict'
import { isIP } from 'node:net'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { CodecError, fromHex, toHex } from '../../src/codec/index.js'
import {
  ipFamily,
  ipToBytes,
  ipToString,
  isIPv4,
  isIPv6,
  isLinkLocal,
  isLocalNetwork,
  isLoopback,
  isPrivate,
  isUnicastAddress,
  isV4Mapped,
  mapV4,
  normalizeIP,
  parseIPv4,
  parseIPv6,
  unmapV4,
} from '../../src/codec/ip.js'

describe('IPv4 text', () => {
  it('parses dotted quads', () => {
    assert.deepEqual(parseIPv4('192.0.2.1'), new Uint8Array([192, 0, 2, 1]))
    assert.deepEqual(parseIPv4('0.0.0.0'), new Uint8Array(4))
    assert.deepEqual(parseIPv4('255.255.255.255'), new Uint8Array([255, 255, 255, 255]))
  })
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.256',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1..2.3',
    '1.2.3.',
    'a.b.c.d',
    '0x1.2.3.4',
    '1.2.3.-4',
    '1234.1.1.1',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.equal(parseIPv4(bad), undefined)
      assert.equal(isIPv4(bad), false)
    })
  }
})

describe('IPv6 text', () => {
  const good: [string, string][] = [
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:DB8:0:0:0:0:0:1', '20010db8000000000000000000000001'],
    ['fe80::1:2', 'fe800000000000000000000000010002'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['64:ff9b::1.2.3.4', '0064ff9b000000000000000001020304'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ]
  for (const [s, hex] of good) {
    it(`parses ${s}`, () => assert.equal(toHex(parseIPv6(s)!), hex))
  }
  const bad = [
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    '12345::',
    ':1::',
    '1:',
    'fe80::1%eth0',
    '[::1]',
    '::ffff:1.2.3',
    '::ffff:01.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::1.2.3.4:5',
    'g::',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
  ]
  for (const s of bad) {
    it(`rejects ${JSON.stringify(s)}`, () => {
      assert.equal(parseIPv6(s), undefined)
      assert.equal(isIPv6(s), false)
    })
  }

  it('formats per RFC 5952', () => {
    const cases: [string, string][] = [
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['20010db8000000010000000000000001', '2001:db8:0:1::1'], // longest run wins
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of equal runs
      ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
      ['00000000000000000000000000000000', '::'],
      ['00000000000000000000000000000001', '::1'],
      ['00010000000000000000000000000000', '1::'],
      ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
      ['abcd00ef000000000000000000000000', 'abcd:ef::'],
    ]
    for (const [hex, s] of cases) assert.equal(ipToString(fromHex(hex)!), s)
  })

  it('agrees with node:net isIP and round-trips through the canonical form (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({ maxLength: 20 })), (s) => {
        const fam = ipFamily(s)
        if (fam !== 0) {
          assert.equal(isIP(s), fam)
          const b = ipToBytes(s)
          assert.deepEqual(ipToBytes(ipToString(b)), b)
        }
      }),
      { numRuns: 3000 },
    )
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const s = ipToString(b)
        assert.equal(isIP(s), 6)
        assert.deepEqual(parseIPv6(s), b)
      }),
      { numRuns: 2000 },
    )
  })

  it('formats like the WHATWG URL serializer, which also follows RFC 5952 (property)', () => {
    // Groups are often zero in real addresses: draw each group as zero or random so "::" runs are common.
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const b = new Uint8Array(16)
        groups.forEach((g, i) => {
          b[2 * i] = g >> 8
          b[2 * i + 1] = g & 0xff
        })
        if (isV4Mapped(b)) return // URL writes ::ffff:c000:201, RFC 5952 recommends the dotted form
        const s = ipToString(b)
        assert.equal(s, new URL(`http://[${s}]/`).hostname.slice(1, -1))
        assert.deepEqual(parseIPv6(s), b)
      }),
      { numRuns: 3000 },
    )
  })

  it('every fast-check IP literal parses', () => {
    fc.assert(
      fc.property(fc.ipV4(), (s) => assert.equal(ipFamily(s), 4)),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(fc.ipV6(), (s) => assert.equal(ipFamily(s), 6)),
      { numRuns: 2000 },
    )
  })
})

describe('v4-mapped and errors', () => {
  it('maps and unmaps', () => {
    const v4 = new Uint8Array([198, 51, 100, 7])
    const m = mapV4(v4)
    assert.ok(isV4Mapped(m))
    assert.deepEqual(unmapV4(m), v4)
    assert.equal(normalizeIP('::FFFF:198.51.100.7'), '198.51.100.7')
    assert.equal(normalizeIP('2001:DB8:0::1'), '2001:db8::1')
    assert.equal(normalizeIP('nope'), undefined)
  })
  it('throws CodecError', () => {
    assert.throws(
      () => ipToBytes('1.2.3.999'),
      (e: unknown) => e instanceof CodecError && e.code === 'BAD_ADDRESS',
    )
    assert.throws(
      () => ipToString(new Uint8Array(5)),
      (e: unknown) => e instanceof CodecError && e.code === 'BAD_LENGTH',
    )
  })
})

describe('classification (libtorrent is_local + loopback)', () => {
  const local = [
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.3.4',
    '127.0.0.1',
    '127.255.0.1',
    '100.64.0.1',
    '100.127.255.255',
    '::1',
    'fe80::1',
    'fec0::1',
    'fc00::1',
    'fdff::1',
    '::ffff:10.1.2.3',
  ]
  const global = [
    '8.8.8.8',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '192.0.2.1',
    '198.51.100.1',
    '2001:db8::1',
    '::2',
    'fe00::1',
    '::ffff:198.51.100.1',
    'not an ip',
  ]
  for (const s of local) it(`${s} is local`, () => assert.equal(isLocalNetwork(s), true))
  for (const s of global) it(`${s} is not local`, () => assert.equal(isLocalNetwork(s), false))
  it('unicast: every address a node can be at, and none of unspecified, broadcast, multicast, reserved', () => {
    for (const s of [
      '198.51.100.1',
      '10.0.0.1',
      '127.0.0.1',
      '223.255.255.255',
      '2001:db8::1',
      '::1',
      '::ffff:1.2.3.4',
    ])
      assert.equal(isUnicastAddress(s), true, s)
    for (const s of [
      '0.0.0.0',
      '0.1.2.3',
      '255.255.255.255',
      '224.0.0.1',
      '239.1.1.1',
      '240.0.0.1',
      '::',
      'ff02::1',
      'x',
    ])
      assert.equal(isUnicastAddress(s), false, s)
  })
  it('classifies by kind and from bytes', () => {
    assert.ok(isLoopback('127.0.0.1') && !isPrivate('127.0.0.1'))
    assert.ok(isPrivate('10.1.1.1') && !isLoopback('10.1.1.1'))
    assert.ok(isLinkLocal('fe80::1') && isLinkLocal('169.254.0.1'))
    assert.ok(isLocalNetwork(new Uint8Array([192, 168, 0, 1])))
    assert.ok(!isLocalNetwork(new Uint8Array([192, 169, 0, 1])))
    assert.ok(!isLocalNetwork(new Uint8Array(3)))
  })
})
