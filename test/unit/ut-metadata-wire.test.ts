// BEP 9 on one connection (wire/ut-metadata.ts) over a stub extension host, and the piece assembly that finds the
// whole which hashes right (swarm/metadata-assembly.ts).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { bytesEqual, concatBytes } from '../../src/codec/bytes.js'
import { decodeUtMetadata, encodeUtMetadata, METADATA_PIECE_SIZE } from '../../src/codec/ut-metadata.js'
import { matchesTarget, parseTarget } from '../../src/swarm/metadata.js'
import { MetadataAssembly } from '../../src/swarm/metadata-assembly.js'
import { WireError } from '../../src/wire/errors.js'
import { METADATA_EXTENSION, UtMetadata, type UtMetadataHost } from '../../src/wire/ut-metadata.js'
import { connectedPair, ManualClock, ticks } from '../helpers/wire-pair.js'

/** A connection stand-in: records what the extension sends, delivers payloads to its handler. */
function stubHost(remoteSize?: number) {
  const sent: Uint8Array[] = []
  const drops: string[] = []
  let handler: ((p: Uint8Array) => void) | undefined
  const host: UtMetadataHost = {
    extensions: { localId: () => 2, remoteSupports: (n) => n === METADATA_EXTENSION },
    remote: { host: '198.51.100.7', port: 6881 },
    isOpen: true,
    isClosed: false,
    remoteExtended: { metadataSize: remoteSize },
    handleExtension: (_n, h) => {
      handler = h
    },
    sendExtended: (_n, p) => {
      sent.push(p)
      return true
    },
    countDrop: (r) => drops.push(r),
    on: () => host,
  }
  return { host, sent, drops, deliver: (p: Uint8Array) => handler?.(p) }
}

const info = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13) & 0xff)

describe('ut_metadata serving', () => {
  it('answers requests with 16 KiB pieces (the last shorter), rejects without metadata or out of range', () => {
    const clock = new ManualClock()
    const s = stubHost()
    const m = new UtMetadata(s.host, clock)
    assert.equal(m.localSize, undefined)
    s.deliver(encodeUtMetadata({ type: 'request', piece: 0 }))
    assert.deepEqual(decodeUtMetadata(s.sent[0]), { type: 'reject', piece: 0 })
    const bytes = info(40_000)
    m.source = () => bytes
    assert.equal(m.localSize, 40_000)
    for (const piece of [0, 2, 3]) s.deliver(encodeUtMetadata({ type: 'request', piece }))
    const [p0, p2, p3] = s.sent.slice(1).map((p) => decodeUtMetadata(p))
    assert.equal(p0.type, 'data')
    assert.deepEqual(p0.type === 'data' && p0.data, bytes.subarray(0, METADATA_PIECE_SIZE))
    assert.deepEqual(p2.type === 'data' && p2.data, bytes.subarray(2 * METADATA_PIECE_SIZE))
    assert.equal(p2.type === 'data' && p2.data.length, 40_000 - 2 * METADATA_PIECE_SIZE)
    assert.deepEqual(p3, { type: 'reject', piece: 3 }, 'out of range')
    assert.deepEqual(m.stats.served, 2)
  })

  it('rate-limits per peer with a token bucket, and closes a peer that floods past it', () => {
    const clock = new ManualClock()
    const s = stubHost()
    const m = new UtMetadata(s.host, clock, { burst: 4, piecesPerSecond: 2, maxRejectsPerWindow: 10 })
    const bytes = info(100_000)
    m.source = () => bytes
    const answers: string[] = []
    m.on('request', (_p, a) => answers.push(a))
    const ask = (n: number) => {
      for (let i = 0; i < n; i++) s.deliver(encodeUtMetadata({ type: 'request', piece: i % 6 }))
    }
    ask(6)
    assert.deepEqual(answers, ['served', 'served', 'served', 'served', 'rate_limited', 'rate_limited'])
    clock.advance(1000)
    answers.length = 0
    ask(3)
    assert.deepEqual(answers, ['served', 'served', 'rate_limited'], '2 tokens a second')
    // 3 rejects so far; 7 more are tolerated, the 8th passes 10 in the window and closes.
    assert.doesNotThrow(() => ask(7))
    assert.throws(
      () => ask(1),
      (e: unknown) => e instanceof WireError && e.code === 'METADATA_FLOOD',
    )
    // After the window, rejects are forgiven.
    clock.advance(10_000)
    assert.doesNotThrow(() => ask(4))
  })
})

