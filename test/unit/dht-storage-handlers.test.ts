// BEP 44 / 51 / 33 serving as pure functions: every refusal code, what a get answers, samples that fit the packet,
// scrape filters from seed announces — and a hostile flood of puts from many addresses.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bloomEstimate } from '../../src/codec/bep33.js'
import { buildSampleInfohashesReply, splitSamples } from '../../src/codec/bep51.js'
import { encode, signatureBuffer } from '../../src/codec/index.js'
import type { PutArgs } from '../../src/codec/krpc-types.js'
import { generateKeypair, immutableTargetOf, mutableTargetOf, verifyMutableItem } from '../../src/dht/bep44-crypto.js'
import { InfohashSampler } from '../../src/dht/infohash-sampler.js'
import { ItemStore } from '../../src/dht/item-store.js'
import { PeerStore } from '../../src/dht/peer-store.js'
import {
  isRefusal,
  type StorageServeContext,
  scrapeFields,
  serveGet,
  servePut,
  serveSampleInfohashes,
} from '../../src/dht/storage-handlers.js'
import { TokenManager } from '../../src/dht/tokens.js'
import { seededRandom } from '../helpers/dht-fixtures.js'

const ID = new Uint8Array(20).fill(7)
const FROM = { host: '198.51.100.9', port: 6881 }
const NODES = new Uint8Array(8 * 26).fill(1)

function context(opts: { maxItems?: number; maxPerIp?: number; maxPerPrefix?: number } = {}) {
  const c = { t: 1000, now: () => c.t }
  const random = seededRandom(42)
  const items = new ItemStore({ clock: c, ...opts })
  const peers = new PeerStore({ now: c.now, random })
  const sampler = new InfohashSampler({ clock: c, random })
  const tokens = new TokenManager(random, c.now)
  const drops: Record<string, number> = {}
  const ctx: StorageServeContext = {
    items,
    peers,
    sampler,
    tokens,
    closestCompact: () => ({ nodes: NODES }),
    drop: (r) => {
      drops[r] = (drops[r] ?? 0) + 1
    },
  }
  return { c, ctx, items, peers, tokens, drops }
}

const kp = generateKeypair(new Uint8Array(32).fill(3))

function mutablePut(
  ctx: StorageServeContext,
  value: string,
  seq: bigint,
  extra: { salt?: Uint8Array; cas?: bigint } = {},
  from = FROM,
): PutArgs {
  const v = encode(value)
  const sig = kp.sign(signatureBuffer(v, seq, extra.salt)) as Uint8Array
  const target = mutableTargetOf(kp.publicKey, extra.salt)
  const token = serveGet(ctx, { id: ID, target }, from).token as Uint8Array
  return { id: ID, token, v, k: kp.publicKey, sig, seq, ...extra }
}

function code(r: unknown): number | undefined {
  return isRefusal(r) ? r.krpcCode : undefined
}

describe('storage handlers: get', () => {
  it('always answers nodes and a token bound to the requester and the target', () => {
    const { ctx, tokens } = context()
    const target = new Uint8Array(20).fill(9)
    const r = serveGet(ctx, { id: ID, target }, FROM)
    assert.deepEqual(r.nodes, NODES)
    assert.ok(r.token && tokens.check(r.token, FROM.host, target))
    assert.ok(!tokens.check(r.token, '203.0.113.1', target))
    assert.equal(r.v, undefined)
  })

  it('a mutable item is sent whole only when the stored seq is newer than the one asked', () => {
    const { ctx } = context()
    assert.deepEqual(servePut(ctx, mutablePut(ctx, 'hello', 5n), FROM), {})
    const target = mutableTargetOf(kp.publicKey)
    const all = serveGet(ctx, { id: ID, target }, FROM)
    assert.equal(all.seq, 5n)
    assert.deepEqual(all.k, kp.publicKey)
    assert.ok(all.v && all.sig)
    const newer = serveGet(ctx, { id: ID, target, seq: 4n }, FROM)
    assert.ok(newer.v)
    const same = serveGet(ctx, { id: ID, target, seq: 5n }, FROM)
    assert.equal(same.v, undefined)
    assert.equal(same.sig, undefined)
    assert.equal(same.seq, 5n)
    assert.ok(same.token)
  })
})

