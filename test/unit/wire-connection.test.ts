import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeExtendedHandshake } from '../../src/codec/extension.js'
import { encodeHolepunch } from '../../src/codec/holepunch.js'
import { encodeExtendedMessage, encodeHandshake, encodeMessage, makeReserved } from '../../src/codec/peer-wire.js'
import { WireError } from '../../src/wire/errors.js'
import { ExtensionRegistry } from '../../src/wire/extensions.js'
import { PeerConnection } from '../../src/wire/peer-connection.js'
import { connectedPair, duplexPair, extended, INFO_HASH, ManualClock, peerId, ticks } from '../helpers/wire-pair.js'

function closed(c: PeerConnection): Promise<WireError> {
  return new Promise((resolve) => (c.closeReason ? resolve(c.closeReason) : c.once('close', resolve)))
}

/** A raw peer: we write bytes by hand to one end, a PeerConnection listens on the other. */
function rawPeer(clock = new ManualClock()) {
  const [raw, s] = duplexPair()
  const conn = new PeerConnection({
    stream: s,
    direction: 'incoming',
    transport: 'tcp',
    remote: { host: '127.0.0.1', port: 50000 },
    peerId: peerId(9),
    infoHash: INFO_HASH,
    clock,
  })
  const received: Uint8Array[] = []
  raw.on('data', (c: Uint8Array) => received.push(Uint8Array.from(c)))
  const hello = (m: Record<string, number> = { ut_pex: 1, ut_holepunch: 2 }) => {
    raw.write(encodeHandshake({ reserved: makeReserved({ extension: true }), infoHash: INFO_HASH, peerId: peerId(7) }))
    raw.write(encodeExtendedMessage(0, encodeExtendedHandshake({ m, v: 'raw/1' })))
  }
  return { raw, conn, received, hello, clock }
}

describe('ExtensionRegistry', () => {
  it('maps names both ways, applies remote m additively, and id 0 disables', () => {
    const r = new ExtensionRegistry({ ut_pex: 1, ut_holepunch: 4 })
    assert.deepEqual(r.localMap(), { ut_pex: 1, ut_holepunch: 4 })
    assert.equal(r.nameOf(4), 'ut_holepunch')
    assert.equal(r.nameOf(2), undefined)
    r.updateRemote({ ut_pex: 3, ut_holepunch: 9 })
    assert.equal(r.remoteId('ut_pex'), 3)
    r.updateRemote({ ut_pex: 0, lt_donthave: 7 })
    assert.equal(r.remoteSupports('ut_pex'), false)
    assert.equal(r.remoteId('ut_holepunch'), 9)
    assert.deepEqual(r.remoteMap(), { ut_holepunch: 9, lt_donthave: 7 })
    assert.throws(() => new ExtensionRegistry({ a: 1, b: 1 }), RangeError)
    assert.throws(() => new ExtensionRegistry({ a: 0 }), RangeError)
  })
})

