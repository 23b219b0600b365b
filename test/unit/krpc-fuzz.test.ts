// Property and fuzz tests for the KRPC codec: round trips for every message, and hostile input (random,
// structured-random and mutations of valid packets) that may only ever raise CodecError / KrpcError.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { fromLatin1 } from '../../src/codec/bytes.js'
import {
  type BEncodable,
  buildAnnouncePeerQuery,
  buildErrorReply,
  buildFindNodeQuery,
  buildFindNodeReply,
  buildGetPeersQuery,
  buildGetPeersReply,
  buildPingQuery,
  buildPingReply,
  CodecError,
  decode,
  encode,
  fromHex,
  KrpcError,
  type KrpcMessage,
  type KrpcWant,
  parseKrpc,
} from '../../src/codec/index.js'

const bytes = (min: number, max = min) => fc.uint8Array({ minLength: min, maxLength: max })
const id = bytes(20)
const opts = fc.record(
  {
    v: bytes(0, 6),
    ip: fc.oneof(bytes(6), bytes(18)),
    ro: fc.boolean(),
    want: fc.subarray<KrpcWant>(['n4', 'n6']),
  },
  { requiredKeys: [] },
)

describe('KRPC round trips (property)', () => {
  it('queries', () => {
    fc.assert(
      fc.property(
        bytes(0, 8),
        id,
        id,
        bytes(1, 40),
        fc.integer({ min: 1, max: 65535 }),
        opts,
        fc.boolean(),
        (t, nid, x, token, port, o, implied) => {
          const ping = parseKrpc(buildPingQuery(t, nid, o))
          assert.ok(ping.y === 'q' && ping.known && ping.q === 'ping')
          assert.deepEqual(ping.t, t)
          assert.deepEqual(ping.a.id, nid)
          assert.equal(ping.ro, o.ro ? true : undefined)
          assert.deepEqual(ping.v, o.v)
          assert.deepEqual(ping.ip, o.ip)

          const fn = parseKrpc(buildFindNodeQuery(t, nid, x, o))
          assert.ok(fn.y === 'q' && fn.known && fn.q === 'find_node')
          assert.deepEqual(fn.a, o.want ? { id: nid, target: x, want: o.want } : { id: nid, target: x })

          const gp = parseKrpc(buildGetPeersQuery(t, nid, x, o))
          assert.ok(gp.y === 'q' && gp.known && gp.q === 'get_peers')
          assert.deepEqual(gp.a.info_hash, x)

          const ap = parseKrpc(buildAnnouncePeerQuery(t, nid, x, token, port, { ...o, impliedPort: implied }))
          assert.ok(ap.y === 'q' && ap.known && ap.q === 'announce_peer')
          const want: Record<string, unknown> = { id: nid, info_hash: x, port, token }
          if (implied) want.implied_port = true
          assert.deepEqual(ap.a, want)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('replies and errors', () => {
    const peer = fc.oneof(bytes(6), bytes(18))
    fc.assert(
      fc.property(
        bytes(0, 8),
        id,
        fc.option(
          fc.array(bytes(26), { maxLength: 8 }).map((a) => Uint8Array.from(a.flatMap((x) => [...x]))),
          { nil: undefined },
        ),
        fc.option(
          fc.array(bytes(38), { maxLength: 4 }).map((a) => Uint8Array.from(a.flatMap((x) => [...x]))),
          { nil: undefined },
        ),
        fc.array(peer, { maxLength: 60 }),
        fc.option(bytes(0, 20), { nil: undefined }),
        fc.integer({ min: -5, max: 100000 }),
        fc.string({ maxLength: 40 }),
        (t, nid, nodes, nodes6, values, token, code, text) => {
          const fn = parseKrpc(buildFindNodeReply(t, nid, nodes, { nodes6 }))
          assert.ok(fn.y === 'r')
          const r: Record<string, unknown> = { id: nid }
          if (nodes) r.nodes = nodes
          if (nodes6) r.nodes6 = nodes6
          assert.deepEqual(fn.r, r)

          const gp = parseKrpc(buildGetPeersReply(t, nid, values, nodes, token, { nodes6 }))
          assert.ok(gp.y === 'r')
          if (token) r.token = token
          if (values.length) r.values = values
          assert.deepEqual(gp.r, r)

          const pr = parseKrpc(buildPingReply(t, nid))
          assert.ok(pr.y === 'r')

          const er = parseKrpc(buildErrorReply(t, [code, text]))
          assert.ok(er.y === 'e')
          assert.equal(er.e[0], code)
          assert.equal(er.e[1], new TextDecoder().decode(new TextEncoder().encode(text)))
        },
      ),
      { numRuns: 300 },
    )
  })
})

// ---- hostile input ---------------------------------------------------------------------------------------

/** Calls `fn`; any throw that is not a CodecError (KrpcError for parseKrpc) fails the test with the input. */
function onlyCodecErrors(
  input: Uint8Array,
  fn: (b: Uint8Array) => unknown,
  cls: abstract new (...a: never[]) => Error,
): void {
  try {
    fn(input)
  } catch (e) {
    if (!(e instanceof cls)) {
      assert.fail(`${(e as Error)?.stack ?? e}\ninput (hex): ${Buffer.from(input).toString('hex')}`)
    }
  }
}

function check(input: Uint8Array): void {
  onlyCodecErrors(input, (b) => decode(b), CodecError)
  onlyCodecErrors(input, (b) => decode(b, { strict: false, maxDepth: 16, maxItems: 1000 }), CodecError)
  onlyCodecErrors(input, (b) => parseKrpc(b), KrpcError)
}

describe('hostile input raises only CodecError / KrpcError', () => {
  it('random bytes and bencode-alphabet strings (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => check(b)),
      { numRuns: 5000 },
    )
    const alphabet = fc.constantFrom(...'dlie:0123456789-xqrtyaep'.split(''))
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 120 }), (cs) => check(fromLatin1(`d${cs.join('')}`))),
      { numRuns: 10000 },
    )
  })

  it('structured messages with known keys and wrong types (property)', () => {
    const key = fc.constantFrom(
      't',
      'y',
      'q',
      'a',
      'r',
      'e',
      'v',
      'ip',
      'ro',
      'id',
      'target',
      'info_hash',
      'port',
      'token',
      'implied_port',
      'want',
      'nodes',
      'nodes6',
      'values',
      '__proto__',
      'constructor',
      'p',
    )
    const leaf = fc.oneof(
      fc.constantFrom<BEncodable>('q', 'r', 'e', 'ping', 'find_node', 'get_peers', 'announce_peer', 'n4', 'n6'),
      fc.integer({ min: -70000, max: 70000 }),
      fc.uint8Array({ maxLength: 40 }),
      bytes(20),
      bytes(6),
    )
    const { value } = fc.letrec<{ value: BEncodable }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 6 }),
      ),
    }))
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 8 }), (d) => {
        const wire = encode(d)
        check(wire)
        let m: KrpcMessage
        try {
          m = parseKrpc(wire)
        } catch {
          return
        }
        invariants(m)
      }),
      { numRuns: 20000 },
    )
  })

  it('100,000 mutations of valid packets', { timeout: 60_000 }, () => {
    const corpus = validCorpus()
    let s = 0x9e3779b9
    const rnd = (n: number) => {
      s ^= s << 13
      s ^= s >>> 17
      s ^= s << 5
      return (s >>> 0) % n
    }
    const special = fromLatin1('dlie:0123456789-')
    let parsed = 0
    const N = 100_000
    for (let i = 0; i < N; i++) {
      const base = corpus[rnd(corpus.length)]
      let b: Uint8Array = base.slice()
      const rounds = 1 + rnd(3)
      for (let k = 0; k < rounds; k++) b = mutate(b, rnd, special, corpus)
      check(b)
      try {
        invariants(parseKrpc(b))
        parsed++
      } catch (e) {
        if (!(e instanceof KrpcError)) throw e
      }
    }
    // The mutations must leave a fair share parseable, or they test nothing but the first byte.
    assert.ok(parsed > N / 20, `only ${parsed} of ${N} mutants parsed`)
  })
})

