// The BEP 44 client, BEP 51 crawl and the republisher over a fake transport: a handful of in-memory nodes that
// serve with the real handlers. Verification (values that do not hash, bad signatures, another key), seq defaults
// and conflicts, the async iterable, a crawl that honours each node's interval, republishing and unpublish.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { buildSampleInfohashesReply } from '../../src/codec/bep51.js'
import { parseKrpc } from '../../src/codec/krpc-parse.js'
import type { ReplyValues } from '../../src/codec/krpc-types.js'
import { generateKeypair, mutableTargetOf, sha1 } from '../../src/dht/bep44-crypto.js'
import { crawl } from '../../src/dht/crawl.js'
import { DHTError } from '../../src/dht/errors.js'
import { InfohashSampler } from '../../src/dht/infohash-sampler.js'
import { ItemStore } from '../../src/dht/item-store.js'
import { PeerStore } from '../../src/dht/peer-store.js'
import { Republisher } from '../../src/dht/republish.js'
import {
  getImmutable,
  getMutable,
  getMutableItems,
  type LookupSpec,
  putImmutable,
  putItem,
  putMutable,
  StorageConflictError,
  type StorageTransport,
} from '../../src/dht/storage-client.js'
import { isRefusal, type StorageServeContext, serveGet, servePut } from '../../src/dht/storage-handlers.js'
import { TokenManager } from '../../src/dht/tokens.js'
import type { Endpoint } from '../../src/net/types.js'
import { ManualClock, seededRandom } from '../helpers/dht-fixtures.js'

interface FakeNode {
  ep: Endpoint
  id: Uint8Array
  ctx: StorageServeContext
  /** Replaces what this node answers to `get` (a liar). */
  lie?: (r: ReplyValues) => ReplyValues
}

/** `n` nodes that all count as "the K closest"; the lookup asks every one of them. */
function network(n: number) {
  const c = { t: 0, now: () => c.t }
  const random = seededRandom(7)
  const nodes: FakeNode[] = []
  for (let i = 0; i < n; i++) {
    const ctx: StorageServeContext = {
      items: new ItemStore({ clock: c }),
      peers: new PeerStore({ now: c.now, random }),
      sampler: new InfohashSampler({ clock: c, random }),
      tokens: new TokenManager(random, c.now),
      closestCompact: () => ({ nodes: new Uint8Array(0) }),
    }
    nodes.push({ ep: { host: `203.0.113.${i + 1}`, port: 6881 }, id: new Uint8Array(20).fill(i), ctx })
  }
  const ME = { host: '198.51.100.1', port: 6881 }
  let queries = 0
  const serve = (node: FakeNode, method: string, args: Record<string, unknown>): ReplyValues => {
    queries++
    // Through the wire format: the args are encoded and parsed as a node would receive them.
    const packet = encode({ t: 'aa', y: 'q', q: method, a: { id: new Uint8Array(20), ...args } } as never)
    const msg = parseKrpc(packet, { allMethods: true })
    if (msg.y !== 'q' || !msg.known) throw new Error('bad query')
    if (msg.q === 'get') {
      const r = { id: node.id, ...serveGet(node.ctx, msg.a, ME) } as ReplyValues
      return node.lie ? node.lie(r) : r
    }
    if (msg.q === 'put') {
      const r = servePut(node.ctx, msg.a, ME)
      if (isRefusal(r)) throw new DHTError('KRPC_ERROR', r.text, r.krpcCode)
      return { id: node.id }
    }
    throw new Error(`unexpected ${method}`)
  }
  const transport: StorageTransport = {
    async lookup(spec: LookupSpec) {
      const closest = []
      for (const node of nodes) {
        if (spec.signal?.aborted) throw new DHTError('ABORTED', 'aborted')
        const r = serve(node, spec.method, spec.args)
        spec.onReply?.({ ...node.ep, id: node.id }, r)
        await Promise.resolve()
        closest.push({ ...node.ep, id: node.id, token: r.token as Uint8Array })
      }
      return { closest, withToken: closest, queries: nodes.length }
    },
    async query(ep, method, args) {
      const node = nodes.find((x) => x.ep.host === ep.host) as FakeNode
      return { id: node.id, r: serve(node, method, args) }
    },
  }
  return { nodes, transport, c, queries: () => queries }
}

const kp = generateKeypair(new Uint8Array(32).fill(9))

