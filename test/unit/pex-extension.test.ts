import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { encodeExtendedHandshake } from '../../src/codec/extension.js'
import { encodeExtendedMessage, encodeHandshake, makeReserved } from '../../src/codec/peer-wire.js'
import { decodePex, encodePex, type PexPeer } from '../../src/codec/pex.js'
import { WireFramer } from '../../src/codec/wire-framer.js'
import { PeerConnection } from '../../src/wire/peer-connection.js'
import { connectedPair, duplexPair, INFO_HASH, ManualClock, peerId, ticks } from '../helpers/wire-pair.js'

describe('PEX sending', () => {
  it('sends a full list first, then diffs, at most once per interval, capped per message', async () => {
    const clock = new ManualClock()
    let current: PexPeer[] = [
      { host: '198.51.100.1', port: 1, flags: 0x08 },
      { host: '198.51.100.2', port: 2, flags: 0 },
      { host: '198.51.100.3', port: 3, flags: 0x04 },
    ]
    const [a, b] = await connectedPair({ a: { clock, pex: { maxAdded: 2 } } })
    a.pex.source = () => current
    const got: [PexPeer[], unknown[]][] = []
    b.pex.on('peers', (added, dropped) => got.push([added, dropped]))
    assert.equal(a.pex.flush(), true)
    await ticks()
    assert.deepEqual(
      got[0][0].map((p) => p.port),
      [1, 2],
    )
    assert.equal(a.pex.flush(), false, 'not again within the interval')
    clock.advance(60_000)
    await ticks()
    assert.deepEqual(
      got[1][0].map((p) => [p.port, p.flags]),
      [[3, 0x04]],
      'the deferred entry goes in the next round',
    )
    current = current.slice(1)
    clock.advance(60_000)
    await ticks()
    assert.deepEqual(got[2], [[], [{ host: '198.51.100.1', port: 1 }]])
    clock.advance(60_000)
    await ticks()
    assert.equal(got.length, 3, 'nothing new: nothing sent')
    assert.equal(a.pex.stats.sent, 3)
  })
})

/** A hand-driven remote (at 198.51.100.20, a public address) talking to a PeerConnection. */
function remote(clock = new ManualClock()) {
  const [raw, s] = duplexPair()
  const conn = new PeerConnection({
    stream: s,
    direction: 'incoming',
    transport: 'tcp',
    remote: { host: '198.51.100.20', port: 50000 },
    peerId: peerId(9),
    infoHash: INFO_HASH,
    clock,
  })
  raw.write(encodeHandshake({ reserved: makeReserved({ extension: true }), infoHash: INFO_HASH, peerId: peerId(7) }))
  raw.write(encodeExtendedMessage(0, encodeExtendedHandshake({ m: { ut_pex: 3 } })))
  const pex = (payload: Uint8Array) => raw.write(encodeExtendedMessage(1, payload))
  const got: PexPeer[][] = []
  conn.pex.on('peers', (added) => {
    if (added.length > 0) got.push(added)
  })
  const framer = new WireFramer()
  const sent: Uint8Array[] = []
  raw.on('data', (c: Uint8Array) => {
    framer.push(Uint8Array.from(c))
    for (let it = framer.next(); it; it = framer.next()) {
      if (it.kind === 'message' && it.message.type === 'extended' && it.message.id === 3) sent.push(it.message.payload)
    }
  })
  return { conn, pex, got, clock, sent }
}

describe('PEX receiving (libtorrent limits)', () => {
  it('validates: ignores added without one flag byte per peer, LAN peers from a WAN peer, bad ports; masks 0x80', async () => {
    const r = remote()
    const two = new Uint8Array([198, 51, 100, 1, 0, 1, 198, 51, 100, 2, 0, 2])
    r.pex(encode({ added: two, 'added.f': new Uint8Array([1]) }))
    r.pex(
      encodePex({
        added: [
          { host: '192.0.2.1', port: 5, flags: 0 },
          { host: '10.0.0.1', port: 5, flags: 0 },
          { host: '203.0.113.7', port: 0, flags: 0 },
          { host: '203.0.113.8', port: 8, flags: 0x88 },
          { host: '203.0.113.8', port: 8, flags: 0x08 },
        ],
        dropped: [],
      }),
    )
    await ticks()
    assert.ok(r.conn.isOpen)
    assert.deepEqual(r.got, [
      [
        { host: '192.0.2.1', port: 5, flags: 0 },
        { host: '203.0.113.8', port: 8, flags: 0x08 },
      ],
    ])
    assert.equal(r.conn.drops.pex_ignored_field, 1)
  })
  it('keeps at most 50 peers of one message', async () => {
    const r = remote()
    const added = Array.from({ length: 80 }, (_, i) => ({ host: `203.0.113.${i + 1}`, port: 1000 + i, flags: 0 }))
    r.pex(encodePex({ added, dropped: [] }))
    await ticks()
    assert.equal(r.got[0].length, 50)
  })
  it('drops malformed payloads and keeps the connection', async () => {
    const r = remote()
    r.pex(new TextEncoder().encode('not bencode'))
    r.pex(encode([1, 2]))
    await ticks()
    assert.ok(r.conn.isOpen)
    assert.equal(r.conn.pex.stats.malformed, 2)
  })
  it('closes on more than 6 messages a minute', async () => {
    const r = remote()
    for (let i = 0; i < 6; i++) r.pex(encodePex({ added: [], dropped: [] }))
    await ticks()
    assert.ok(r.conn.isOpen)
    r.clock.advance(60_000)
    for (let i = 0; i < 6; i++) r.pex(encodePex({ added: [], dropped: [] }))
    await ticks()
    assert.ok(r.conn.isOpen, 'the window slides')
    r.pex(encodePex({ added: [], dropped: [] }))
    await ticks()
    assert.equal(r.conn.closeReason?.code, 'PEX_FLOOD')
  })
  it('closes on a message over 500 KiB', async () => {
    const r = remote()
    r.pex(encode({ added: new Uint8Array(6 * 90_000), 'added.f': new Uint8Array(90_000) }))
    await ticks(20)
    assert.equal(r.conn.closeReason?.code, 'PEX_OVERSIZE')
  })
  it('sends our first (empty) message right after the extended handshake', async () => {
    const r = remote()
    r.conn.pex.source = () => []
    await ticks()
    assert.equal(r.sent.length, 1)
    assert.deepEqual(decodePex(r.sent[0]), { added: [], dropped: [], ignored: [] })
  })
})
