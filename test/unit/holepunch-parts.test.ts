// The small parts of the holepunch: SYN re-sends and reading a handshake without consuming it.
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { encodeHandshake, makeReserved } from '../../src/codec/peer-wire.js'
import { VirtualClock } from '../../src/net/sim/clock.js'
import type { DatagramHandler, DatagramSocket, Endpoint } from '../../src/net/types.js'
import { peekHandshake } from '../../src/swarm/handshake-peek.js'
import { SynRepeater } from '../../src/swarm/syn-repeat.js'
import type { WireError } from '../../src/wire/errors.js'

class RecordingSocket implements DatagramSocket {
  readonly family = 4 as const
  sent: { data: Uint8Array; to: Endpoint }[] = []
  address(): Endpoint {
    return { host: '192.0.2.2', port: 6881 }
  }
  send(data: Uint8Array, to: Endpoint): void {
    this.sent.push({ data, to })
  }
  setReceiver(_h: DatagramHandler | null): void {}
  async close(): Promise<void> {}
}

function syn(connId: number): Uint8Array {
  const b = new Uint8Array(20)
  b[0] = 0x41 // ST_SYN, version 1
  b[2] = connId >> 8
  b[3] = connId & 255
  b[16] = 0x12 // seq
  return b
}

const peer = { host: '203.0.113.1', port: 6881 }

describe('SynRepeater', () => {
  it('re-sends the last SYN to a watched endpoint, same ids and seq, fresh timestamp', () => {
    const inner = new RecordingSocket()
    let now = 1000
    const r = new SynRepeater(inner, () => now)
    assert.equal(r.resend(peer), false, 'nothing to re-send before watching')
    r.watch(peer)
    r.send(syn(0xbeef), peer)
    now = 0x01020304
    assert.equal(r.resend(peer), true)
    assert.equal(inner.sent.length, 2)
    const again = inner.sent[1].data
    assert.deepEqual([...again.subarray(0, 4)], [...syn(0xbeef).subarray(0, 4)])
    assert.deepEqual([...again.subarray(4, 8)], [1, 2, 3, 4], 'timestamp rewritten')
    assert.deepEqual([...again.subarray(8)], [...syn(0xbeef).subarray(8)])
    assert.equal(r.resent, 1)
  })

  it('remembers nothing for endpoints not watched, and forgets on unwatch', () => {
    const inner = new RecordingSocket()
    const r = new SynRepeater(inner, () => 0)
    r.send(syn(1), peer)
    assert.equal(r.resend(peer), false)
    r.watch(peer)
    r.send(new Uint8Array(20), peer) // ST_DATA: not a SYN
    assert.equal(r.resend(peer), false)
    r.send(syn(2), peer)
    r.unwatch(peer)
    assert.equal(r.resend(peer), false)
  })
})

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
