// BEP 44: the BEP's test vectors (signature buffers, targets, signatures), our Ed25519 keys against RFC 8032, the
// libtorrent-style expanded key, and the get/put messages through the builders and the parser.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fromLatin1, latin1 } from '../../src/codec/bytes.js'
import {
  BEP44_MAX_SEQ,
  buildGetQuery,
  buildGetReply,
  buildPutQuery,
  buildPutReply,
  CodecError,
  checkMutableItem,
  decode,
  encode,
  fromHex,
  KrpcError,
  mutableTargetInput,
  parseKrpc,
  signatureBuffer,
  toHex,
} from '../../src/codec/index.js'
import {
  expandSecretKey,
  generateKeypair,
  immutableTargetOf,
  mutableTargetOf,
  signMutableItem,
  verifyMutableItem,
  verifySignature,
} from '../../src/dht/bep44-crypto.js'
import { expandedSigner, publicKeyFromExpanded, signWithExpanded } from '../../src/dht/ed25519-expanded.js'

const hex = (s: string) => fromHex(s.replace(/\s+/g, ''))!
const HELLO = fromLatin1('12:Hello World!')
// BEP 44 "Test Vectors": one key for tests 1 and 2. Its private key is given in the 64-byte expanded form.
const PK = hex('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548')
const SK = hex(`e06d3183d14159228433ed599221b80bd0a5ce8352e4bdf0262f76786ef1c74d
  b7e7a9fea2c0eb269d61e3b38e450a22e754941ac78479d6c54e1faf6037881d`)
const SIG1 = hex(`305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff
  1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01`)
const SIG2 = hex(`6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d
  df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08`)
const SALT = fromLatin1('foobar')

describe('BEP 44 test vectors', () => {
  it('test 1 (mutable): buffer, target, signature', () => {
    const buf = signatureBuffer(HELLO, 1)
    assert.equal(latin1(buf), '3:seqi1e1:v12:Hello World!')
    assert.equal(toHex(mutableTargetOf(PK)), '4a533d47ec9c7d95b1ad75f576cffc641853b750')
    assert.ok(verifySignature(PK, buf, SIG1))
    assert.ok(verifyMutableItem({ k: PK, sig: SIG1, seq: 1n, v: HELLO }))
    // Ed25519 is deterministic: signing with the BEP's (expanded) key reproduces the BEP's signature exactly.
    assert.equal(toHex(signWithExpanded(SK, buf)), toHex(SIG1))
    assert.equal(toHex(publicKeyFromExpanded(SK)), toHex(PK))
  })

  it('test 2 (mutable with salt): buffer, target, signature', () => {
    const buf = signatureBuffer(HELLO, 1, SALT)
    assert.equal(latin1(buf), '4:salt6:foobar3:seqi1e1:v12:Hello World!')
    assert.equal(toHex(mutableTargetOf(PK, SALT)), '411eba73b6f087ca51a3795d9c8c938d365e32c1')
    assert.ok(verifyMutableItem({ k: PK, sig: SIG2, seq: 1n, v: HELLO, salt: SALT }))
    assert.equal(toHex(signWithExpanded(SK, buf)), toHex(SIG2))
  })

  it('test 3 (immutable): target', () => {
    assert.equal(toHex(immutableTargetOf(HELLO)), 'e5f96f6f38320f0f33959cb4d3d656452117aadb')
    assert.equal(toHex(immutableTargetOf(encode('Hello World!'))), 'e5f96f6f38320f0f33959cb4d3d656452117aadb')
  })

  it('a signature does not verify for another seq, salt, value or key', () => {
    assert.ok(!verifyMutableItem({ k: PK, sig: SIG1, seq: 2n, v: HELLO }))
    assert.ok(!verifyMutableItem({ k: PK, sig: SIG1, seq: 1n, v: HELLO, salt: SALT }))
    assert.ok(!verifyMutableItem({ k: PK, sig: SIG2, seq: 1n, v: HELLO }))
    assert.ok(!verifyMutableItem({ k: PK, sig: SIG1, seq: 1n, v: fromLatin1('12:Hello World?') }))
    const other = generateKeypair(new Uint8Array(32).fill(7)).publicKey
    assert.ok(!verifyMutableItem({ k: other, sig: SIG1, seq: 1n, v: HELLO }))
    assert.ok(!verifySignature(PK.subarray(1), signatureBuffer(HELLO, 1), SIG1))
    assert.ok(!verifySignature(new Uint8Array(32).fill(0xff), signatureBuffer(HELLO, 1), SIG1)) // not a point
  })

  it('an empty salt is the same as none (BEP 44)', () => {
    assert.deepEqual(signatureBuffer(HELLO, 1, new Uint8Array(0)), signatureBuffer(HELLO, 1))
    assert.deepEqual(mutableTargetInput(PK, new Uint8Array(0)), PK)
  })

  it('seq is written exactly up to 2^63-1 and refused outside 0..2^63-1', () => {
    assert.equal(latin1(signatureBuffer(HELLO, BEP44_MAX_SEQ)), `3:seqi9223372036854775807e1:v12:Hello World!`)
    assert.throws(() => signatureBuffer(HELLO, -1), CodecError)
    assert.throws(() => signatureBuffer(HELLO, BEP44_MAX_SEQ + 1n), CodecError)
    assert.throws(() => signatureBuffer(HELLO, 1.5), CodecError)
  })
})

