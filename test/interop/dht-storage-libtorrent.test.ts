// BEP 44 and BEP 51 against libtorrent 2.0 (Debian python3-libtorrent): a single DHT node made of our parts
// (parseKrpc with allMethods, ItemStore, InfohashSampler, the get/put/sample builders) serves a libtorrent session
// over real UDP on 127.0.0.1. libtorrent reads items we stored, puts items we verify and store (a mutable one
// signed with the expanded form of one of our seeds), and samples our infohashes.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { bytesEqual, fromLatin1 } from '../../src/codec/bytes.js'
import {
  buildErrorReply,
  buildFindNodeReply,
  buildGetPeersReply,
  buildGetReply,
  buildPingReply,
  buildPutReply,
  buildSampleInfohashesReply,
  encode,
  fromHex,
  KrpcError,
  parseKrpc,
  signatureBuffer,
  toHex,
} from '../../src/codec/index.js'
import {
  expandSecretKey,
  generateKeypair,
  immutableTargetOf,
  mutableTargetOf,
  verifyMutableItem,
} from '../../src/dht/bep44-crypto.js'
import { InfohashSampler } from '../../src/dht/infohash-sampler.js'
import { ItemStore } from '../../src/dht/item-store.js'
import { cryptoRandom } from '../../src/net/clock.js'
import { UdpSocket } from '../../src/net/udp.js'
import { libtorrentSkip, PYTHON } from './lt-available.js'

const SCRIPT = fileURLToPath(new URL('./lt_storage.py', import.meta.url))
const skip = libtorrentSkip()
const TOKEN = Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4)
const EMPTY = new Uint8Array(0)

/** A DHT node of our storage parts only: it answers every query from its store and lists no other nodes. */
async function storageNode() {
  const id = cryptoRandom.bytes(20)
  const clock = { now: () => Date.now() }
  const store = new ItemStore({ clock })
  const sampler = new InfohashSampler({ clock, random: cryptoRandom, intervalSeconds: 600, maxSamples: 20 })
  const infohashes = Array.from({ length: 50 }, () => cryptoRandom.bytes(20))
  const seen: string[] = []
  const sock = await UdpSocket.bind({ host: '127.0.0.1' })
  sock.setReceiver((data, from) => {
    let m: ReturnType<typeof parseKrpc>
    try {
      m = parseKrpc(data, { allMethods: true })
    } catch (e) {
      if (e instanceof KrpcError && e.shouldReply) sock.send(buildErrorReply(e.tid!, [e.krpcCode, e.reason]), from)
      return
    }
    if (m.y !== 'q') return
    seen.push(m.q)
    const o = { ip: from }
    if (!m.known) return sock.send(buildErrorReply(m.t, [204, 'Method Unknown']), from)
    switch (m.q) {
      case 'ping':
      case 'announce_peer':
        return sock.send(buildPingReply(m.t, id, o), from)
      case 'find_node':
        return sock.send(buildFindNodeReply(m.t, id, EMPTY, o), from)
      case 'get_peers':
        return sock.send(buildGetPeersReply(m.t, id, undefined, EMPTY, TOKEN, o), from)
      case 'get':
        return sock.send(
          buildGetReply(m.t, id, { token: TOKEN, nodes: EMPTY, ...store.get(m.a.target, m.a.seq) }, o),
          from,
        )
      case 'put': {
        const a = m.a
        if (!bytesEqual(a.token, TOKEN)) return sock.send(buildErrorReply(m.t, [203, 'invalid token']), from)
        const r =
          a.k !== undefined && a.sig !== undefined && a.seq !== undefined
            ? store.putMutable({ v: a.v, k: a.k, sig: a.sig, seq: a.seq, salt: a.salt, cas: a.cas }, from.host)
            : store.putImmutable(a.v, from.host)
        return sock.send(r.ok ? buildPutReply(m.t, id, o) : buildErrorReply(m.t, [r.code, r.message]), from)
      }
      case 'sample_infohashes': {
        const s = sampler.sample({ size: infohashes.length, keys: () => infohashes })
        return sock.send(buildSampleInfohashesReply(m.t, id, { ...s, nodes: EMPTY }, o), from)
      }
    }
  })
  return { sock, store, infohashes, seen }
}

type Event = Record<string, unknown> & { event: string }

