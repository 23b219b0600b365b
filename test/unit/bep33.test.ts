// BEP 33 scrapes: the BEP's bloom filter vector, union and estimate, and the scrape keys on the wire.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  bloomEstimate,
  buildAnnouncePeerQuery,
  buildGetPeersQuery,
  buildGetPeersReply,
  CodecError,
  encode,
  estimateUnion,
  fromHex,
  parseKrpc,
  ScrapeBloomFilter,
  toHex,
} from '../../src/codec/index.js'
import { sha1 } from '../../src/dht/bep44-crypto.js'
import { scrapeFilters } from '../../src/dht/scrape-filter.js'

// BEP 33 "Test Vectors": 192.0.2.0-192.0.2.255 and 2001:DB8::-2001:DB8::3E7, inclusive.
const VECTOR = `F6C3F5EA A07FFD91 BDE89F77 7F26FB2B FF37BDB8 FB2BBAA2 FD3DDDE7 BACFFF75 EE7CCBAE
 FE5EEDB1 FBFAFF67 F6ABFF5E 43DDBCA3 FD9B9FFD F4FFD3E9 DFF12D1B DF59DB53 DBE9FA5B
 7FF3B8FD FCDE1AFB 8BEDD7BE 2F3EE71E BBBFE93B CDEEFE14 8246C2BC 5DBFF7E7 EFDCF24F
 D8DC7ADF FD8FFFDF DDFFF7A4 BBEEDF5C B95CE81F C7FCFF1F F4FFFFDF E5F7FDCB B7FD79B3
 FA1FC77B FE07FFF9 05B7B7FF C7FEFEFF E0B8370B B0CD3F5B 7F2BD93F EB4386CF DD6F7FD5
 BFAF2E9E BFFFFEEC D67ADBF7 C67F17EF D5D75EBA 6FFEBA7F FF47A91E B1BFBB53 E8ABFB57
 62ABE8FF 237279BF EFBFEEF5 FFC5FEBF DFE5ADFF ADFEE1FB 737FFFFB FD9F6AEF FEEE76B6
 FD8F72EF`.replace(/\s+/g, '')

function v4(i: number): Uint8Array {
  return Uint8Array.of(192, 0, 2, i)
}
function v6(i: number): Uint8Array {
  const b = new Uint8Array(16)
  b.set([0x20, 0x01, 0x0d, 0xb8])
  b[14] = i >> 8
  b[15] = i & 0xff
  return b
}

describe('BEP 33 bloom filter', () => {
  it('the BEP test vector: bytes and the estimate 1224.9308', () => {
    const f = new ScrapeBloomFilter()
    for (let i = 0; i <= 255; i++) f.insertIP(v4(i), sha1)
    for (let i = 0; i <= 0x3e7; i++) f.insertIP(v6(i), sha1)
    assert.equal(toHex(f.bytes).toUpperCase(), VECTOR)
    // 1224.93089: the BEP prints it cut to four decimals.
    assert.ok(Math.abs(f.estimate() - 1224.9308) < 1e-4, String(f.estimate()))
    assert.equal(bloomEstimate(fromHex(VECTOR)!), f.estimate())
  })

  it('text addresses and v4-mapped addresses hash as their bytes', () => {
    const a = new ScrapeBloomFilter()
    const b = new ScrapeBloomFilter()
    a.insertIP('192.0.2.7', sha1)
    b.insertIP('::ffff:192.0.2.7', sha1)
    assert.deepEqual(a.bytes, b.bytes)
    assert.ok(a.mightContain(v4(7), sha1))
    assert.ok(!a.mightContain(v4(8), sha1) || !a.mightContain(v4(9), sha1))
    assert.throws(() => a.insertIP(Uint8Array.of(1, 2, 3), sha1), CodecError)
    assert.throws(() => new ScrapeBloomFilter(new Uint8Array(255)), CodecError)
  })

  it('union of filters estimates the union of the sets; the empty filter is 0', () => {
    const a = new ScrapeBloomFilter()
    const b = new ScrapeBloomFilter()
    for (let i = 0; i < 200; i++) a.insertIP(v6(i), sha1)
    for (let i = 100; i < 300; i++) b.insertIP(v6(i), sha1)
    const est = estimateUnion([a.bytes, b.bytes])
    assert.ok(Math.abs(est - 300) < 300 * 0.1, `estimate ${est}`)
    assert.ok(Math.abs(a.estimate() - 200) < 20)
    assert.equal(new ScrapeBloomFilter().estimate(), 0)
    assert.equal(estimateUnion([]), 0)
    // A full filter is the most a filter can tell, not infinity.
    const full = new ScrapeBloomFilter(new Uint8Array(256).fill(0xff))
    assert.ok(Number.isFinite(full.estimate()) && full.estimate() > 7000)
    // Union does not change its inputs.
    const before = b.bytes.slice()
    new ScrapeBloomFilter().union(b)
    assert.deepEqual(b.bytes, before)
  })

  it('scrapeFilters: seeds in BFsd, downloaders in BFpe, an IP that seeds counted once', () => {
    const peers = [
      ...Array.from({ length: 50 }, (_, i) => ({ host: `198.51.100.${i}`, port: 1000 + i, seed: true })),
      ...Array.from({ length: 30 }, (_, i) => ({ host: `2001:db8::${i}`, port: 2000, seed: false })),
      { host: '198.51.100.1', port: 9, seed: false }, // the same IP as a seed, another port
    ]
    const { BFsd, BFpe } = scrapeFilters(peers)
    assert.ok(Math.abs(bloomEstimate(BFsd) - 50) < 5)
    assert.ok(Math.abs(bloomEstimate(BFpe) - 30) < 4)
    // The seeding IP's second, non-seed entry adds nothing to BFpe.
    assert.deepEqual(BFpe, scrapeFilters(peers.filter((p) => p.host.includes(':'))).BFpe)
    assert.deepEqual(BFsd, scrapeFilters(peers.filter((p) => p.seed)).BFsd)
    const empty = scrapeFilters([])
    assert.equal(bloomEstimate(empty.BFsd), 0)
  })
})

