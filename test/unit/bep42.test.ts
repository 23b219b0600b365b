import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { bep42Crc } from '../../src/codec/bep42.js'
import { fromLatin1 } from '../../src/codec/bytes.js'
import { crc32c } from '../../src/codec/crc32c.js'
import { CodecError, fromHex, isBep42Exempt, isValidNodeIdForIp, nodeIdForIp, toHex } from '../../src/codec/index.js'

// BEP 42 test vectors (IP, r, example node id, CRC-32C of the masked IP).
const VECTORS: [string, number, string, number][] = [
  ['124.31.75.21', 1, '5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401', 0x5fbfbdb2],
  ['21.75.31.124', 86, '5a3ce9c14e7a08645677bbd1cfe7d8f956d53256', 0x5a3ce9b0],
  ['65.23.51.170', 22, 'a5d43220bc8f112a3d426c84764f8c2a1150e616', 0xa5d4344a],
  ['84.124.73.14', 65, '1b0321dd1bb1fe518101ceef99462b947a01ff41', 0x1b03217b],
  ['43.213.53.83', 90, 'e56f6cbf5b7c4be0237986d5243b87aa6d51305a', 0xe56f6972],
]

describe('crc32c', () => {
  it('check value', () => assert.equal(crc32c(fromLatin1('123456789')), 0xe3069283))
  it('empty input and chaining', () => {
    assert.equal(crc32c(new Uint8Array(0)), 0)
    const all = fromLatin1('123456789')
    assert.equal(crc32c(all.subarray(4), crc32c(all.subarray(0, 4))), 0xe3069283)
  })
  it('RFC 3720 vector: 32 zero bytes', () => assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa))
})

describe('BEP 42 node ids', () => {
  for (const [ip, r, idHex, crc] of VECTORS) {
    it(`vector ${ip} r=${r}`, () => {
      assert.equal(bep42Crc(ip, r), crc)
      const example = fromHex(idHex)!
      assert.ok(isValidNodeIdForIp(example, ip))
      // Generating with the vector's random bytes reproduces the vector exactly.
      const id = nodeIdForIp(ip, () => example.slice(), r)
      assert.equal(toHex(id), idHex)
    })
  }

  it('rejects an id whose prefix or r does not match', () => {
    const [ip, , idHex] = VECTORS[0]
    const id = fromHex(idHex)!
    for (const [byte, mask] of [
      [0, 0x01],
      [1, 0x80],
      [2, 0x08],
      [19, 0x02],
    ]) {
      const bad = id.slice()
      bad[byte] ^= mask
      assert.equal(isValidNodeIdForIp(bad, ip), false, `flipping byte ${byte}`)
    }
    const fine = id.slice()
    fine[2] ^= 0x07 // the low 3 bits of id[2] are random
    fine[10] ^= 0xff
    fine[19] ^= 0x08 // only r's low 3 bits enter the CRC
    assert.equal(isValidNodeIdForIp(fine, ip), true)
    assert.equal(isValidNodeIdForIp(id.subarray(0, 19), ip), false)
  })

  it('exempts local networks (libtorrent is_local)', () => {
    const zero = new Uint8Array(20)
    for (const ip of [
      '10.1.2.3',
      '192.168.0.1',
      '172.20.0.1',
      '169.254.1.1',
      '127.0.0.1',
      '100.64.1.1',
      '::1',
      'fe80::1',
      'fd00::1',
    ]) {
      assert.ok(isBep42Exempt(ip), ip)
      assert.ok(isValidNodeIdForIp(zero, ip), ip)
    }
    assert.equal(isValidNodeIdForIp(zero, '198.51.100.1'), bep42Crc('198.51.100.1', 0) >>> 11 === 0)
  })

  it('generated ids verify for v4, v6 and v4-mapped addresses (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.uint8Array({ minLength: 20, maxLength: 20 }), (ip, rand) => {
        const id = nodeIdForIp(ip, () => rand)
        assert.equal(id[19], rand[19])
        assert.ok(isValidNodeIdForIp(id, ip))
        if (!ip.includes(':')) assert.ok(isValidNodeIdForIp(id, `::ffff:${ip}`))
      }),
    )
  })

  it('IPv6 uses the masked high 64 bits', () => {
    const a = bep42Crc('2001:db8:1:2:3:4:5:6', 3)
    assert.equal(bep42Crc('2001:db8:1:2:ffff:ffff:ffff:ffff', 3), a) // low 64 bits ignored
    // mask 0x01 on the first byte: 0x20 and 0x30 mask to the same value, 0x21 does not
    assert.equal(bep42Crc('3001:db8:1:2::', 3), a)
    assert.notEqual(bep42Crc('2101:db8:1:2::', 3), a)
    assert.notEqual(bep42Crc('2001:db8:1:2::', 4), a)
  })

  it('throws CodecError for a non-address', () => {
    assert.throws(
      () => bep42Crc('nope', 1),
      (e: unknown) => e instanceof CodecError && e.code === 'BAD_ADDRESS',
    )
    assert.throws(() => nodeIdForIp('192.0.2.1', () => new Uint8Array(20), 256), CodecError)
  })
})
