// BEP 44 / 51 / 33 served by a whole DHT node over a scripted socket: the framing of get/put/sample_infohashes
// replies and errors, scrape and noseed in get_peers, and a hostile flood of puts from many addresses in many
// networks: every put gets its code on the wire, the store stays within its caps and the node keeps answering.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bloomEstimate } from '../../src/codec/bep33.js'
import { buildGetQuery, buildPutQuery } from '../../src/codec/bep44-build.js'
import { buildSampleInfohashesQuery } from '../../src/codec/bep51.js'
import { encode, signatureBuffer } from '../../src/codec/index.js'
import { buildAnnouncePeerQuery, buildGetPeersQuery, buildPingQuery } from '../../src/codec/krpc-build.js'
import { parseKrpc } from '../../src/codec/krpc-parse.js'
import type { KrpcMessage } from '../../src/codec/krpc-types.js'
import { generateKeypair, immutableTargetOf, mutableTargetOf } from '../../src/dht/bep44-crypto.js'
import { DHT, type DHTOptions } from '../../src/dht/index.js'
import type { DatagramHandler, DatagramSocket, Endpoint } from '../../src/net/types.js'
import { idOf, ManualClock, seededRandom } from '../helpers/dht-fixtures.js'

class FakeSocket implements DatagramSocket {
  readonly family = 4 as const
  private receiver: DatagramHandler | null = null
  private last: { data: Uint8Array; to: Endpoint }[] = []
  address(): Endpoint {
    return { host: '127.0.0.1', port: 6881 }
  }
  send(data: Uint8Array, to: Endpoint): void {
    this.last.push({ data: new Uint8Array(data), to })
  }
  setReceiver(h: DatagramHandler | null): void {
    this.receiver = h
  }
  async close(): Promise<void> {}
  ask(data: Uint8Array, from: Endpoint): KrpcMessage | undefined {
    this.last = []
    this.receiver?.(data, from)
    const out = this.last.find((s) => s.to.host === from.host && s.to.port === from.port)
    return out && parseKrpc(out.data)
  }
}

const T = Uint8Array.of(1, 2)
const QID = idOf(0x22, 3)
const kp = generateKeypair(new Uint8Array(32).fill(5))

async function node(storage?: DHTOptions['storage']) {
  const socket = new FakeSocket()
  // Rate limiting off the path: the flood comes from many addresses, each within its budget anyway.
  const dht = new DHT({ socket, clock: new ManualClock(), random: seededRandom(3), id: idOf(0x80, 1), storage })
  await dht.listen()
  return { socket, dht }
}

function tokenFor(socket: FakeSocket, target: Uint8Array, from: Endpoint): Uint8Array {
  const m = socket.ask(buildGetQuery(T, QID, target), from)
  assert.ok(m?.y === 'r' && m.r.token)
  return m.r.token
}

function errCode(m: KrpcMessage | undefined): number | 'ok' | 'none' {
  if (!m) return 'none'
  return m.y === 'e' ? m.e[0] : 'ok'
}