/** What every successfully parsed message guarantees, whatever the input was. */
function invariants(m: KrpcMessage): void {
  assert.ok(m.t instanceof Uint8Array)
  if (m.v !== undefined) assert.ok(m.v instanceof Uint8Array)
  if (m.ip !== undefined) assert.ok(m.ip.length === 6 || m.ip.length === 18)
  if (m.y === 'q') {
    assert.equal(m.a.id.length, 20)
    if (m.known && m.q === 'find_node') assert.equal(m.a.target.length, 20)
    if (m.known && (m.q === 'get_peers' || m.q === 'announce_peer')) assert.equal(m.a.info_hash.length, 20)
    if (m.known && m.q === 'announce_peer') {
      assert.ok(m.a.token instanceof Uint8Array)
      assert.ok(Number.isInteger(m.a.port) && m.a.port >= (m.a.implied_port ? 0 : 1) && m.a.port <= 65535)
    }
    if (m.known && m.q !== 'announce_peer' && m.q !== 'ping' && m.q !== 'put' && m.a.want) {
      for (const w of m.a.want) assert.equal(typeof w, 'string')
    }
  } else if (m.y === 'r') {
    assert.equal(m.r.id.length, 20)
    if (m.r.nodes) assert.equal(m.r.nodes.length % 26, 0)
    if (m.r.nodes6) assert.equal(m.r.nodes6.length % 38, 0)
    if (m.r.token) assert.ok(m.r.token instanceof Uint8Array)
    for (const v of m.r.values ?? []) assert.ok(v.length === 6 || v.length === 18)
  } else {
    assert.equal(typeof m.e[0], 'number')
    assert.equal(typeof m.e[1], 'string')
  }
}