describe('storage handlers: put, every refusal code', () => {
  it("immutable: stored under its hash with a valid token; 203 without one or with another target's", () => {
    const { ctx, items } = context()
    const v = encode('a value')
    const target = immutableTargetOf(v)
    const token = serveGet(ctx, { id: ID, target }, FROM).token as Uint8Array
    assert.equal(code(servePut(ctx, { id: ID, token: new Uint8Array(8), v }, FROM)), 203)
    const otherToken = serveGet(ctx, { id: ID, target: new Uint8Array(20) }, FROM).token as Uint8Array
    assert.equal(code(servePut(ctx, { id: ID, token: otherToken, v }, FROM)), 203)
    assert.equal(code(servePut(ctx, { id: ID, token, v }, { host: '203.0.113.4', port: 1 })), 203)
    assert.equal(items.size, 0)
    assert.deepEqual(servePut(ctx, { id: ID, token, v }, FROM), {})
    assert.deepEqual(serveGet(ctx, { id: ID, target }, FROM).v, v)
  })

  it('205 for an oversize value, 207 for a long salt, 203 for k or sig of the wrong length', () => {
    const { ctx, items } = context()
    const big = encode('x'.repeat(1000))
    assert.equal(code(servePut(ctx, { id: ID, token: new Uint8Array(8), v: big }, FROM)), 205)
    const p = mutablePut(ctx, 'v', 1n)
    assert.equal(code(servePut(ctx, { ...p, salt: new Uint8Array(65) }, FROM)), 207)
    assert.equal(code(servePut(ctx, { ...p, k: p.k?.subarray(0, 31) }, FROM)), 203)
    assert.equal(code(servePut(ctx, { ...p, sig: p.sig?.subarray(0, 63) }, FROM)), 203)
    assert.equal(code(servePut(ctx, { ...p, seq: undefined }, FROM)), 203)
    assert.equal(items.size, 0)
  })

  it('206 for a bad signature, 302 for a stale seq, 301 for a wrong cas: nothing invalid is stored', () => {
    const { ctx, items } = context()
    const p = mutablePut(ctx, 'v1', 3n)
    const bad = { ...p, sig: p.sig?.map((b, i) => (i === 0 ? b ^ 1 : b)) }
    assert.equal(code(servePut(ctx, bad, FROM)), 206)
    assert.equal(items.size, 0)
    assert.deepEqual(servePut(ctx, p, FROM), {})
    assert.equal(code(servePut(ctx, mutablePut(ctx, 'old', 2n), FROM)), 302)
    assert.equal(code(servePut(ctx, mutablePut(ctx, 'v2', 4n, { cas: 2n }), FROM)), 301)
    assert.deepEqual(servePut(ctx, mutablePut(ctx, 'v2', 4n, { cas: 3n }), FROM), {})
    const item = items.peek(mutableTargetOf(kp.publicKey))
    assert.ok(item?.kind === 'mutable' && item.seq === 4n && verifyMutableItem(item))
  })

  it('a salted item has its own target, and its token is bound to that target', () => {
    const { ctx } = context()
    const salt = new TextEncoder().encode('s1')
    const p = mutablePut(ctx, 'salted', 1n, { salt })
    assert.deepEqual(servePut(ctx, p, FROM), {})
    assert.ok(serveGet(ctx, { id: ID, target: mutableTargetOf(kp.publicKey, salt) }, FROM).v)
    assert.equal(serveGet(ctx, { id: ID, target: mutableTargetOf(kp.publicKey) }, FROM).v, undefined)
    // The unsalted target's token does not authorise the salted put.
    const unsalted = serveGet(ctx, { id: ID, target: mutableTargetOf(kp.publicKey) }, FROM).token as Uint8Array
    assert.equal(code(servePut(ctx, { ...mutablePut(ctx, 'salted2', 2n, { salt }), token: unsalted }, FROM)), 203)
  })
})