const T = Uint8Array.of(1, 2)
const NID = new Uint8Array(20).fill(3)
const IH = new Uint8Array(20).fill(4)

describe('BEP 33 keys on the wire', () => {
  it('get_peers scrape/noseed and announce_peer seed: canonical bytes and typed parse', () => {
    assert.deepEqual(
      buildGetPeersQuery(T, NID, IH, { scrape: true, noseed: true, want: ['n4'] }),
      encode({ a: { id: NID, info_hash: IH, noseed: 1, scrape: 1, want: ['n4'] }, q: 'get_peers', t: T, y: 'q' }),
    )
    const gp = parseKrpc(buildGetPeersQuery(T, NID, IH, { scrape: true }))
    assert.ok(gp.y === 'q' && gp.known && gp.q === 'get_peers')
    assert.equal(gp.a.scrape, 1)
    assert.equal(gp.a.noseed, undefined)
    const tok = Uint8Array.of(9)
    assert.deepEqual(
      buildAnnouncePeerQuery(T, NID, IH, tok, 6881, { seed: true, impliedPort: true }),
      encode({
        a: { id: NID, implied_port: 1, info_hash: IH, port: 6881, seed: 1, token: tok },
        q: 'announce_peer',
        t: T,
        y: 'q',
      }),
    )
    const ap = parseKrpc(buildAnnouncePeerQuery(T, NID, IH, tok, 6881, { seed: true }))
    assert.ok(ap.y === 'q' && ap.known && ap.q === 'announce_peer')
    assert.equal(ap.a.seed, 1)
  })

  it('a flag of the wrong type is dropped, not fatal (as libtorrent does for optional keys)', () => {
    const m = parseKrpc(encode({ a: { id: NID, info_hash: IH, scrape: 'yes' }, q: 'get_peers', t: T, y: 'q' }))
    assert.ok(m.y === 'q' && m.known && m.q === 'get_peers')
    assert.equal(m.a.scrape, undefined)
    assert.ok(!('scrape' in m.a))
  })

  it('get_peers replies carry BFsd/BFpe (sorted before id); a wrong-size filter is dropped', () => {
    const sd = new Uint8Array(256).fill(0x0f)
    const pe = new Uint8Array(256).fill(0xf0)
    const nodes = new Uint8Array(26)
    const wire = buildGetPeersReply(T, NID, undefined, nodes, tok4(), { BFsd: sd, BFpe: pe, ip: new Uint8Array(6) })
    assert.deepEqual(
      wire,
      encode({ ip: new Uint8Array(6), r: { BFpe: pe, BFsd: sd, id: NID, nodes, token: tok4() }, t: T, y: 'r' }),
    )
    const r = parseKrpc(wire)
    assert.ok(r.y === 'r')
    assert.deepEqual(r.r.BFsd, sd)
    assert.deepEqual(r.r.BFpe, pe)
    const short = parseKrpc(encode({ r: { BFsd: new Uint8Array(255), id: NID, nodes }, t: T, y: 'r' }))
    assert.ok(short.y === 'r')
    assert.deepEqual(short.r, { id: NID, nodes })
    assert.throws(
      () => buildGetPeersReply(T, NID, undefined, nodes, undefined, { BFsd: new Uint8Array(10) }),
      CodecError,
    )
  })
})

function tok4(): Uint8Array {
  return Uint8Array.of(5, 6, 7, 8)
}