describe('storage client: immutable', () => {
  it('puts on every node that gave a token and reads the value back', async () => {
    const net = network(8)
    const { result } = await putImmutable(net.transport, { a: 1, b: 'two' })
    assert.equal(result.stored, 8)
    assert.deepEqual(result.target, sha1(encode({ a: 1, b: 'two' })))
    const got = await getImmutable(net.transport, result.target)
    assert.deepEqual(got.v, encode({ a: 1, b: 'two' }))
    assert.equal((got.value as { a: number }).a, 1)
  })

  it('values that do not hash to the target are discarded and counted', async () => {
    const net = network(5)
    const { result } = await putImmutable(net.transport, 'true value')
    for (const n of net.nodes.slice(0, 3)) n.lie = (r) => ({ ...r, v: encode('forged') })
    const got = await getImmutable(net.transport, result.target)
    assert.equal(got.discarded, 3)
    assert.deepEqual(got.v, encode('true value'))
    for (const n of net.nodes) n.lie = (r) => ({ ...r, v: encode('forged') })
    const none = await getImmutable(net.transport, result.target)
    assert.equal(none.v, undefined)
    assert.equal(none.discarded, 5)
  })

  it('typed errors for bad arguments: oversize value, 19-byte target', async () => {
    const net = network(1)
    await assert.rejects(putImmutable(net.transport, 'x'.repeat(1000)), { code: 'BAD_ARGUMENT' })
    await assert.rejects(getImmutable(net.transport, new Uint8Array(19)), { code: 'BAD_ARGUMENT' })
  })
})

describe('storage client: mutable', () => {
  it('seq defaults to the newest found + 1; get returns the newest valid item', async () => {
    const net = network(6)
    const a = await putMutable(net.transport, { keypair: kp, value: 'v0', salt: 'x' })
    assert.equal(a.result.seq, 0n)
    const b = await putMutable(net.transport, { keypair: kp, value: 'v1', salt: 'x' })
    assert.equal(b.result.seq, 1n)
    assert.equal(b.result.stored, 6)
    const got = await getMutable(net.transport, kp.publicKey, { salt: 'x' })
    assert.equal(got.item?.seq, 1n)
    assert.deepEqual(got.item?.target, mutableTargetOf(kp.publicKey, new TextEncoder().encode('x')))
    assert.equal(new TextDecoder().decode(got.item?.value as Uint8Array), 'v1')
  })

  it('a put meeting a newer seq fails with StorageConflictError carrying it; a wrong cas too', async () => {
    const net = network(4)
    await putMutable(net.transport, { keypair: kp, value: 'v5', seq: 5 })
    await assert.rejects(putMutable(net.transport, { keypair: kp, value: 'old', seq: 3 }), (err: unknown) => {
      assert.ok(err instanceof StorageConflictError)
      assert.equal(err.code, 'SEQ_TOO_LOW')
      assert.equal(err.seq, 5n)
      return true
    })
    await assert.rejects(putMutable(net.transport, { keypair: kp, value: 'v6', cas: 4 }), {
      code: 'CAS_MISMATCH',
      seq: 5n,
    })
    const ok = await putMutable(net.transport, { keypair: kp, value: 'v6', cas: 5 })
    assert.equal(ok.result.seq, 6n)
    assert.equal(ok.result.stored, 4)
  })

  it('a signer outside the process (async sign) works; a signer returning garbage is a typed error', async () => {
    const net = network(3)
    const res = await putMutable(net.transport, {
      publicKey: kp.publicKey,
      sign: async (m) => kp.sign(m),
      value: 'remote key',
    })
    assert.equal(res.result.stored, 3)
    await assert.rejects(
      putMutable(net.transport, { publicKey: kp.publicKey, sign: () => new Uint8Array(10), value: 'x' }),
      { code: 'BAD_ARGUMENT' },
    )
  })

  it('items with bad signatures or another key are discarded; the iterable yields ever newer verified items', async () => {
    const net = network(6)
    await putMutable(net.transport, { keypair: kp, value: 'base', seq: 1 })
    // Node 0 answers an old item, nodes 1-2 forge a newer seq (bad sig / another key), node 4 holds seq 3.
    const other = generateKeypair(new Uint8Array(32).fill(10))
    net.nodes[1].lie = (r) => ({ ...r, seq: 9n })
    net.nodes[2].lie = (r) => ({ ...r, k: other.publicKey })
    await net.nodes[4].ctx.items.putMutable(
      await (async () => {
        const v = encode('newest')
        const { signatureBuffer } = await import('../../src/codec/bep44.js')
        return { v, k: kp.publicKey, sig: kp.sign(signatureBuffer(v, 3n)) as Uint8Array, seq: 3n }
      })(),
      '203.0.113.9',
    )
    const seen: bigint[] = []
    for await (const item of getMutableItems(net.transport, kp.publicKey)) seen.push(item.seq)
    assert.deepEqual(seen, [1n, 3n])
    const got = await getMutable(net.transport, kp.publicKey)
    assert.equal(got.item?.seq, 3n)
    assert.equal(got.discarded, 2) // the forged seq (bad signature) and the item of another key
    // With seq asked, nothing older than it is yielded.
    const newer = await getMutable(net.transport, kp.publicKey, { seq: 3 })
    assert.equal(newer.item, undefined)
  })

  it('an abort signal ends the lookup with ABORTED', async () => {
    const net = network(3)
    const ac = new AbortController()
    ac.abort()
    await assert.rejects(getMutable(net.transport, kp.publicKey, { signal: ac.signal }), { code: 'ABORTED' })
  })
})

