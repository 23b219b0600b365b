// A small part of the holepunch: reading a handshake without consuming it.
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { encodeHandshake, makeReserved } from '../../src/codec/peer-wire.js'
import { VirtualClock } from '../../src/net/sim/clock.js'
import { peekHandshake } from '../../src/swarm/handshake-peek.js'
import type { WireError } from '../../src/wire/errors.js'

describe('peekHandshake', () => {
  const hs = encodeHandshake({
    reserved: makeReserved({ extension: true }),
    infoHash: new Uint8Array(20).fill(7),
    peerId: new Uint8Array(20).fill(9),
  })

  it('reads a handshake split across chunks and leaves every byte unread on the paused stream', async () => {
    const s = new PassThrough()
    const clock = new VirtualClock()
    const p = peekHandshake(s, clock, 1000)
    const extra = new Uint8Array([0, 0, 0, 0])
    s.write(hs.subarray(0, 10))
    s.write(Buffer.concat([hs.subarray(10), extra]))
    const h = await p
    assert.deepEqual(h.peerId, new Uint8Array(20).fill(9))
    const rest: Buffer[] = []
    s.on('data', (b: Buffer) => rest.push(b))
    s.resume()
    await new Promise((r) => setImmediate(r))
    assert.deepEqual([...Buffer.concat(rest)], [...hs, ...extra])
  })

  it('rejects what is not a BitTorrent handshake, and destroys the stream', async () => {
    const s = new PassThrough()
    const p = peekHandshake(s, new VirtualClock(), 1000)
    s.write(new Uint8Array(68).fill(0x41))
    await assert.rejects(p, (e: WireError) => e.code === 'BAD_HANDSHAKE')
    assert.equal(s.destroyed, true)
  })

  it('times out on the clock', async () => {
    const s = new PassThrough()
    const clock = new VirtualClock()
    const p = peekHandshake(s, clock, 500)
    s.write(hs.subarray(0, 20))
    const rejected = assert.rejects(p, (e: WireError) => e.code === 'HANDSHAKE_TIMEOUT')
    await clock.runFor(500)
    await rejected
    assert.equal(s.destroyed, true)
  })
})
