// BEP 44, BEP 51 and BEP 33 against libtorrent 2.0 (Debian python3-libtorrent) through our DHT's API: two of our DHT
// nodes (A and B) on 127.0.0.1 and a libtorrent session that joins through A, over real UDP. Items we put with
// putImmutable / putMutable (stored on B by A's lookup) are read by libtorrent; items libtorrent puts (a mutable
// one signed with the expanded form of one of our seeds) are read back with getImmutable / getMutable; libtorrent
// samples the info hashes announced to A (A's sample_infohashes reply). Then, with libtorrent's session kept up
// (lt_storage.py takes commands on stdin), we sample libtorrent's node and crawl it, and libtorrent announces one
// torrent as a seed and one as a downloader for our scrape to count.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { bloomEstimate } from '../../src/codec/bep33.js'
import { fromLatin1 } from '../../src/codec/bytes.js'
import { encode, fromHex, toHex } from '../../src/codec/index.js'
import { expandSecretKey, immutableTargetOf } from '../../src/dht/bep44-crypto.js'
import { DHT, generateKeypair } from '../../src/dht/index.js'
import { cryptoRandom } from '../../src/net/clock.js'
import type { Endpoint } from '../../src/net/types.js'
import { libtorrentSkip, onJsonLines, PYTHON } from './lt-available.js'

const SCRIPT = fileURLToPath(new URL('./lt_storage.py', import.meta.url))
const skip = libtorrentSkip()

type Event = Record<string, unknown> & { event: string }

/** lt_storage.py, kept running: its events in order, and waits for the first one that matches. */
class LtStorage {
  readonly events: Event[] = []
  private readonly waiters = new Set<() => void>()
  private stderr = ''
  private exit: string | undefined
  private readonly child: ChildProcess

