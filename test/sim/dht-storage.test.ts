// BEP 44 / 51 / 33 on 1,000 simulated nodes (virtual time), one world shared by the cases: items put from one node
// are read from 20 random others (immutable, mutable with salt), a mutable item updated 5 times converges to the
// newest seq everywhere, a crawl finds ≥ 95% of the announced info hashes, a scrape counts seeds and downloaders,
// and after 20% loss and churn of a third of the nodes an item put before is read back thanks to republishing.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { toHex } from '../../src/codec/bytes.js'
import { generateKeypair } from '../../src/dht/index.js'
import { buildWorld, destroyWorld, leave, type World } from './dht-world.js'

const N = Number(process.env.DHT_STORAGE_SIM_N ?? 1000)
const T = { timeout: 3_600_000 }

describe(`BEP 44 / 51 / 33 on ${N} simulated nodes`, () => {
  let w: World
  const live = () => w.nodes.filter((_, i) => w.alive[i])
  const pick = (n: number, except: number) => {
    const out: number[] = []
    while (out.length < n) {
      const i = w.random.int(0, w.nodes.length)
      if (i !== except && w.alive[i] && !out.includes(i)) out.push(i)
    }
    return out
  }
  const settle = <X>(p: Promise<X>) => w.net.clock.settle(p, T)

  before(async () => {
    // Items live 10 minutes and are put again every 5 (BEP 44: 2 h and 1 h) so that the churn case proves
    // republishing in 25 virtual minutes instead of hours (CPU).
    w = await buildWorld({
      n: N,
      seed: 44,
      batch: 100,
      dht: { storage: { items: { ttlMs: 10 * 60_000 }, republishMs: 5 * 60_000 } },
    })
    await w.net.clock.runFor(60_000)
  })
  after(async () => {
    await destroyWorld(w)
  })

  it('an immutable item put from one node is read from 20 random others', async () => {
    const put = await settle(w.nodes[1].putImmutable({ hello: 'world', n: 42 }))
    assert.ok(put.stored >= 6, `stored on ${put.stored} of ${put.nodes}`)
    for (const i of pick(20, 1)) {
      const got = await settle(w.nodes[i].getImmutable(put.target))
      assert.ok(got.value, `node ${i} did not find it`)
      assert.equal(new TextDecoder().decode((got.value as { hello: Uint8Array }).hello), 'world')
      assert.equal(got.discarded, 0)
    }
  })

  it('a mutable item with salt put from one node is read from 20 random others', async () => {
    const kp = generateKeypair(new Uint8Array(32).fill(1))
    const put = await settle(w.nodes[2].putMutable({ keypair: kp, value: 'salted value', salt: 'profile' }))
    assert.ok(put.stored >= 6, `stored on ${put.stored}`)
    assert.equal(put.seq, 0n)
    for (const i of pick(20, 2)) {
      const got = await settle(w.nodes[i].getMutable(kp.publicKey, { salt: 'profile' }))
      assert.ok(got.item, `node ${i} did not find it`)
      assert.equal(new TextDecoder().decode(got.item.value as Uint8Array), 'salted value')
      // Without the salt it is another target: nothing there.
    }
    const unsalted = await settle(w.nodes[3].getMutable(kp.publicKey))
    assert.equal(unsalted.item, undefined)
  })

  it('a mutable item updated 5 times converges to the newest seq everywhere', async () => {
    const kp = generateKeypair(new Uint8Array(32).fill(2))
    const writer = w.nodes[4]
    for (let u = 0; u < 5; u++) {
      const put = await settle(writer.putMutable({ keypair: kp, value: `version ${u}` }))
      assert.equal(put.seq, BigInt(u))
      assert.ok(put.stored >= 6)
    }
    for (const i of pick(20, 4)) {
      const got = await settle(w.nodes[i].getMutable(kp.publicKey))
      assert.equal(got.item?.seq, 4n, `node ${i} read seq ${got.item?.seq}`)
      assert.equal(new TextDecoder().decode(got.item?.value as Uint8Array), 'version 4')
    }
    // An older explicit seq is refused before anything is sent, carrying the newest.
    await assert.rejects(settle(writer.putMutable({ keypair: kp, value: 'stale', seq: 2 })), (err: Error) => {
      return err.name === 'StorageConflictError' && (err as unknown as { seq: bigint }).seq === 4n
    })
  })

  it('a crawl finds at least 95% of the info hashes announced in the network', async () => {
    const announced = new Set<string>()
    const jobs: Promise<unknown>[] = []
    for (let a = 0; a < 100; a++) {
      const ih = w.random.bytes(20).slice()
      announced.add(toHex(ih))
      jobs.push(w.nodes[pick(1, -1)[0]].announce(ih, { port: 7000 + a }))
    }
    await settle(Promise.all(jobs))
    const found = new Set<string>()
    const crawler = w.nodes[5]
    await settle(
      (async () => {
        for await (const ih of crawler.crawl({ concurrency: 16 })) found.add(toHex(ih))
      })(),
    )
    let hit = 0
    for (const h of announced) if (found.has(h)) hit++
    assert.ok(hit >= 95, `crawl found ${hit} of 100 (${found.size} in all)`)
  })

  it('a scrape estimates seeds and downloaders from seed announces', async () => {
    const ih = w.random.bytes(20).slice()
    const who = pick(25, -1)
    await settle(Promise.all(who.map((i, j) => w.nodes[i].announce(ih, { port: 8000, seed: j < 10 }))))
    const s = await settle(w.nodes[6].scrape(ih))
    assert.ok(s.nodes >= 4, `filters from ${s.nodes} nodes`)
    assert.ok(Math.abs(s.seeds - 10) <= 2, `seeds ${s.seeds}`)
    assert.ok(Math.abs(s.peers - 15) <= 3, `peers ${s.peers}`)
  })

  it('after 20% loss and churn of a third of the nodes, an item is read back thanks to republishing', async () => {
    const kp = generateKeypair(new Uint8Array(32).fill(3))
    const publisher = 7
    const imm = await settle(w.nodes[publisher].putImmutable('kept alive'))
    const mut = await settle(w.nodes[publisher].putMutable({ keypair: kp, value: 'also kept', salt: 's' }))
    assert.ok(imm.stored >= 6 && mut.stored >= 6)
    const gone = pick(Math.floor(N / 3), publisher)
    await leave(w, gone)
    w.net.setDefaults({ latencyMs: 20, loss: 0.2 })
    // Past 2.5 lifetimes of the first puts: only the republishes keep the items alive.
    await w.net.clock.runFor(25 * 60_000)
    let imOk = 0
    let mutOk = 0
    for (const i of pick(20, publisher)) {
      const a = await settle(w.nodes[i].getImmutable(imm.target))
      if (a.value) imOk++
      const b = await settle(w.nodes[i].getMutable(kp.publicKey, { salt: 's' }))
      if (b.item) mutOk++
    }
    assert.ok(imOk >= 19 && mutOk >= 19, `immutable ${imOk}/20, mutable ${mutOk}/20 (live ${live().length})`)
  })
})