describe('ut_metadata answers', () => {
  it('reports data and rejects checked against the announced size; invalid ones as `invalid`', () => {
    const s = stubHost(20_000)
    const m = new UtMetadata(s.host, new ManualClock())
    const got: string[] = []
    m.on('data', (p, b, t) => got.push(`data ${p} ${b.length} ${t}`))
    m.on('reject', (p) => got.push(`reject ${p}`))
    m.on('invalid', () => got.push('invalid'))
    const raw = (d: Record<string, number>, tail = new Uint8Array(0)) => concatBytes([encode(d), tail])
    s.deliver(raw({ msg_type: 1, piece: 1, total_size: 20_000 }, new Uint8Array(20_000 - METADATA_PIECE_SIZE)))
    s.deliver(raw({ msg_type: 2, piece: 0 }))
    s.deliver(raw({ msg_type: 1, piece: 5, total_size: 20_000 }, new Uint8Array(10))) // out of range
    s.deliver(raw({ msg_type: 1, piece: 0, total_size: 20_000 }, new Uint8Array(100))) // wrong size
    s.deliver(raw({ msg_type: 1, piece: 0, total_size: 16_384 }, new Uint8Array(16_384))) // not its announced size
    s.deliver(raw({ msg_type: 2, piece: 9 })) // reject out of range
    s.deliver(raw({ msg_type: 7, piece: 0 })) // unknown type: ignored (BEP 9)
    s.deliver(new Uint8Array([0x64, 0x31])) // garbage
    assert.deepEqual(got, [
      `data 1 ${20_000 - METADATA_PIECE_SIZE} 20000`,
      'reject 0',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
    ])
    assert.deepEqual(s.drops.filter((d) => d === 'ut_metadata_unknown_type').length, 1)
  })

  it('between two PeerConnections: metadata_size in the extended handshake, request and data end to end', async () => {
    const bytes = info(30_000)
    const [a, b] = await connectedPair({})
    // Neither had metadata at the handshake: no metadata_size; ut_metadata is advertised all the same.
    assert.equal(b.remoteExtended?.metadataSize, undefined)
    assert.equal(b.remoteExtended?.m.ut_metadata, 2)
    a.utMetadata.source = () => bytes
    a.sendExtendedHandshake()
    await ticks()
    assert.equal(b.remoteExtended?.metadataSize, 30_000)
    const pieces: Uint8Array[] = []
    b.utMetadata.on('data', (p, d) => {
      pieces[p] = d.slice()
    })
    assert.equal(b.utMetadata.request(0), true)
    assert.equal(b.utMetadata.request(1), true)
    await ticks()
    assert.deepEqual(concatBytes(pieces), bytes)
    a.close()
    b.close()
  })
})