  constructor(args: unknown) {
    this.child = spawn(PYTHON, [SCRIPT, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] })
    onJsonLines<Event>(this.child.stdout, (e) => this.push(e))
    this.child.stderr?.setEncoding('utf8')
    this.child.stderr?.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-2000)
    })
    this.child.on('exit', (code, signal) => {
      this.exit = `lt_storage.py exited (code ${code}, signal ${signal}): ${this.stderr}`
      this.notify()
    })
  }

  /** Also carries our nodes' events, so that one wait can follow both sides. */
  push(e: Event): void {
    this.events.push(e)
    this.notify()
  }

  private notify(): void {
    for (const w of [...this.waiters]) w()
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(cmd)}\n`)
  }

  /** The first event (past or future) matching `pred`; fails after `ms`, or when the helper exits first. */
  waitFor(pred: (e: Event) => boolean, what: string, ms = 30_000): Promise<Event> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = this.events.find(pred)
        if (e || this.exit !== undefined) {
          clearTimeout(timer)
          this.waiters.delete(check)
          if (e) resolve(e)
          else reject(new Error(`${this.exit} (waiting for ${what})`))
        }
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`no ${what} within ${ms} ms: ${JSON.stringify(this.events.slice(-20))}`))
      }, ms)
      this.waiters.add(check)
      check()
    })
  }

  /** Asks it to quit; kills it if it has not within 10 s. */
  async close(): Promise<void> {
    if (this.exit !== undefined) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.send({ cmd: 'quit' })
    this.child.stdin?.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
}

const hexSet = (hs: Uint8Array[]) => new Set(hs.map(toHex))

describe('BEP 44, BEP 51 and BEP 33 with libtorrent, through the DHT API', { skip, timeout: 180_000 }, () => {
  let a: DHT
  let b: DHT
  let lt: LtStorage
  let events: Event[] = []
  let ltNode: Endpoint
  const SAMPLE_INTERVAL = 300
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
    lt = new LtStorage({
      port: pa.port,
      sample_interval: SAMPLE_INTERVAL,
      theirs: { pk: toHex(ours.publicKey), salt: 'ours', target: toHex(oursTarget) },
      mine: {
        pk: toHex(theirsKey.publicKey),
        sk: toHex(expandSecretKey(theirsKey.seed)),
        salt: 'lt',
        data: 'put by libtorrent',
      },
      immutable: 'immutable from libtorrent',
    })
    const done = await lt.waitFor((e) => e.event === 'done', 'the scripted part', 120_000)
    events = lt.events.slice()
    ltNode = { host: '127.0.0.1', port: done.port as number }
    // Announces our nodes store, in the same log as libtorrent's events.
    for (const [name, node] of [
      ['a', a],
      ['b', b],
    ] as const) {
      node.on('announce', (peer: Endpoint, ih: Uint8Array) =>
        lt.push({ event: 'stored', node: name, infohash: toHex(ih), host: peer.host, port: peer.port }),
      )
    }
  })
  after(async () => {
    await lt?.close()
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

  // Info hashes libtorrent's node holds: X announced by A (to the K closest, B and libtorrent), Y announced by hand
  // to libtorrent alone, so that only libtorrent's sample can show them. 18 in all, under libtorrent's sample
  // limit of 20, so one sample is the whole set.
  const X = Array.from({ length: 12 }, () => cryptoRandom.bytes(20))
  const Y = Array.from({ length: 6 }, () => cryptoRandom.bytes(20))
  let ltId: Uint8Array

  it("we sample libtorrent's node: sampleInfohashes returns what was announced to it (BEP 51)", async () => {
    ltId = (await a.ping(ltNode)).id // libtorrent is in A's table, so A's announces reach it
    for (const ih of X) {
      const r = await a.announce(ih, { port: 6881 })
      assert.equal(r.nodes, 2, `announce accepted by ${r.nodes} nodes (B and libtorrent expected)`)
    }
    for (const ih of Y) {
      const gp = await a.query(ltNode, 'get_peers', { info_hash: ih })
      assert.ok(gp.r.token instanceof Uint8Array, 'libtorrent gave no token')
      await a.query(ltNode, 'announce_peer', { info_hash: ih, port: 6881, token: gp.r.token })
    }
    const s = await a.sampleInfohashes(ltNode)
    console.log(
      `libtorrent's sample: num ${s.num}, interval ${s.interval}, ${s.samples.length} samples, ${s.nodes.length} nodes`,
    )
    assert.deepEqual(s.id, ltId)
    assert.equal(s.interval, SAMPLE_INTERVAL)
    assert.equal(s.num, X.length + Y.length)
    assert.equal(s.samples.length, X.length + Y.length)
    assert.deepEqual(hexSet(s.samples), hexSet([...X, ...Y]))
    // Its `nodes` parsed: libtorrent lists our nodes, the only others it knows.
    const ours = new Set([a.address().port, b.address().port])
    assert.ok(s.nodes.length >= 1 && s.nodes.every((n) => ours.has(n.port)), JSON.stringify(s.nodes))
  })

  it("crawl() finds the info hashes only libtorrent's node holds", async () => {
    const found = new Set<string>()
    for await (const ih of a.crawl({ signal: AbortSignal.timeout(60_000) })) found.add(toHex(ih))
    for (const h of hexSet(Y)) assert.ok(found.has(h), `crawl missed ${h} (held by libtorrent alone)`)
    for (const h of hexSet(X)) assert.ok(found.has(h), `crawl missed ${h}`)
  })

  it('libtorrent announces a seed and a downloader; our scrape counts them from BFsd / BFpe (BEP 33)', async () => {
    lt.send({ cmd: 'seed' })
    const seeded = (await lt.waitFor((e) => e.event === 'seeding', 'the seeding torrent')).infohash as string
    lt.send({ cmd: 'download' })
    const leeched = (await lt.waitFor((e) => e.event === 'downloading', 'the magnet torrent')).infohash as string
    // libtorrent sends announce_peer with seed=1 for the seed and without it for the other, and B stores both.
    for (const [ih, seed] of [
      [seeded, 1],
      [leeched, 0],
    ] as const) {
      const out = await lt.waitFor(
        (e) => e.event === 'announce_out' && e.infohash === ih,
        `libtorrent's announce of ${ih}`,
      )
      console.log(`libtorrent's announce: ${JSON.stringify(out)}`)
      assert.equal(out.seed, seed, JSON.stringify(out))
      await lt.waitFor((e) => e.event === 'stored' && e.node === 'b' && e.infohash === ih, `B storing ${ih}`)
    }
    // Each node's own filters, asked by hand: B's (our serving side) and libtorrent's, which counts its own
    // announce too. Each holds the one IP, 127.0.0.1, in BFsd for the seed and in BFpe for the other.
    const filters = async (node: Endpoint, ih: Uint8Array) => {
      const { r } = await a.query(node, 'get_peers', { info_hash: ih, scrape: 1 })
      const est = (f: unknown) => (f instanceof Uint8Array && f.length === 256 ? Math.round(bloomEstimate(f)) : -1)
      return { seeds: est(r.BFsd), peers: est(r.BFpe) }
    }
    const seededIh = fromHex(seeded) ?? assert.fail(seeded)
    const leechedIh = fromHex(leeched) ?? assert.fail(leeched)
    for (const node of [ltNode, b.address()]) {
      assert.deepEqual(await filters(node, seededIh), { seeds: 1, peers: 0 }, `${node.port}'s filters, seeded`)
      assert.deepEqual(await filters(node, leechedIh), { seeds: 0, peers: 1 }, `${node.port}'s filters, downloading`)
    }
    // Our scrape from A: a get_peers lookup with scrape, its K closest being B and libtorrent (A does not ask itself).
    const sd = await a.scrape(seededIh)
    const pe = await a.scrape(leechedIh)
    console.log(`scrape: seeded ${JSON.stringify(sd)}, downloading ${JSON.stringify(pe)}`)
    // Every peer here is 127.0.0.1 and BEP 33 counts IPs: the union of both nodes' filters is one seed (a sum of
    // the two estimates would say 2), and one downloader.
    assert.deepEqual({ seeds: sd.seeds, peers: sd.peers }, { seeds: 1, peers: 0 })
    assert.deepEqual({ seeds: pe.seeds, peers: pe.peers }, { seeds: 0, peers: 1 })
    assert.equal(sd.nodes, 2)
    assert.equal(pe.nodes, 2)
    assert.ok(!lt.events.some((e) => e.event === 'error'), JSON.stringify(lt.events.filter((e) => e.event === 'error')))
  })
})
