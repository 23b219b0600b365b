// Property and fuzz tests for the BEP 44 / 51 / 33 messages: round trips of every new builder through parseKrpc,
// and hostile input (structured random messages, mutations of valid ones) that may only raise KrpcError and never
// yields a message breaking the typed guarantees.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { fromLatin1 } from '../../src/codec/bytes.js'
import {
  type BEncodable,
  buildAnnouncePeerQuery,
  buildGetPeersQuery,
  buildGetPeersReply,
  buildGetQuery,
  buildGetReply,
  buildPutQuery,
  buildPutReply,
  buildSampleInfohashesQuery,
  buildSampleInfohashesReply,
  decode,
  encode,
  KrpcError,
  type KrpcMessage,
  type KrpcWant,
  parseKrpc,
} from '../../src/codec/index.js'

const bytes = (min: number, max = min) => fc.uint8Array({ minLength: min, maxLength: max })
const id = bytes(20)
const tid = bytes(0, 8)
const seq = fc.bigInt({ min: 0n, max: (1n << 63n) - 1n })
const want = fc.option(fc.subarray<KrpcWant>(['n4', 'n6']), { nil: undefined })
const { value } = fc.letrec<{ value: BEncodable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.uint8Array({ maxLength: 60 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 5 }),
  ),
}))
/** A canonical bencoded value of 1-1000 bytes. */
const bval = value.map((v) => encode(v)).filter((b) => b.length >= 1 && b.length <= 1000)
const ALL = { allMethods: true }

