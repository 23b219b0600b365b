// Magnet URI codec: the forms real clients write (hex and base32 btih, btmh, numbered params, + for space),
// round trips, and malformed links failing only with MagnetError and a code.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  CodecError,
  formatMagnet,
  fromBase32,
  fromHex,
  MagnetError,
  type MagnetLink,
  magnetSelects,
  parseMagnet,
  toBase32,
  toHex,
} from '../../src/codec/index.js'

const V1 = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a'
const V2 = 'a16e28d0699261020baccc9e7e41323afe6d03da029497578f148da6d7471bc6'

function code(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    assert.ok(e instanceof MagnetError, `expected MagnetError, got ${String(e)}`)
    assert.ok(e instanceof CodecError)
    return e.code
  }
  assert.fail('did not throw')
}

describe('parseMagnet', () => {
  it('reads every parameter of a full hybrid link', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${V1.toUpperCase()}&xt=urn:btmh:1220${V2}&dn=My+Files%20%C3%A9&tr=udp%3A%2F%2Ft1.example%3A6969&tr.1=http://t2.example/a` +
        '&x.pe=203.0.113.5:6881&x.pe=%5B2001:db8::1%5D:51413&ws=http%3A%2F%2Fseed.example%2F&so=0,2-4,7&xl=123&x.foo=bar',
    )
    assert.equal(toHex(m.infoHash as Uint8Array), V1)
    assert.equal(toHex(m.infoHashV2 as Uint8Array), V2)
    assert.equal(m.name, 'My Files é')
    assert.deepEqual(m.trackers, ['udp://t1.example:6969', 'http://t2.example/a'])
    assert.deepEqual(m.peers, [
      { host: '203.0.113.5', port: 6881 },
      { host: '2001:db8::1', port: 51413 },
    ])
    assert.deepEqual(m.webSeeds, ['http://seed.example/'])
    assert.deepEqual(m.select, [
      [0, 0],
      [2, 4],
      [7, 7],
    ])
    assert.deepEqual(m.extra, [
      ['xl', '123'],
      ['x.foo', 'bar'],
    ])
    assert.ok(magnetSelects(m.select, 3) && !magnetSelects(m.select, 5) && magnetSelects(undefined, 99))
  })

  it('reads a base32 btih as the same 20 bytes as its hex form', () => {
    const bytes = fromHex(V1) as Uint8Array
    const b32 = toBase32(bytes)
    assert.equal(b32.length, 32)
    assert.deepEqual(fromBase32(b32.toLowerCase()), bytes)
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHash, bytes)
  })

  it('rejects malformed links with a code', () => {
    assert.equal(
      code(() => parseMagnet('http://example.com/?xt=urn:btih:00')),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMagnet('magnet:?dn=x')),
      'MISSING_KEY',
    )
    assert.equal(
      code(() => parseMagnet('magnet:?xt=urn:btih:abcd')),
      'BAD_LENGTH',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${'g'.repeat(40)}`)),
      'BAD_LENGTH',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${'1'.repeat(32)}`)),
      'BAD_LENGTH',
    ) // 1 is not base32
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btmh:1114${V2}`)),
      'BAD_LENGTH',
    ) // sha1 multihash
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${V1}&xt=urn:btih:${V1}`)),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${V1}&dn=%E0%A4%A`)),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${V1}&x.pe=203.0.113.5`)),
      'BAD_ADDRESS',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${V1}&x.pe=203.0.113.5:0`)),
      'BAD_ADDRESS',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${V1}&x.pe=2001:db8::1:80`)),
      'BAD_ADDRESS',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${V1}&x.pe=host.example:80`)),
      'BAD_ADDRESS',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${V1}&so=3-1`)),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${V1}&so=a`)),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMagnet(`magnet:?xt=urn:btih:${V1}&dn=${'a'.repeat(70000)}`)),
      'BAD_LENGTH',
    )
    assert.equal(
      code(() => formatMagnet({})),
      'MISSING_KEY',
    )
  })

  it('keeps an xt of another namespace as an extra parameter', () => {
    const m = parseMagnet(`magnet:?xt=urn:ed2k:31D6CFE0D16AE931B73C59D7E0C089C0&xt=urn:btih:${V1}`)
    assert.deepEqual(m.extra, [['xt', 'urn:ed2k:31D6CFE0D16AE931B73C59D7E0C089C0']])
  })
})

describe('formatMagnet', () => {
  it('percent-encodes what needs it and parses back to the same link', () => {
    const link: MagnetLink = {
      infoHash: fromHex(V1),
      infoHashV2: fromHex(V2),
      name: 'a&b=c d/é?#+',
      trackers: ['udp://t.example:6969/announce?x=1&y=2'],
      peers: [
        { host: '198.51.100.7', port: 1 },
        { host: '2001:db8::7', port: 65535 },
      ],
      webSeeds: ['http://w.example/a b'],
      select: [
        [1, 1],
        [3, 9],
      ],
      extra: [['x.y&z', 'v=w']],
    }
    const s = formatMagnet(link)
    assert.match(s, /^magnet:\?xt=urn:btih:[0-9a-f]{40}&xt=urn:btmh:1220[0-9a-f]{64}&dn=/)
    assert.ok(!/[ #]/.test(s) && s.split('&').length === 9, s)
    assert.deepEqual(parseMagnet(s), link)
  })

  it('round-trips any link (property)', () => {
    const text = fc.string({ maxLength: 20, unit: 'grapheme' })
    fc.assert(
      fc.property(
        fc.record({
          infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
          name: fc.option(text, { nil: undefined }),
          trackers: fc.array(text, { maxLength: 3 }),
          peers: fc.array(
            fc.record({ host: fc.ipV4(), port: fc.integer({ min: 1, max: 65535 }) }).map((p) => ({
              host: p.host.replace(/(^|\.)0+(\d)/g, '$1$2'),
              port: p.port,
            })),
            { maxLength: 3 },
          ),
          webSeeds: fc.array(text, { maxLength: 2 }),
          extra: fc.array(fc.tuple(fc.constantFrom('x.a', 'xl', 'kt'), text), { maxLength: 2 }),
        }),
        (l) => {
          const link: MagnetLink = { ...l }
          if (link.name === undefined) delete link.name
          assert.deepEqual(parseMagnet(formatMagnet(link)), link)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('fails only with MagnetError on random input (fuzz)', () => {
    const prefix = fc.constantFrom('magnet:?', `magnet:?xt=urn:btih:${V1}&`, 'magnet:?xt=urn:btmh:', '')
    fc.assert(
      fc.property(prefix, fc.string({ maxLength: 120, unit: 'binary' }), (p, s) => {
        try {
          parseMagnet(p + s)
        } catch (e) {
          assert.ok(e instanceof MagnetError, String(e))
        }
      }),
      { numRuns: 3000 },
    )
  })
})