describe('Ed25519 keys (node:crypto)', () => {
  it('a keypair from a seed matches RFC 8032 test 1 and signs what verifies', async () => {
    const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
    const kp = generateKeypair(seed)
    assert.equal(toHex(kp.publicKey), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
    // RFC 8032 test 1 signs the empty message.
    assert.equal(
      toHex(await kp.sign(new Uint8Array(0))),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    )
    const sig = await signMutableItem({ v: HELLO, seq: 5, salt: SALT }, kp.sign)
    assert.ok(verifyMutableItem({ k: kp.publicKey, sig, seq: 5n, v: HELLO, salt: SALT }))
  })

  it('random keypairs differ; the same seed gives the same key', () => {
    const a = generateKeypair()
    const b = generateKeypair()
    assert.notDeepEqual(a.publicKey, b.publicKey)
    assert.deepEqual(generateKeypair(a.seed).publicKey, a.publicKey)
    assert.throws(() => generateKeypair(new Uint8Array(31)), RangeError)
  })

  it('the expanded (libtorrent) form of a seed signs exactly as the seed does', async () => {
    for (const fill of [1, 42, 200]) {
      const kp = generateKeypair(new Uint8Array(32).fill(fill))
      const expanded = expandSecretKey(kp.seed)
      assert.equal(expanded.length, 64)
      assert.equal(expanded[0] & 7, 0)
      assert.equal(expanded[31] & 0xc0, 0x40)
      assert.deepEqual(publicKeyFromExpanded(expanded), kp.publicKey)
      const msg = signatureBuffer(HELLO, fill)
      assert.deepEqual(await expandedSigner(expanded)(msg), await kp.sign(msg))
    }
  })

  it('a pluggable signer may be asynchronous and must return 64 bytes', async () => {
    const kp = generateKeypair(new Uint8Array(32).fill(3))
    const remote = async (m: Uint8Array) => kp.sign(m)
    const sig = await signMutableItem({ v: HELLO, seq: 1 }, remote)
    assert.ok(verifyMutableItem({ k: kp.publicKey, sig, seq: 1n, v: HELLO }))
    await assert.rejects(
      signMutableItem({ v: HELLO, seq: 1 }, () => new Uint8Array(63)),
      RangeError,
    )
  })
})

const T = Uint8Array.of(7, 7)
const NID = new Uint8Array(20).fill(0x11)
const TARGET = new Uint8Array(20).fill(0x22)
const TOKEN = Uint8Array.of(1, 2, 3, 4)

describe('get and put messages', () => {
  it('are written in canonical key order (the generic encoder agrees)', () => {
    assert.deepEqual(
      buildGetQuery(T, NID, TARGET, { seq: 3, want: ['n4'] }),
      encode({ a: { id: NID, seq: 3, target: TARGET, want: ['n4'] }, q: 'get', t: T, y: 'q' }),
    )
    const put = { cas: 4, id: NID, k: PK, salt: SALT, seq: 5, sig: SIG1, token: TOKEN, v: 'Hello World!' }
    assert.deepEqual(
      buildPutQuery(T, NID, TOKEN, { v: HELLO, k: PK, sig: SIG1, seq: 5n, salt: SALT, cas: 4 }, { ro: true }),
      encode({ a: put, q: 'put', ro: 1, t: T, y: 'q' }),
    )
    const nodes = new Uint8Array(26).fill(9)
    assert.deepEqual(
      buildGetReply(T, NID, { token: TOKEN, nodes, v: HELLO, k: PK, sig: SIG1, seq: 1 }, { ip: new Uint8Array(6) }),
      encode({
        ip: new Uint8Array(6),
        r: { id: NID, k: PK, nodes, seq: 1, sig: SIG1, token: TOKEN, v: 'Hello World!' },
        t: T,
        y: 'r',
      }),
    )
    assert.deepEqual(buildPutReply(T, NID, { v: 'ML01' }), encode({ r: { id: NID }, t: T, v: 'ML01', y: 'r' }))
  })

  it('round-trip through parseKrpc with allMethods', () => {
    const o = { allMethods: true }
    const g = parseKrpc(buildGetQuery(T, NID, TARGET, { seq: 2n ** 62n + 1n }), o)
    assert.ok(g.y === 'q' && g.known && g.q === 'get')
    assert.deepEqual(g.a, { id: NID, target: TARGET, seq: 2n ** 62n + 1n })

    const v = encode({ b: [1, 'x'], a: 'y' })
    const p = parseKrpc(buildPutQuery(T, NID, TOKEN, { v, k: PK, sig: SIG1, seq: 9, salt: SALT, cas: 8 }), o)
    assert.ok(p.y === 'q' && p.known && p.q === 'put')
    assert.deepEqual(p.a, { id: NID, token: TOKEN, v, k: PK, sig: SIG1, seq: 9n, cas: 8n, salt: SALT })

    const im = parseKrpc(buildPutQuery(T, NID, TOKEN, { v: HELLO }), o)
    assert.ok(im.y === 'q' && im.known && im.q === 'put')
    assert.deepEqual(im.a, { id: NID, token: TOKEN, v: HELLO })

    const r = parseKrpc(buildGetReply(T, NID, { token: TOKEN, v: HELLO, k: PK, sig: SIG1, seq: BEP44_MAX_SEQ }))
    assert.ok(r.y === 'r')
    assert.deepEqual(r.r, { id: NID, token: TOKEN, v: HELLO, k: PK, sig: SIG1, seq: BEP44_MAX_SEQ })
    const seqOnly = parseKrpc(buildGetReply(T, NID, { token: TOKEN, seq: 3 }))
    assert.ok(seqOnly.y === 'r')
    assert.deepEqual(seqOnly.r, { id: NID, token: TOKEN, seq: 3n })
  })

  it('are unknown queries without allMethods (a BEP 5 server answers them 204)', () => {
    const m = parseKrpc(buildPutQuery(T, NID, TOKEN, { v: HELLO }))
    assert.ok(m.y === 'q' && !m.known && m.q === 'put')
  })

  it('builders refuse what BEP 44 forbids', () => {
    const bad: [string, () => unknown][] = [
      ['v too big', () => buildPutQuery(T, NID, TOKEN, { v: encode('x'.repeat(997)) })],
      ['v empty', () => buildPutQuery(T, NID, TOKEN, { v: new Uint8Array(0) })],
      ['v not canonical', () => buildPutQuery(T, NID, TOKEN, { v: fromLatin1('d1:bi1e1:ai2ee') })],
      ['v two values', () => buildPutQuery(T, NID, TOKEN, { v: fromLatin1('i1ei2e') })],
      ['salt 65', () => buildPutQuery(T, NID, TOKEN, { v: HELLO, k: PK, sig: SIG1, seq: 1, salt: new Uint8Array(65) })],
      ['k 31', () => buildPutQuery(T, NID, TOKEN, { v: HELLO, k: PK.subarray(1), sig: SIG1, seq: 1 })],
      ['sig 63', () => buildPutQuery(T, NID, TOKEN, { v: HELLO, k: PK, sig: SIG1.subarray(1), seq: 1 })],
      ['k without seq', () => buildPutQuery(T, NID, TOKEN, { v: HELLO, k: PK, sig: SIG1 })],
      ['negative seq', () => buildPutQuery(T, NID, TOKEN, { v: HELLO, k: PK, sig: SIG1, seq: -1 })],
      ['reply k without v', () => buildGetReply(T, NID, { k: PK, sig: SIG1, seq: 1 })],
      ['target 19', () => buildGetQuery(T, NID, TARGET.subarray(1))],
    ]
    for (const [what, fn] of bad) assert.throws(fn, CodecError, what)
    // 1000 bytes exactly is allowed.
    const v1000 = encode('x'.repeat(996))
    assert.equal(v1000.length, 1000)
    buildPutQuery(T, NID, TOKEN, { v: v1000 })
  })
})

/** A put's `a` with some keys replaced, through the generic encoder (to send what our builders refuse). */
function rawPut(a: Record<string, unknown>): Uint8Array {
  const base: Record<string, unknown> = { id: NID, token: TOKEN, v: 'Hello World!' }
  const d: Record<string, unknown> = { ...base, ...a }
  for (const k of Object.keys(d)) if (d[k] === undefined) delete d[k]
  return encode({ a: d as never, q: 'put', t: T, y: 'q' })
}

function putError(a: Record<string, unknown>): [number, string] {
  try {
    parseKrpc(rawPut(a), { allMethods: true })
  } catch (e) {
    assert.ok(e instanceof KrpcError)
    assert.ok(e.shouldReply)
    return [e.krpcCode, e.reason]
  }
  assert.fail('parsed')
}

describe('put validation in the parser (error codes and texts)', () => {
  const mut = { k: PK, sig: SIG1, seq: 1 }
  it('205 for a value over 1000 bytes, 207 for a salt over 64', () => {
    assert.deepEqual(putError({ v: 'x'.repeat(997) }), [205, 'Message (v field) too big'])
    assert.deepEqual(putError({ ...mut, salt: new Uint8Array(65) }), [207, 'Salt (salt field) too big'])
    parseKrpc(rawPut({ ...mut, salt: new Uint8Array(64) }), { allMethods: true })
  })

  it('203 for non-canonical values, with libtorrent texts', () => {
    const unsorted = fromLatin1('d1:bi1e1:ai2ee')
    const wire = fromLatin1(`d1:ad2:id20:${latin1(NID)}5:token4:${latin1(TOKEN)}1:v`)
    const tail = fromLatin1('e1:q3:put1:t2:\x07\x071:y1:qe')
    const withV = (v: Uint8Array) => Uint8Array.from([...wire, ...v, ...tail])
    const reason = (v: Uint8Array) => {
      try {
        parseKrpc(withV(v), { allMethods: true })
        return 'parsed'
      } catch (e) {
        return (e as KrpcError).reason
      }
    }
    assert.equal(reason(unsorted), 'unsorted dictionary key')
    assert.equal(reason(fromLatin1('d1:ai1e1:ai2ee')), 'duplicate dictionary key')
    assert.equal(reason(fromLatin1('i01e')), 'leading zero in integer')
    assert.equal(reason(fromLatin1('03:abc')), 'leading zero in string length')
    assert.equal(reason(fromLatin1('3:abc')), 'parsed')
  })

  it('203 for wrong key and signature sizes, missing parts, bad seq', () => {
    assert.deepEqual(putError({ ...mut, k: PK.subarray(1) }), [203, "invalid value for 'k'"])
    assert.deepEqual(putError({ ...mut, sig: SIG1.subarray(1) }), [203, "invalid value for 'sig'"])
    assert.deepEqual(putError({ ...mut, k: undefined }), [203, "missing 'k' key"])
    assert.deepEqual(putError({ ...mut, sig: undefined }), [203, "missing 'sig' key"])
    assert.deepEqual(putError({ ...mut, seq: undefined }), [203, "missing 'seq' key"])
    assert.deepEqual(putError({ ...mut, seq: -1 }), [203, 'invalid (negative) sequence number'])
    assert.deepEqual(putError({ ...mut, seq: 2n ** 63n }), [203, "invalid value for 'seq'"])
    assert.deepEqual(putError({ ...mut, cas: 'x' }), [203, "invalid value for 'cas'"])
    assert.deepEqual(putError({ token: undefined }), [203, "missing 'token' key"])
    assert.deepEqual(putError({ v: undefined }), [203, "missing 'v' key"])
  })

  it('a `seq` without a key is an immutable put (some clients always send one)', () => {
    const m = parseKrpc(rawPut({ seq: 0 }), { allMethods: true })
    assert.ok(m.y === 'q' && m.known && m.q === 'put')
    assert.equal(m.a.k, undefined)
    assert.equal(m.a.seq, 0n)
  })

  it('keeps `v` exactly as sent (the signed bytes)', () => {
    const m = parseKrpc(rawPut({ v: { z: [1, 2], a: 'q' } }), { allMethods: true })
    assert.ok(m.y === 'q' && m.known && m.q === 'put')
    assert.equal(latin1(m.a.v), 'd1:a1:q1:zli1ei2eee')
  })

  it('a get reply with a malformed k, sig or seq drops that key and keeps the rest', () => {
    const r = parseKrpc(
      encode({ r: { id: NID, k: PK.subarray(2), nodes: new Uint8Array(26), sig: 'x', seq: 'y', v: 1 }, t: T, y: 'r' }),
    )
    assert.ok(r.y === 'r')
    assert.deepEqual(r.r, { id: NID, nodes: new Uint8Array(26), v: fromLatin1('i1e') })
  })

  it('checkMutableItem: sizes first (205, 207), then 203', () => {
    const v = HELLO
    assert.equal(checkMutableItem({ k: PK, sig: SIG1, seq: 1n, v: new Uint8Array(1001) })?.code, 205)
    assert.equal(checkMutableItem({ k: PK, sig: SIG1, seq: 1n, v, salt: new Uint8Array(65) })?.code, 207)
    assert.equal(checkMutableItem({ k: PK.subarray(1), sig: SIG1, seq: 1n, v })?.code, 203)
    assert.equal(checkMutableItem({ k: PK, sig: SIG1, seq: -1n, v })?.message, 'invalid (negative) sequence number')
    assert.equal(checkMutableItem({ k: PK, sig: SIG1, seq: 1n, v }), undefined)
  })
})

describe('BEP 44 keys where no method types them', () => {
  it('an unknown query keeps `v` and `seq` as decoded bencode, like any other key', () => {
    const m = parseKrpc(encode({ a: { id: NID, seq: 7, v: { x: [1, 'y'] } }, q: 'put', t: T, y: 'q' }))
    assert.ok(m.y === 'q' && !m.known)
    assert.equal(m.a.seq, 7)
    assert.deepEqual(m.a.v, decode(encode({ x: [1, 'y'] })))
    const ping = parseKrpc(encode({ a: { id: NID, seq: 2n ** 60n, v: 'x' }, q: 'ping', t: T, y: 'q' }))
    assert.ok(ping.y === 'q')
    assert.equal(ping.a.seq, 2n ** 60n)
    assert.deepEqual(ping.a.v, fromLatin1('x'))
  })
})