describe('BEP 44/51/33 round trips (property)', () => {
  it('get and put queries', () => {
    fc.assert(
      fc.property(tid, id, id, fc.option(seq, { nil: undefined }), want, (t, nid, target, s, w) => {
        const m = parseKrpc(buildGetQuery(t, nid, target, { seq: s, want: w }), ALL)
        assert.ok(m.y === 'q' && m.known && m.q === 'get')
        const a: Record<string, unknown> = { id: nid, target }
        if (s !== undefined) a.seq = s
        if (w !== undefined) a.want = w
        assert.deepEqual(m.a, a)
        assert.deepEqual(m.t, t)
      }),
      { numRuns: 300 },
    )
    fc.assert(
      fc.property(
        tid,
        id,
        bytes(0, 30),
        bval,
        fc.option(
          fc.record({ k: bytes(32), sig: bytes(64), seq, salt: bytes(0, 64), cas: fc.option(seq, { nil: undefined }) }),
          {
            nil: undefined,
          },
        ),
        (t, nid, token, v, mut) => {
          const item = mut === undefined ? { v } : { v, ...mut }
          const m = parseKrpc(buildPutQuery(t, nid, token, item), ALL)
          assert.ok(m.y === 'q' && m.known && m.q === 'put')
          const a: Record<string, unknown> = { id: nid, token, v }
          if (mut) {
            a.k = mut.k
            a.sig = mut.sig
            a.seq = mut.seq
            if (mut.cas !== undefined) a.cas = mut.cas
            if (mut.salt.length > 0) a.salt = mut.salt
          }
          assert.deepEqual(m.a, a)
          // The bytes equal the generic encoder's: canonical key order.
          const generic = encode({ a: { ...a, v: decode(v) } as never, q: 'put', t, y: 'q' })
          assert.deepEqual(buildPutQuery(t, nid, token, item), generic)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('get, put and sample replies', () => {
    const nodes = fc.option(
      fc.array(bytes(26), { maxLength: 8 }).map((a) => Uint8Array.from(a.flatMap((x) => [...x]))),
      {
        nil: undefined,
      },
    )
    fc.assert(
      fc.property(
        tid,
        id,
        nodes,
        fc.option(bytes(0, 20), { nil: undefined }),
        fc.oneof(
          fc.constant({}),
          bval.map((v) => ({ v })),
          seq.map((s) => ({ seq: s })),
          fc.record({ v: bval, k: bytes(32), sig: bytes(64), seq }),
        ),
        (t, nid, n4, token, item) => {
          const m = parseKrpc(buildGetReply(t, nid, { nodes: n4, token, ...item }))
          assert.ok(m.y === 'r')
          const r: Record<string, unknown> = { id: nid, ...item }
          if (n4) r.nodes = n4
          if (token) r.token = token
          assert.deepEqual(m.r, r)
          const p = parseKrpc(buildPutReply(t, nid))
          assert.ok(p.y === 'r')
          assert.deepEqual(p.r, { id: nid })
        },
      ),
      { numRuns: 300 },
    )
    fc.assert(
      fc.property(
        tid,
        id,
        id,
        want,
        fc.integer({ min: 0, max: 21600 }),
        fc.nat(),
        fc.array(bytes(20), { maxLength: 40 }),
        nodes,
        (t, nid, target, w, interval, num, samples, n4) => {
          const q = parseKrpc(buildSampleInfohashesQuery(t, nid, target, { want: w }), ALL)
          assert.ok(q.y === 'q' && q.known && q.q === 'sample_infohashes')
          assert.deepEqual(q.a.target, target)
          const m = parseKrpc(buildSampleInfohashesReply(t, nid, { interval, num, samples, nodes: n4 }))
          assert.ok(m.y === 'r')
          assert.equal(m.r.interval, interval)
          assert.equal(m.r.num, num)
          assert.deepEqual(m.r.samples, Uint8Array.from(samples.flatMap((x) => [...x])))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('scrape keys', () => {
    fc.assert(
      fc.property(
        tid,
        id,
        id,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        bytes(256),
        bytes(256),
        (t, nid, ih, sc, ns, sd, bs, bp) => {
          const q = parseKrpc(buildGetPeersQuery(t, nid, ih, { scrape: sc, noseed: ns }))
          assert.ok(q.y === 'q' && q.known && q.q === 'get_peers')
          assert.equal(q.a.scrape, sc ? 1 : undefined)
          assert.equal(q.a.noseed, ns ? 1 : undefined)
          const a = parseKrpc(buildAnnouncePeerQuery(t, nid, ih, Uint8Array.of(1), 1, { seed: sd }))
          assert.ok(a.y === 'q' && a.known && a.q === 'announce_peer')
          assert.equal(a.a.seed, sd ? 1 : undefined)
          const r = parseKrpc(
            buildGetPeersReply(t, nid, undefined, undefined, undefined, { BFsd: sc ? bs : undefined, BFpe: bp }),
          )
          assert.ok(r.y === 'r')
          assert.deepEqual(r.r.BFsd, sc ? bs : undefined)
          assert.deepEqual(r.r.BFpe, bp)
        },
      ),
      { numRuns: 200 },
    )
  })
})

// ---- hostile input ---------------------------------------------------------------------------------------

function parseOrKrpcError(b: Uint8Array): KrpcMessage | undefined {
  try {
    return parseKrpc(b, ALL)
  } catch (e) {
    if (!(e instanceof KrpcError))
      assert.fail(`${(e as Error)?.stack ?? e}\ninput (hex): ${Buffer.from(b).toString('hex')}`)
    if (e.krpcCode !== 203) {
      assert.ok(e.krpcCode === 205 || e.krpcCode === 207, `code ${e.krpcCode}`)
      assert.equal(e.method, 'put')
    }
    return undefined
  }
}

/** What every parsed message guarantees about the BEP 44/51/33 keys, whatever the input. */
function invariants(m: KrpcMessage): void {
  if (m.y === 'q' && m.known) {
    if (m.q === 'put') {
      const a = m.a
      assert.ok(a.v.length >= 1 && a.v.length <= 1000)
      decode(a.v) // canonical: the strict decoder accepts it
      assert.ok(a.token instanceof Uint8Array)
      if (a.k !== undefined || a.sig !== undefined) {
        assert.equal(a.k?.length, 32)
        assert.equal(a.sig?.length, 64)
        assert.equal(typeof a.seq, 'bigint')
      }
      if (a.seq !== undefined) assert.ok(a.seq >= 0n && a.seq < 1n << 63n)
      if (a.cas !== undefined) assert.equal(typeof a.cas, 'bigint')
      if (a.salt !== undefined) assert.ok(a.salt.length <= 64)
    } else if (m.q === 'get' || m.q === 'sample_infohashes') {
      assert.equal(m.a.target.length, 20)
      if (m.q === 'get' && m.a.seq !== undefined) assert.equal(typeof m.a.seq, 'bigint')
    } else if (m.q === 'get_peers') {
      if (m.a.scrape !== undefined) assert.ok(Number.isInteger(m.a.scrape))
      if (m.a.noseed !== undefined) assert.ok(Number.isInteger(m.a.noseed))
    } else if (m.q === 'announce_peer' && m.a.seed !== undefined) assert.ok(Number.isInteger(m.a.seed))
  } else if (m.y === 'r') {
    const r = m.r
    if (r.k !== undefined) assert.equal(r.k.length, 32)
    if (r.sig !== undefined) assert.equal(r.sig.length, 64)
    if (r.seq !== undefined) assert.ok(typeof r.seq === 'bigint' && r.seq >= -(1n << 63n) && r.seq < 1n << 63n)
    if (r.v !== undefined) assert.ok(r.v instanceof Uint8Array && r.v.length > 0)
    if (r.samples !== undefined) assert.equal(r.samples.length % 20, 0)
    if (r.interval !== undefined) assert.ok(r.interval >= 0 && r.interval <= 21600)
    if (r.num !== undefined) assert.ok(r.num >= 0)
    if (r.BFsd !== undefined) assert.equal(r.BFsd.length, 256)
    if (r.BFpe !== undefined) assert.equal(r.BFpe.length, 256)
  }
}

describe('hostile BEP 44/51/33 input raises only KrpcError', () => {
  it('structured messages with the new keys and wrong types (property)', () => {
    const key = fc.constantFrom(
      't',
      'y',
      'q',
      'a',
      'r',
      'id',
      'target',
      'info_hash',
      'token',
      'v',
      'k',
      'sig',
      'seq',
      'cas',
      'salt',
      'samples',
      'interval',
      'num',
      'BFsd',
      'BFpe',
      'scrape',
      'noseed',
      'seed',
      'port',
      'nodes',
      'want',
    )
    const leaf = fc.oneof(
      fc.constantFrom<BEncodable>('q', 'r', 'get', 'put', 'sample_infohashes', 'get_peers', 'announce_peer'),
      fc.integer({ min: -30000, max: 30000 }),
      fc.bigInt({ min: -(2n ** 66n), max: 2n ** 66n }),
      fc.uint8Array({ maxLength: 70 }),
      bytes(20),
      bytes(32),
      bytes(64),
      bytes(256),
    )
    const { v } = fc.letrec<{ v: BEncodable }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(key, tie('v'), { maxKeys: 3 }),
      ),
    }))
    const nid = new Uint8Array(20).fill(1)
    const msg = fc.record({
      t: fc.constant<BEncodable>('aa'),
      y: fc.constantFrom<BEncodable>('q', 'r'),
      q: fc.constantFrom<BEncodable>('get', 'put', 'sample_infohashes', 'get_peers', 'announce_peer'),
      a: fc.dictionary(key, v, { maxKeys: 9 }).map((d) => ({ ...d, id: nid })),
      r: fc.dictionary(key, v, { maxKeys: 9 }).map((d) => ({ ...d, id: nid })),
    })
    let parsed = 0
    fc.assert(
      fc.property(msg, (d) => {
        const m = parseOrKrpcError(encode(d))
        if (m) {
          parsed++
          invariants(m)
        }
      }),
      { numRuns: 6000 },
    )
    assert.ok(parsed > 600, `only ${parsed} parsed`)
  })

  it('50,000 mutations of valid BEP 44/51/33 packets', { timeout: 60_000 }, () => {
    const t = Uint8Array.of(1, 2)
    const nid = new Uint8Array(20).fill(0x61)
    const x = new Uint8Array(20).fill(0x62)
    const v = encode({ list: [1, 'two', { three: 3 }], s: 'x' })
    const corpus = [
      buildGetQuery(t, nid, x, { seq: 5, want: ['n4', 'n6'] }),
      buildPutQuery(t, nid, Uint8Array.of(1, 2, 3, 4), { v }),
      buildPutQuery(t, nid, Uint8Array.of(1, 2, 3, 4), {
        v,
        k: new Uint8Array(32).fill(3),
        sig: new Uint8Array(64).fill(4),
        seq: 2n ** 40n,
        salt: fromLatin1('salt'),
        cas: 7,
      }),
      buildGetReply(t, nid, {
        token: Uint8Array.of(1),
        nodes: new Uint8Array(26),
        v,
        k: new Uint8Array(32),
        sig: new Uint8Array(64),
        seq: 9,
      }),
      buildSampleInfohashesQuery(t, nid, x),
      buildSampleInfohashesReply(t, nid, { interval: 300, num: 7, samples: [x, nid], nodes: new Uint8Array(26) }),
      buildGetPeersQuery(t, nid, x, { scrape: true, noseed: true }),
      buildAnnouncePeerQuery(t, nid, x, Uint8Array.of(5), 6881, { seed: true }),
      buildGetPeersReply(t, nid, [new Uint8Array(6)], undefined, Uint8Array.of(1), {
        BFsd: new Uint8Array(256).fill(1),
        BFpe: new Uint8Array(256).fill(2),
      }),
    ]
    let s = 0x2545f491
    const rnd = (n: number) => {
      s ^= s << 13
      s ^= s >>> 17
      s ^= s << 5
      return (s >>> 0) % n
    }
    const special = fromLatin1('dlie:0123456789-')
    let parsed = 0
    const N = 50_000
    for (let i = 0; i < N; i++) {
      const b = corpus[rnd(corpus.length)].slice()
      let out: Uint8Array = b
      for (let k = 1 + rnd(3); k > 0; k--) {
        const at = rnd(out.length)
        const op = rnd(4)
        if (op === 0) out[at] ^= 1 << rnd(8)
        else if (op === 1) out[at] = special[rnd(special.length)]
        else if (op === 2) out = out.subarray(0, at)
        else out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at, at + 1 + rnd(30)), ...out.subarray(at)])
        if (out.length === 0) break
      }
      const m = parseOrKrpcError(out)
      if (m) {
        parsed++
        invariants(m)
      }
    }
    assert.ok(parsed > N / 20, `only ${parsed} of ${N} mutants parsed`)
  })
})