function runLibtorrent(args: unknown): Promise<Event[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`lt_storage.py exited ${code}: ${err.slice(-2000)}`))
      resolve(
        out
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as Event),
      )
    })
  })
}

describe('BEP 44 and BEP 51 with libtorrent', { skip, timeout: 120_000 }, () => {
  let node: Awaited<ReturnType<typeof storageNode>>
  let events: Event[] = []
  // Items we put into our own store for libtorrent to read.
  const ours = generateKeypair()
  const oursSalt = fromLatin1('ours')
  const oursValue = encode('stored by mainline')
  const oursImmutable = encode('immutable from mainline')
  // The key libtorrent signs with: one of our seeds, handed over in libtorrent's expanded form.
  const theirsKey = generateKeypair()

  before(async () => {
    node = await storageNode()
    const sig = (await ours.sign(signatureBuffer(oursValue, 7, oursSalt))) as Uint8Array
    assert.ok(node.store.putMutable({ v: oursValue, k: ours.publicKey, sig, seq: 7n, salt: oursSalt }, '127.0.0.1').ok)
    assert.ok(node.store.putImmutable(oursImmutable, '127.0.0.1').ok)
    events = await runLibtorrent({
      port: node.sock.address().port,
      theirs: { pk: toHex(ours.publicKey), salt: 'ours', target: toHex(immutableTargetOf(oursImmutable)) },
      mine: {
        pk: toHex(theirsKey.publicKey),
        sk: toHex(expandSecretKey(theirsKey.seed)),
        salt: 'lt',
        data: 'put by libtorrent',
      },
      immutable: 'immutable from libtorrent',
    })
  })
  after(async () => {
    await node?.sock.close()
  })

  const find = (pred: (e: Event) => boolean) =>
    events.find(pred) ?? assert.fail(`missing event in ${JSON.stringify(events)}`)

  it('libtorrent reads the mutable and immutable items we store (our get replies)', () => {
    const m = find((e) => e.event === 'mutable')
    assert.equal(m.item, toHex(oursValue))
    assert.equal(m.seq, 7)
    assert.equal(m.key, toHex(ours.publicKey))
    assert.equal(m.salt, toHex(oursSalt))
    const i = find((e) => e.event === 'immutable')
    assert.equal(i.item, toHex(oursImmutable))
    assert.equal(i.target, toHex(immutableTargetOf(oursImmutable)))
  })

  it('libtorrent puts a mutable item signed with our key in its expanded form; we verify and store it', () => {
    const p = find((e) => e.event === 'put' && e.kind === 'mutable')
    assert.ok((p.num_success as number) >= 1, JSON.stringify(p))
    assert.equal(p.public_key, toHex(theirsKey.publicKey))
    assert.equal(p.salt, toHex(fromLatin1('lt')))
    const target = mutableTargetOf(theirsKey.publicKey, fromLatin1('lt'))
    const item = node.store.peek(target)
    assert.ok(item?.kind === 'mutable')
    assert.deepEqual(item.v, encode('put by libtorrent'))
    assert.equal(item.seq, BigInt(p.seq as number))
    assert.ok(verifyMutableItem(item))
  })

  it('libtorrent puts an immutable item; we store it under its SHA-1', () => {
    const p = find((e) => e.event === 'put' && e.kind === 'immutable')
    assert.ok((p.num_success as number) >= 1, JSON.stringify(p))
    const target = immutableTargetOf(encode('immutable from libtorrent'))
    assert.equal(p.target, toHex(target))
    assert.deepEqual(node.store.peek(target)?.v, encode('immutable from libtorrent'))
  })

  it('libtorrent samples our infohashes (our sample_infohashes reply)', () => {
    const s = find((e) => e.event === 'sample')
    assert.equal(s.interval, 600)
    assert.equal(s.num, 50)
    const samples = s.samples as string[]
    assert.equal(samples.length, 20)
    const all = new Set(node.infohashes.map(toHex))
    for (const h of samples) assert.ok(all.has(h), h)
    assert.ok(node.seen.includes('get') && node.seen.includes('put') && node.seen.includes('sample_infohashes'))
    assert.ok(!events.some((e) => e.event === 'timeout'), JSON.stringify(events))
    assert.ok(fromHex(samples[0]))
  })
})
