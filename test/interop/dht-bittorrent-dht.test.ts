// A mixed testnet on 127.0.0.1: our nodes and webtorrent's bittorrent-dht nodes (real UDP, bootstrap: false plus
// addNode). Lookups succeed both ways.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import BittorrentDHT from 'bittorrent-dht'
import { fromHex } from '../../src/codec/bytes.js'
import { DHT } from '../../src/dht/index.js'
import type { Endpoint } from '../../src/net/types.js'

const hex = (s: string): Uint8Array => fromHex(s) ?? assert.fail(`bad hex ${s}`)
const IH_THEIRS = 'aaaa1111bbbb2222cccc3333dddd4444eeee5555'
const IH_OURS = '5555eeee4444dddd3333cccc2222bbbb1111aaaa'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(fn: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await fn()) return true
    await sleep(100)
  }
  return fn()
}

describe('DHT interop with bittorrent-dht', { timeout: 45_000 }, () => {
  const ours: DHT[] = []
  const theirs: BittorrentDHT[] = []

  before(async () => {
    const seed = new DHT({ host: '127.0.0.1', port: 0, bootstrap: [] })
    ours.push(seed)
    const seedAt = await seed.listen()
    for (let i = 0; i < 3; i++) {
      const t = new BittorrentDHT({ bootstrap: false })
      t.on('warning', () => {})
      t.on('error', () => {})
      await new Promise<void>((r) => t.listen(0, '127.0.0.1', r))
      t.addNode(seedAt)
      theirs.push(t)
    }
    // Our other nodes bootstrap off our seed and one of theirs: the testnet is one mixed DHT.
    for (let i = 0; i < 3; i++) {
      const d = new DHT({
        host: '127.0.0.1',
        port: 0,
        bootstrap: [seedAt, { host: '127.0.0.1', port: theirs[i].address().port }],
      })
      ours.push(d)
      await d.listen()
      await d.bootstrapped()
    }
    for (const t of theirs) for (const d of ours.slice(1)) t.addNode(d.address())
    assert.ok(await until(() => theirs.every((t) => t.toJSON().nodes.length >= 2), 5000), 'their nodes met ours')
  })
  after(async () => {
    await Promise.all(ours.map((d) => d.destroy()))
    await Promise.all(theirs.map((t) => new Promise<void>((r) => t.destroy(() => r()))))
  })

  it('their announce is found by our lookup', async () => {
    await new Promise<void>((res, rej) =>
      theirs[0].announce(Buffer.from(IH_THEIRS, 'hex'), 6001, (e) => (e ? rej(e) : res())),
    )
    let peers: Endpoint[] = []
    const ok = await until(async () => {
      peers = (await ours[3].lookup(hex(IH_THEIRS))).peers
      return peers.some((p) => p.host === '127.0.0.1' && p.port === 6001)
    }, 10_000)
    assert.ok(ok, `found 127.0.0.1:6001 in ${JSON.stringify(peers)}`)
  })

  it('our announce is found by their lookup', async () => {
    const r = await ours[1].announce(hex(IH_OURS), { port: 7002 })
    assert.ok(r.nodes >= 1)
    const found: Endpoint[] = []
    theirs[2].on('peer', (p: Endpoint, ih: Buffer) => {
      if (ih.toString('hex') === IH_OURS) found.push({ host: p.host, port: p.port })
    })
    const ok = await until(async () => {
      await new Promise<void>((res) => theirs[2].lookup(Buffer.from(IH_OURS, 'hex'), () => res()))
      return found.some((p) => p.host === '127.0.0.1' && p.port === 7002)
    }, 10_000)
    assert.ok(ok, `their lookup found 127.0.0.1:7002 in ${JSON.stringify(found)}`)
  })
})