describe('PeerConnection', () => {
  it('handshakes both ways and exchanges extended handshakes with p, v, yourip, reqq and m', async () => {
    const [a, b] = await connectedPair({ a: { listenPort: 7000, clientName: 'test/1' } })
    assert.ok(a.isOpen && b.isOpen)
    assert.deepEqual(a.remotePeerId, peerId(2))
    assert.deepEqual(b.remotePeerId, peerId(1))
    assert.deepEqual(b.remoteExtended?.m, { ut_pex: 1, ut_metadata: 2, ut_holepunch: 4 })
    assert.equal(b.remoteExtended?.p, 7000)
    assert.equal(b.remoteExtended?.v, 'test/1')
    assert.equal(b.remoteExtended?.reqq, 250)
    assert.equal(b.remoteExtended?.yourip, '127.0.0.1')
    assert.deepEqual(b.listenEndpoint, { host: '127.0.0.1', port: 7000 })
    assert.equal(a.holepunch.supported, true)
    const got: unknown[] = []
    b.on('have', (m) => got.push(m.index))
    b.on('message', (m) => got.push(m.type))
    a.send({ type: 'have', index: 42 })
    a.send({ type: 'have_all' })
    await ticks()
    assert.deepEqual(got, ['have', 42, 'have_all'])
    a.close()
    assert.equal((await closed(b)).code, 'STREAM_ENDED')
    assert.equal(a.closeReason?.code, 'LOCAL_CLOSE')
    assert.throws(
      () => a.send({ type: 'choke' }),
      (e: unknown) => e instanceof WireError && e.code === 'NOT_CONNECTED',
    )
  })

  it('accepting side checks the info hash through its callback', async () => {
    const [sa, sb] = duplexPair()
    const a = new PeerConnection({
      stream: sa,
      direction: 'outgoing',
      transport: 'tcp',
      remote: { host: '127.0.0.1', port: 1 },
      peerId: peerId(1),
      infoHash: INFO_HASH,
    })
    const asked: Uint8Array[] = []
    const b = new PeerConnection({
      stream: sb,
      direction: 'incoming',
      transport: 'tcp',
      remote: { host: '127.0.0.1', port: 2 },
      peerId: peerId(2),
      acceptInfoHash: (ih) => {
        asked.push(ih)
        return false
      },
    })
    assert.equal((await closed(b)).code, 'INFOHASH_MISMATCH')
    assert.deepEqual(asked, [INFO_HASH])
    assert.equal((await closed(a)).code, 'STREAM_ENDED')
  })

  it('closes with a typed reason on garbage, oversize lengths and wrong-size messages', async () => {
    const g = rawPeer()
    g.raw.write(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'))
    assert.equal((await closed(g.conn)).code, 'BAD_HANDSHAKE')

    const o = rawPeer()
    o.hello()
    o.raw.write(new Uint8Array([0x80, 0, 0, 0, 1]))
    const r = await closed(o.conn)
    assert.equal(r.code, 'PROTOCOL')
    assert.match(r.message, /exceeds the maximum/)

    const w = rawPeer()
    w.hello()
    w.raw.write(new Uint8Array([0, 0, 0, 2, 4, 0]))
    assert.equal((await closed(w.conn)).code, 'PROTOCOL')

    const e = rawPeer()
    e.hello()
    e.raw.write(encodeExtendedMessage(0, new TextEncoder().encode('li1ee')))
    assert.equal((await closed(e.conn)).code, 'PROTOCOL')
  })

  it('drops and counts unknown extended ids and unknown message ids without closing', async () => {
    const p = rawPeer()
    p.hello()
    p.raw.write(encodeExtendedMessage(77, new Uint8Array([1, 2])))
    p.raw.write(encodeMessage({ type: 'unknown', id: 99, payload: new Uint8Array([1]) }))
    await ticks()
    assert.ok(p.conn.isOpen)
    assert.equal(p.conn.drops.unknown_extended_id, 1)
    assert.equal(p.conn.drops.unknown_message_id_99, 1)
  })

  it('a later extended handshake updates the remote map; id 0 disables an extension', async () => {
    const p = rawPeer()
    p.hello({ ut_pex: 1, ut_holepunch: 2 })
    await extended(p.conn)
    assert.equal(p.conn.holepunch.supported, true)
    p.raw.write(encodeExtendedMessage(0, encodeExtendedHandshake({ m: { ut_holepunch: 0 }, p: 9999 })))
    await ticks()
    assert.equal(p.conn.holepunch.supported, false)
    assert.equal(p.conn.pex.supported, true)
    assert.equal(p.conn.remoteExtended?.p, 9999)
    assert.equal(p.conn.remoteExtended?.v, 'raw/1')
  })

  it('a peer re-sending extended handshakes full of new names cannot grow our memory: maps capped, then closed', async () => {
    const p = rawPeer()
    p.hello()
    await extended(p.conn)
    const closed = new Promise<string>((resolve) => p.conn.once('close', (r) => resolve(r.message)))
    for (let k = 0; k < 12; k++) {
      const m: Record<string, number> = {}
      const extra: Record<string, number> = {}
      for (let i = 0; i < 200; i++) {
        m[`x${k}_${i}`] = (i % 255) + 1
        extra[`junk${k}_${i}`] = i
      }
      p.raw.write(encodeExtendedMessage(0, encodeExtendedHandshake({ m, extra })))
      await ticks()
      if (p.conn.isClosed) break
      assert.ok(Object.keys(p.conn.remoteExtended!.m).length <= 255, 'remote names capped')
      assert.ok(Object.keys(p.conn.remoteExtended!.extra ?? {}).length <= 200, 'only the last unknown keys kept')
    }
    assert.match(await closed, /extended handshakes a minute/)
  })

  it('sends keep-alives when idle and times out a silent peer (injected clock)', async () => {
    const p = rawPeer()
    p.hello()
    await extended(p.conn)
    await ticks()
    const before = p.received.length
    p.clock.advance(101_000)
    await ticks()
    const after = p.received.slice(before)
    assert.ok(
      after.some((c) => c.length === 4 && c.every((x) => x === 0)),
      'a keep-alive went out',
    )
    assert.ok(p.conn.isOpen)
    p.clock.advance(140_000)
    assert.equal(p.conn.closeReason?.code, 'IDLE_TIMEOUT')
  })

  it('times out a peer that never handshakes', async () => {
    const p = rawPeer()
    p.clock.advance(20_000)
    assert.equal(p.conn.closeReason?.code, 'HANDSHAKE_TIMEOUT')
  })
})

describe('Holepunch on a connection (seed API)', () => {
  it("hp.on('hp_connect', (ip, port) => …) and the other typed events work as in the seed", async () => {
    const [a, b] = await connectedPair()
    const hp = a.holepunch
    const events: unknown[] = []
    hp.on('hp_connect', (ip: string, port: number) => events.push(['connect', ip, port]))
    hp.on('hp_error', (code: number, ep) => events.push(['error', code, ep]))
    b.holepunch.on('hp_rendezvous', (ep, id) => events.push(['rendezvous', ep, id]))
    b.holepunch.resolveEndpoint = (ep) => (ep.port === 9 ? peerId(5) : undefined)
    b.holepunch.sendHpConnect('127.0.0.1', 6882)
    b.holepunch.sendHpError(2, { host: '127.0.0.1', port: 9 })
    hp.sendHpRendezvous({ host: '127.0.0.1', port: 9 })
    await ticks()
    const order = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort()
    assert.deepEqual(
      order(events),
      order([
        ['rendezvous', { host: '127.0.0.1', port: 9 }, peerId(5)],
        ['connect', '127.0.0.1', 6882],
        ['error', 2, { host: '127.0.0.1', port: 9 }],
      ]),
    )
  })

  it('resolves a 20-byte peer id target through the resolver; an unknown id is a typed error', async () => {
    const [a, b] = await connectedPair()
    const seen: unknown[] = []
    b.holepunch.on('hp_rendezvous', (ep) => seen.push(ep))
    a.holepunch.resolvePeerId = (id) => (id[19] === 5 ? { host: '127.0.0.1', port: 7005 } : undefined)
    a.holepunch.sendHpRendezvous(peerId(5))
    assert.throws(
      () => a.holepunch.sendHpRendezvous(peerId(6)),
      (e: unknown) => e instanceof WireError && e.code === 'UNKNOWN_PEER_ID',
    )
    await ticks()
    assert.deepEqual(seen, [{ host: '127.0.0.1', port: 7005 }])
  })

  it('ignores (and counts) holepunch messages from a peer that did not advertise ut_holepunch', async () => {
    const p = rawPeer()
    p.hello({ ut_pex: 1 })
    const seen: unknown[] = []
    p.conn.holepunch.on('hp_rendezvous', (ep) => seen.push(ep))
    // Our ut_holepunch id is 4: the peer sends to it anyway.
    p.raw.write(
      encodeExtendedMessage(4, encodeHolepunch({ type: 'rendezvous', host: '127.0.0.1', port: 9, errorCode: 0 })),
    )
    await ticks()
    assert.deepEqual(seen, [])
    assert.equal(p.conn.holepunch.stats.ignoredUnsupported, 1)
    assert.throws(
      () => p.conn.holepunch.sendHpConnect('127.0.0.1', 1),
      (e: unknown) => e instanceof WireError && e.code === 'NOT_SUPPORTED',
    )
  })

  it('drops malformed holepunch payloads and keeps the connection', async () => {
    const p = rawPeer()
    p.hello()
    p.raw.write(encodeExtendedMessage(4, new Uint8Array([0, 0, 127])))
    p.raw.write(encodeExtendedMessage(4, new Uint8Array([7, 0, 127, 0, 0, 1, 0, 1])))
    await ticks()
    assert.ok(p.conn.isOpen)
    assert.equal(p.conn.holepunch.stats.malformed, 2)
  })
})