describe('republisher', () => {
  it('puts again every interval until stopped; drops an item every node refuses with 302', async () => {
    const net = network(3)
    const clock = new ManualClock()
    const { result, args } = await putImmutable(net.transport, 'keep me')
    const r = new Republisher(clock, (t, a) => putItem(net.transport, t, a), 1000)
    r.keep(result.target, args)
    const before = net.queries()
    clock.advance(1000)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(r.republished, 1)
    assert.ok(net.queries() > before)
    clock.advance(1000)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(r.republished, 2)
    assert.ok(r.stop(result.target))
    clock.advance(5000)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(r.republished, 2)
    // A superseded mutable item: everyone answers 302, so it is dropped.
    const old = await putMutable(net.transport, { keypair: kp, value: 'old', seq: 1 })
    await putMutable(net.transport, { keypair: kp, value: 'new', seq: 2 })
    r.keep(old.result.target, old.args)
    clock.advance(1000)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(r.has(old.result.target), false)
    r.close()
  })
})

describe('crawl', () => {
  it('walks from node to node, yields each info hash once and asks no node again before its interval', async () => {
    // A chain of 30 nodes, each storing 3 info hashes (one shared with the next) and naming the next two.
    const clock = new ManualClock()
    const asked = new Map<string, number[]>()
    const hashes = (i: number) => [i * 2, i * 2 + 1, i * 2 + 2].map((x) => new Uint8Array(20).fill(x))
    const ep = (i: number) => ({ host: `203.0.113.${i + 1}`, port: 6881 })
    const transport: Pick<StorageTransport, 'query'> = {
      async query(to, method) {
        assert.equal(method, 'sample_infohashes')
        const i = Number(to.host.split('.')[3]) - 1
        asked.set(to.host, [...(asked.get(to.host) ?? []), clock.now()])
        const nodes = [i + 1, i + 2].filter((j) => j < 30).map((j) => ({ id: new Uint8Array(20).fill(j), ...ep(j) }))
        // Each holds more than it samples (num 10): a revisiting crawl comes back after the interval (60 s).
        const packet = buildSampleInfohashesReply(new Uint8Array(2), new Uint8Array(20), {
          interval: 60,
          num: 10,
          samples: hashes(i),
          nodes,
        })
        const msg = parseKrpc(packet)
        if (msg.y !== 'r') throw new Error('not a reply')
        return { id: msg.r.id, r: msg.r }
      },
    }
    const found: string[] = []
    const deps = { transport, clock, random: seededRandom(1), seeds: () => [ep(0)] }
    for await (const h of crawl(deps)) found.push(String(h[0]))
    assert.equal(found.length, 61)
    assert.equal(new Set(found).size, 61)
    assert.equal(asked.size, 30)
    for (const times of asked.values()) assert.equal(times.length, 1)
    // Revisiting: nodes come back only after their interval.
    asked.clear()
    const ac = new AbortController()
    const it = crawl(deps, { revisit: true, signal: ac.signal })
    let n = 0
    const run = (async () => {
      try {
        for await (const _ of it) n++
      } catch (err) {
        assert.equal((err as DHTError).code, 'ABORTED')
      }
    })()
    for (let s = 0; s < 5; s++) {
      await new Promise((resolve) => setImmediate(resolve))
      clock.advance(30_000)
    }
    await new Promise((resolve) => setImmediate(resolve))
    ac.abort()
    await run
    assert.equal(n, 61)
    for (const times of asked.values()) {
      for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 60_000, `asked again too soon`)
    }
    assert.ok(
      [...asked.values()].some((t) => t.length >= 2),
      'a revisiting crawl asks again after the interval',
    )
  })
})
