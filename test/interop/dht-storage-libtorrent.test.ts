// BEP 44 and BEP 51 against libtorrent 2.0 (Debian python3-libtorrent) through our DHT's API: two of our DHT nodes
// (A and B) on 127.0.0.1 and a libtorrent session that joins through A, over real UDP. Items we put with
// putImmutable / putMutable (stored on B by A's lookup) are read by libtorrent; items libtorrent puts (a mutable
// one signed with the expanded form of one of our seeds) are read back with getImmutable / getMutable; libtorrent
// samples the info hashes announced to A (A's sample_infohashes reply).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { fromLatin1 } from '../../src/codec/bytes.js'
import { encode, fromHex, toHex } from '../../src/codec/index.js'
import { expandSecretKey, immutableTargetOf } from '../../src/dht/bep44-crypto.js'
import { DHT, generateKeypair } from '../../src/dht/index.js'
import { cryptoRandom } from '../../src/net/clock.js'
import { libtorrentSkip, PYTHON } from './lt-available.js'

const SCRIPT = fileURLToPath(new URL('./lt_storage.py', import.meta.url))
const skip = libtorrentSkip()

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

describe('BEP 44 and BEP 51 with libtorrent, through the DHT API', { skip, timeout: 180_000 }, () => {
  let a: DHT
  let b: DHT
  let events: Event[] = []
  const infohashes = Array.from({ length: 50 }, () => cryptoRandom.bytes(20))
  // Items we put for libtorrent to read.
  const ours = generateKeypair()
  const oursValue = 'stored by mainline'
  const oursImmutable = 'immutable from mainline'
  let oursTarget: Uint8Array
  // The key libtorrent signs with: one of our seeds, handed over in libtorrent's expanded form.
  const theirsKey = generateKeypair()

  before(async () => {
    a = new DHT({ host: '127.0.0.1', port: 0, storage: { sampleIntervalSeconds: 600 } })
    const pa = await a.listen()
    b = new DHT({ host: '127.0.0.1', port: 0, bootstrap: [pa] })
    await b.listen()
    await b.bootstrapped()
    await a.findNode(a.id) // A learns B
    // Info hashes announced (by B) to A, for libtorrent to sample.
    for (const ih of infohashes) await b.announce(ih, { port: 6881 })
    const imm = await a.putImmutable(oursImmutable)
    assert.ok(imm.stored >= 1, `immutable stored on ${imm.stored}`)
    oursTarget = imm.target
    const mut = await a.putMutable({ keypair: ours, value: oursValue, salt: 'ours', seq: 7 })
    assert.ok(mut.stored >= 1, `mutable stored on ${mut.stored}`)
    events = await runLibtorrent({
      port: pa.port,
      theirs: { pk: toHex(ours.publicKey), salt: 'ours', target: toHex(oursTarget) },
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
    await a?.destroy()
    await b?.destroy()
  })

  const find = (pred: (e: Event) => boolean) =>
    events.find(pred) ?? assert.fail(`missing event in ${JSON.stringify(events)}`)

  it('libtorrent reads the mutable (salted) and immutable items we put', () => {
    const m = find((e) => e.event === 'mutable')
    assert.equal(m.item, toHex(encode(oursValue)))
    assert.equal(m.seq, 7)
    assert.equal(m.key, toHex(ours.publicKey))
    assert.equal(m.salt, toHex(fromLatin1('ours')))
    const i = find((e) => e.event === 'immutable')
    assert.equal(i.item, toHex(encode(oursImmutable)))
    assert.equal(i.target, toHex(oursTarget))
  })

  it('libtorrent puts a mutable item signed with our key in its expanded form; getMutable reads it', async () => {
    const p = find((e) => e.event === 'put' && e.kind === 'mutable')
    assert.ok((p.num_success as number) >= 1, JSON.stringify(p))
    assert.equal(p.public_key, toHex(theirsKey.publicKey))
    const got = await a.getMutable(theirsKey.publicKey, { salt: 'lt' })
    assert.ok(got.item, 'not found')
    assert.deepEqual(got.item.v, encode('put by libtorrent'))
    assert.equal(got.item.seq, BigInt(p.seq as number))
    assert.equal(got.discarded, 0)
  })

  it('libtorrent puts an immutable item; getImmutable reads it under its SHA-1', async () => {
    const p = find((e) => e.event === 'put' && e.kind === 'immutable')
    assert.ok((p.num_success as number) >= 1, JSON.stringify(p))
    const target = immutableTargetOf(encode('immutable from libtorrent'))
    assert.equal(p.target, toHex(target))
    const got = await a.getImmutable(target)
    assert.deepEqual(got.v, encode('immutable from libtorrent'))
  })

  it('libtorrent samples the info hashes announced to our node (our sample_infohashes reply)', () => {
    const s = find((e) => e.event === 'sample')
    assert.equal(s.interval, 600)
    assert.equal(s.num, 50)
    const samples = s.samples as string[]
    assert.equal(samples.length, 20)
    const all = new Set(infohashes.map(toHex))
    for (const h of samples) assert.ok(all.has(h), h)
    assert.ok(!events.some((e) => e.event === 'timeout'), JSON.stringify(events))
    assert.ok(fromHex(samples[0]))
  })
})