describe('metadata assembly', () => {
  const whole = info(3 * METADATA_PIECE_SIZE + 1000)
  const sha1 = (b: Uint8Array) => new Uint8Array(createHash('sha1').update(b).digest())
  const target = sha1(whole)
  const check = (b: Uint8Array) => bytesEqual(sha1(b), target)
  const piece = (i: number) => whole.subarray(i * METADATA_PIECE_SIZE, (i + 1) * METADATA_PIECE_SIZE)
  const corrupt = (i: number) => {
    const c = piece(i).slice()
    c[7] ^= 1
    return c
  }

  it('verifies a whole from honest pieces; ignores wrong lengths and indices', () => {
    const a = new MetadataAssembly(whole.length)
    assert.equal(a.pieces, 4)
    assert.equal(a.add(0, new Uint8Array(5), 'x'), 'ignored')
    assert.equal(a.add(4, new Uint8Array(5), 'x'), 'ignored')
    for (let i = 0; i < 4; i++) assert.equal(a.add(i, piece(i), i % 2 ? 'p' : 'q'), 'new')
    assert.equal(a.add(1, piece(1), 'r'), 'same')
    const ok = a.verify(check)
    assert.ok(ok)
    assert.deepEqual(ok.info, whole)
    assert.deepEqual(ok.from.sort(), ['p', 'q', 'r'])
    assert.deepEqual(ok.bad, [])
  })

  it('with a corrupt peer: the first whole fails; with second opinions the suspect is left out and proven bad', () => {
    const a = new MetadataAssembly(whole.length)
    a.add(0, piece(0), 'good')
    a.add(1, corrupt(1), 'bad')
    a.add(2, piece(2), 'good')
    a.add(3, corrupt(3), 'bad')
    assert.equal(a.verify(check), undefined)
    assert.equal(a.lastTries, 1)
    assert.equal(a.verify(check), undefined, 'nothing new: nothing tried again')
    assert.equal(a.lastTries, 0)
    // Second opinions: piece 1 and 3 from the good peer, 0 from the bad one.
    a.add(1, piece(1), 'good')
    a.add(3, piece(3), 'good')
    a.add(0, corrupt(0), 'bad')
    const ok = a.verify(check)
    assert.ok(ok)
    assert.deepEqual(ok.info, whole)
    assert.deepEqual(ok.from, ['good'])
    assert.deepEqual(ok.bad, ['bad'])
  })

  it('hashes at most maxTries wholes per call and says when more are left', () => {
    const a = new MetadataAssembly(whole.length, { maxTries: 1 })
    for (let i = 0; i < 4; i++) a.add(i, i === 2 ? corrupt(i) : piece(i), 'bad')
    a.add(2, piece(2), 'good')
    // The first whole takes bad's version of piece 2 (it came first); leaving out 'bad' needs a second try.
    assert.equal(a.verify(check), undefined)
    assert.equal(a.moreToTry, true)
    const ok = a.verify(check)
    assert.ok(ok)
    assert.equal(a.moreToTry, false)
    assert.deepEqual(ok.bad, ['bad'])
  })

  it('finds the one honest peer among five that each corrupt every piece differently', () => {
    const a = new MetadataAssembly(whole.length)
    for (let liar = 0; liar < 5; liar++) {
      for (let i = 0; i < 4; i++) {
        const c = piece(i).slice()
        c[liar] ^= 0x80
        a.add(i, c, `liar${liar}`)
      }
    }
    for (let i = 0; i < 4; i++) a.add(i, piece(i), 'honest')
    const ok = a.verify(check)
    assert.ok(ok)
    assert.deepEqual(ok.from, ['honest'])
    assert.equal(ok.bad.length, 5)
  })

  it('keeps at most maxVersions versions of a piece', () => {
    const a = new MetadataAssembly(whole.length, { maxVersions: 2 })
    assert.equal(a.add(0, corrupt(0), 'a'), 'new')
    assert.equal(a.add(0, piece(0), 'b'), 'new')
    const c = piece(0).slice()
    c[9] ^= 2
    assert.equal(a.add(0, c, 'c'), 'ignored')
  })
})

describe('metadata targets', () => {
  it('reads hex, bytes and magnet links (v1, v2, both with x.pe) and checks both hashes', () => {
    const bytes = info(100)
    const v1 = sha1Of(bytes)
    const v2 = new Uint8Array(createHash('sha256').update(bytes).digest())
    const hex = Buffer.from(v1).toString('hex')
    assert.deepEqual(parseTarget(hex).swarmHash, v1)
    const t2 = parseTarget(v2)
    assert.deepEqual(t2.swarmHash, v2.subarray(0, 20))
    assert.deepEqual(t2.infoHash, v2)
    const mag = parseTarget(
      `magnet:?xt=urn:btih:${hex}&xt=urn:btmh:1220${Buffer.from(v2).toString('hex')}&x.pe=[2001:db8::1]:7`,
    )
    assert.deepEqual(mag.peers, [{ host: '2001:db8::1', port: 7 }])
    assert.equal(matchesTarget(bytes, mag), true)
    assert.equal(matchesTarget(info(101), mag), false)
    assert.equal(matchesTarget(bytes, { v1, v2: new Uint8Array(32) }), false, 'both must match')
    assert.throws(() => parseTarget('abcd'), /20- or 32-byte/)
    assert.throws(
      () => parseTarget('magnet:?dn=x'),
      (e: Error) => e.name === 'MetadataError',
    )
  })
})

function sha1Of(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(b).digest())
}