function mutate(b: Uint8Array, rnd: (n: number) => number, special: Uint8Array, corpus: Uint8Array[]): Uint8Array {
  if (b.length === 0) return Uint8Array.of(special[rnd(special.length)])
  const at = rnd(b.length)
  switch (rnd(8)) {
    case 0: // flip a bit
      b[at] ^= 1 << rnd(8)
      return b
    case 1: // a bencode-significant byte
      b[at] = special[rnd(special.length)]
      return b
    case 2: // truncate
      return b.subarray(0, at)
    case 3: {
      // delete a range
      const n = 1 + rnd(Math.min(8, b.length - at))
      const out = new Uint8Array(b.length - n)
      out.set(b.subarray(0, at))
      out.set(b.subarray(at + n), at)
      return out
    }
    case 4: {
      // duplicate a range
      const n = 1 + rnd(Math.min(30, b.length - at))
      const out = new Uint8Array(b.length + n)
      out.set(b.subarray(0, at + n))
      out.set(b.subarray(at, at + n), at + n)
      out.set(b.subarray(at + n), at + 2 * n)
      return out
    }
    case 5: {
      // insert random bytes
      const n = 1 + rnd(4)
      const out = new Uint8Array(b.length + n)
      out.set(b.subarray(0, at))
      for (let i = 0; i < n; i++) out[at + i] = rnd(4) === 0 ? rnd(256) : special[rnd(special.length)]
      out.set(b.subarray(at), at + n)
      return out
    }
    case 6: {
      // splice in part of another packet
      const o = corpus[rnd(corpus.length)]
      const from = rnd(o.length)
      const part = o.subarray(from, from + 1 + rnd(40))
      const out = new Uint8Array(at + part.length + (b.length - at))
      out.set(b.subarray(0, at))
      out.set(part, at)
      out.set(b.subarray(at), at + part.length)
      return out
    }
    default: {
      // change a digit in a length or integer
      for (let i = at; i < b.length; i++) {
        if (b[i] >= 0x30 && b[i] <= 0x39) {
          b[i] = 0x30 + rnd(10)
          break
        }
      }
      return b
    }
  }
}

function validCorpus(): Uint8Array[] {
  const t = Uint8Array.of(1, 2)
  const nid = new Uint8Array(20).fill(0x61)
  const x = new Uint8Array(20).fill(0x62)
  const tok = Uint8Array.of(9, 9, 9, 9)
  const peers = [new Uint8Array(6).fill(3), new Uint8Array(18).fill(4)]
  const o = { v: Uint8Array.of(0x4c, 0x54, 2, 8), ip: new Uint8Array(6).fill(7) }
  const dir = new URL('../fixtures/', import.meta.url)
  const fixtures = readdirSync(dir)
    .filter((f) => f.startsWith('lt-') && f.endsWith('.hex'))
    .map((f) => fromHex(readFileSync(new URL(f, dir), 'utf8').trim())!)
  return [
    ...fixtures,
    buildPingQuery(t, nid, { ...o, ro: true }),
    buildFindNodeQuery(t, nid, x, { want: ['n4', 'n6'] }),
    buildGetPeersQuery(t, nid, x, o),
    buildAnnouncePeerQuery(t, nid, x, tok, 6881, { impliedPort: true }),
    buildPingReply(t, nid, o),
    buildFindNodeReply(t, nid, new Uint8Array(52).fill(5), { nodes6: new Uint8Array(38).fill(6) }),
    buildGetPeersReply(t, nid, peers, new Uint8Array(26), tok, o),
    buildErrorReply(t, [203, 'invalid token'], o),
    encode({ t, y: 'q', q: 'sample_infohashes', a: { id: nid, target: x, l: [1, [2, { z: 'y' }]] } }),
  ]
}
