// 100,000 malformed frames and payloads through every peer-wire codec: the only exception allowed is CodecError.
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { CodecError } from '../../src/codec/errors.js'
import { decodeExtendedHandshake, encodeExtendedHandshake } from '../../src/codec/extension.js'
import { decodeHolepunch, encodeHolepunch } from '../../src/codec/holepunch.js'
import { encodeHandshake, encodeMessage } from '../../src/codec/peer-wire.js'
import { decodePex, encodePex } from '../../src/codec/pex.js'
import { WireFramer } from '../../src/codec/wire-framer.js'

// xorshift32: deterministic, so a failure reproduces.
let state = 0x9e3779b9
function rnd(n: number): number {
  state ^= state << 13
  state ^= state >>> 17
  state ^= state << 5
  return (state >>> 0) % n
}

function mutate(base: Uint8Array): Uint8Array {
  const kind = rnd(4)
  if (kind === 0) return Uint8Array.from({ length: rnd(40) }, () => rnd(256))
  const b = base.slice(0, kind === 1 ? rnd(base.length + 1) : base.length)
  for (let i = rnd(4) + 1; i > 0 && b.length > 0; i--) b[rnd(b.length)] = rnd(256)
  if (kind === 3) return Uint8Array.from([...b, ...Array.from({ length: rnd(8) }, () => rnd(256))])
  return b
}

function only(fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof CodecError)) throw err
  }
}

it('100,000 malformed frames and payloads raise only CodecError', () => {
  const bases = {
    hp: encodeHolepunch({ type: 'connect', host: '127.0.0.1', port: 6881, errorCode: 0 }),
    hp6: encodeHolepunch({ type: 'error', host: '2001:db8::1', port: 1, errorCode: 2 }),
    pex: encodePex({
      added: [
        { host: '127.0.0.1', port: 1, flags: 8 },
        { host: '2001:db8::1', port: 2, flags: 4 },
      ],
      dropped: [{ host: '127.0.0.2', port: 3 }],
    }),
    ext: encodeExtendedHandshake({ m: { ut_pex: 1, ut_holepunch: 4 }, p: 6881, v: 'x', yourip: '127.0.0.1', reqq: 5 }),
    ext2: encode({ m: { a: 1 }, ipv6: new Uint8Array(16), ipv4: new Uint8Array(4), metadata_size: 5 }),
  }
  const stream = new Uint8Array([
    ...encodeHandshake({ reserved: new Uint8Array(8), infoHash: new Uint8Array(20), peerId: new Uint8Array(20) }),
    ...encodeMessage({ type: 'have', index: 1 }),
    ...encodeMessage({ type: 'request', index: 1, begin: 2, length: 3 }),
    ...encodeMessage({ type: 'extended', id: 1, payload: bases.pex }),
  ])
  const afterHandshake = stream.subarray(68)
  let decoded = 0
  for (let i = 0; i < 20_000; i++) {
    only(() => decodeHolepunch(mutate(i % 2 ? bases.hp : bases.hp6)))
    only(() => decodePex(mutate(bases.pex)))
    only(() => decodeExtendedHandshake(mutate(i % 2 ? bases.ext : bases.ext2)))
    for (const [input, handshake] of [
      [mutate(stream), true],
      [mutate(afterHandshake), false],
    ] as const) {
      only(() => {
        const f = new WireFramer({ handshake, maxFrame: 4096 })
        // Feed in pieces, as a socket would.
        for (let at = 0; at < input.length; ) {
          const n = 1 + rnd(24)
          f.push(input.slice(at, at + n))
          at += n
          while (f.next()) decoded++
        }
      })
    }
  }
  assert.ok(decoded > 0)
})