describe('storage served by the DHT node (wire)', () => {
  it('get / put / get round trip, immutable and mutable, with the errors on the wire', async () => {
    const { socket, dht } = await node()
    const from = { host: '198.51.100.7', port: 4000 }
    const v = encode('over the wire')
    const target = immutableTargetOf(v)
    assert.equal(errCode(socket.ask(buildPutQuery(T, QID, new Uint8Array(8), { v }), from)), 203)
    const token = tokenFor(socket, target, from)
    assert.equal(errCode(socket.ask(buildPutQuery(T, QID, token, { v }), from)), 'ok')
    const got = socket.ask(buildGetQuery(T, QID, target), from)
    assert.ok(got?.y === 'r')
    assert.deepEqual(got.r.v, v)
    assert.ok(got.r.token && got.r.nodes !== undefined)
    // Mutable: a bad signature is 206, a stale seq 302, a wrong cas 301.
    const mv = encode('m')
    const mt = mutableTargetOf(kp.publicKey)
    const mtoken = tokenFor(socket, mt, from)
    const sig = (seq: bigint) => kp.sign(signatureBuffer(mv, seq)) as Uint8Array
    const put = (seq: bigint, s: Uint8Array, cas?: bigint) =>
      errCode(socket.ask(buildPutQuery(T, QID, mtoken, { v: mv, k: kp.publicKey, sig: s, seq, cas }), from))
    assert.equal(put(3n, sig(4n)), 206)
    assert.equal(put(3n, sig(3n)), 'ok')
    assert.equal(put(2n, sig(2n)), 302)
    assert.equal(put(4n, sig(4n), 1n), 301)
    const m = socket.ask(buildGetQuery(T, QID, mt, { seq: 2n }), from)
    assert.ok(m?.y === 'r' && m.r.seq === 3n && m.r.sig && m.r.k)
    await dht.destroy()
  })

  it('sample_infohashes and scrape/noseed from announces with seed', async () => {
    const { socket, dht } = await node({ sampleIntervalSeconds: 600 })
    const ih = new Uint8Array(20).fill(9)
    for (let i = 0; i < 12; i++) {
      const from = { host: `203.0.113.${i + 1}`, port: 6881 }
      const g = socket.ask(buildGetPeersQuery(T, QID, ih), from)
      assert.ok(g?.y === 'r' && g.r.token)
      const a = socket.ask(buildAnnouncePeerQuery(T, QID, ih, g.r.token, 6881, { seed: i < 4 }), from)
      assert.equal(errCode(a), 'ok')
    }
    const s = socket.ask(buildSampleInfohashesQuery(T, QID, ih), { host: '198.51.100.1', port: 1 })
    assert.ok(s?.y === 'r')
    assert.equal(s.r.interval, 600)
    assert.equal(s.r.num, 1)
    assert.deepEqual(s.r.samples, ih)
    const sc = socket.ask(buildGetPeersQuery(T, QID, ih, { scrape: true, noseed: true }), {
      host: '198.51.100.1',
      port: 1,
    })
    assert.ok(sc?.y === 'r' && sc.r.BFsd && sc.r.BFpe)
    assert.equal(Math.round(bloomEstimate(sc.r.BFsd)), 4)
    assert.equal(Math.round(bloomEstimate(sc.r.BFpe)), 8)
    assert.equal(sc.r.values?.length, 8) // noseed: the downloaders only
    await dht.destroy()
  })

  it('a flood of puts under many keys from many addresses: each its code, caps hold, still answering', async () => {
    const { socket, dht } = await node({ items: { maxItems: 100, maxPerIp: 3, maxPerPrefix: 15 } })
    const keys = Array.from({ length: 20 }, (_, i) => generateKeypair(new Uint8Array(32).fill(40 + i)))
    const codes: Record<string, number> = {}
    for (let i = 0; i < 1200; i++) {
      const from = { host: `198.51.${100 + (i % 10)}.${(i * 13) % 250}`, port: 2000 + (i % 50) }
      const key = keys[i % keys.length]
      const v = encode(`flood ${i}`)
      const kind = i % 5
      let q: Uint8Array
      if (kind === 0) q = buildPutQuery(T, QID, new Uint8Array(8).fill(i & 0xff), { v })
      else if (kind === 1) q = buildPutQuery(T, QID, tokenFor(socket, immutableTargetOf(v), from), { v })
      else {
        const seq = BigInt(i % 7)
        const token = tokenFor(socket, mutableTargetOf(key.publicKey), from)
        // kind 2: signed by another key (206); 3: valid (302 when stale); 4: valid with a wrong cas (301).
        const signer = kind === 2 ? kp : key
        const sig = signer.sign(signatureBuffer(v, seq)) as Uint8Array
        q = buildPutQuery(T, QID, token, { v, k: key.publicKey, sig, seq, ...(kind === 4 ? { cas: 1000n } : {}) })
      }
      const c = errCode(socket.ask(q, from))
      codes[`${kind}:${c}`] = (codes[`${kind}:${c}`] ?? 0) + 1
    }
    assert.equal(codes['0:203'], 240, JSON.stringify(codes))
    assert.equal(codes['2:206'], 240, JSON.stringify(codes))
    assert.ok((codes['3:302'] ?? 0) > 0 && (codes['4:301'] ?? 0) > 0, JSON.stringify(codes))
    assert.equal(codes['0:none'] ?? 0, 0)
    const st = dht.stats()
    assert.equal(st.drops.handler_error ?? 0, 0)
    assert.ok(st.itemsStored > 10 && st.itemsStored <= 100, `items ${st.itemsStored}`)
    // Still answering.
    const p = socket.ask(buildPingQuery(T, QID), { host: '203.0.113.77', port: 1 })
    assert.equal(errCode(p), 'ok')
    await dht.destroy()
  })
})