describe('storage handlers: hostile flood', () => {
  it('puts under many keys from many addresses: each gets its code, caps hold, nothing invalid stored, still serving', () => {
    const { ctx, items, c } = context({ maxItems: 200, maxPerIp: 3, maxPerPrefix: 20 })
    const codes: Record<string, number> = {}
    const keys = Array.from({ length: 40 }, (_, i) => generateKeypair(new Uint8Array(32).fill(i + 10)))
    for (let i = 0; i < 2500; i++) {
      c.t += 10
      const from = { host: `198.51.${100 + (i % 8)}.${(i * 7) % 250}`, port: 1000 + i }
      const key = keys[i % keys.length]
      const v = encode(`flood-${i}`)
      const kind = i % 6
      let r: unknown
      if (kind === 0) {
        r = servePut(ctx, { id: ID, token: new Uint8Array(8).fill(i), v }, from) // no valid token
      } else if (kind === 1) {
        const target = immutableTargetOf(v)
        const token = serveGet(ctx, { id: ID, target }, from).token as Uint8Array
        r = servePut(ctx, { id: ID, token, v }, from)
      } else {
        const seq = BigInt((i * 7) % 11)
        const sig = key.sign(signatureBuffer(v, seq)) as Uint8Array
        const target = mutableTargetOf(key.publicKey)
        const token = serveGet(ctx, { id: ID, target }, from).token as Uint8Array
        const args: PutArgs = { id: ID, token, v, k: key.publicKey, sig, seq }
        if (kind === 2) args.sig = sig.map((b, j) => (j === 9 ? b ^ 0x40 : b))
        if (kind === 3) args.cas = 99n
        if (kind === 4) args.salt = new Uint8Array(70)
        r = servePut(ctx, args, from)
      }
      const k = isRefusal(r) ? String(r.krpcCode) : 'ok'
      codes[`${kind}:${k}`] = (codes[`${kind}:${k}`] ?? 0) + 1
      assert.ok(items.size <= 200 && items.bytes <= items.maxBytes)
    }
    assert.equal(codes['0:203'], Math.ceil(2500 / 6), JSON.stringify(codes)) // no token: all refused
    assert.ok(codes['2:206'] > 0 && codes['2:ok'] === undefined, JSON.stringify(codes))
    assert.ok(codes['4:207'] > 0 && codes['4:ok'] === undefined, JSON.stringify(codes))
    assert.ok(codes['3:301'] > 0, JSON.stringify(codes))
    assert.ok(codes['5:302'] > 0, JSON.stringify(codes))
    for (let n = 0; n < 8; n++) assert.ok(items.itemsFromNetwork(`198.51.${100 + n}.1`) <= 20)
    for (const item of items.items()) if (item.kind === 'mutable') assert.ok(verifyMutableItem(item))
    // The node keeps answering: a fresh honest put from another network is stored.
    const v = encode('honest after the flood')
    const from = { host: '203.0.113.50', port: 1 }
    const token = serveGet(ctx, { id: ID, target: immutableTargetOf(v) }, from).token as Uint8Array
    assert.deepEqual(servePut(ctx, { id: ID, token, v }, from), {})
  })
})

describe('storage handlers: sample_infohashes and scrape', () => {
  it('samples fit the 1,024-byte packet even with both node lists and a long transaction id', () => {
    const { ctx, peers } = context()
    for (let i = 0; i < 300; i++) {
      const h = new Uint8Array(20).fill(i & 0xff)
      h[0] = i >> 8
      peers.add(h, { host: `203.0.113.${i % 200}`, port: 6881 })
    }
    const big: StorageServeContext = {
      ...ctx,
      closestCompact: () => ({ nodes: NODES, nodes6: new Uint8Array(8 * 38) }),
    }
    const r = serveSampleInfohashes(big, { id: ID, target: ID }, FROM)
    assert.equal(r.num, 300)
    assert.equal(r.interval, 21600)
    const n = splitSamples(r.samples as Uint8Array).length
    assert.ok(n > 0 && n <= 20, `samples ${n}`)
    const packet = buildSampleInfohashesReply(new Uint8Array(20), ID, r, {
      v: new Uint8Array(4),
      ip: { host: '2001:db8::1', port: 1 },
    })
    assert.ok(packet.length <= 1024, `packet ${packet.length}`)
    // With fewer stored than fit, all of them.
    const small = context()
    small.peers.add(new Uint8Array(20).fill(1), FROM)
    const r2 = serveSampleInfohashes(small.ctx, { id: ID, target: ID }, FROM)
    assert.equal(splitSamples(r2.samples as Uint8Array).length, 1)
  })

  it('scrape filters count seeds (seed: 1 announces) and downloaders by IP; none without scrape: 1', () => {
    const { peers } = context()
    const ih = new Uint8Array(20).fill(5)
    for (let i = 0; i < 30; i++) peers.add(ih, { host: `203.0.113.${i}`, port: 1 }, i < 10)
    const f = scrapeFields(peers, { info_hash: ih, scrape: 1 })
    assert.ok(f)
    assert.ok(Math.abs(bloomEstimate(f.BFsd) - 10) <= 1, `seeds ${bloomEstimate(f.BFsd)}`)
    assert.ok(Math.abs(bloomEstimate(f.BFpe) - 20) <= 2, `peers ${bloomEstimate(f.BFpe)}`)
    assert.equal(scrapeFields(peers, { info_hash: ih }), undefined)
    // noseed: values leave seeds out.
    const got = peers.get(ih, 4, 100, { noseed: true })
    assert.equal(got.length, 20)
  })
})
