// BEP 44 between our nodes and webtorrent's bittorrent-dht in one mixed network on 127.0.0.1 (real UDP): items put
// by either kind are read by the other, immutable and mutable (bittorrent-dht's put/get with `k`, `sign`, `salt`,
// `seq`). Each direction also checks that the other kind's nodes stored the item themselves (bittorrent-dht's `put`
// events; a direct `get` to each of our nodes), so a read is not just one kind serving itself.
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { after, before, describe, it } from 'node:test'
import BittorrentDHT from 'bittorrent-dht'
import { encode } from '../../src/codec/bencode.js'
import { buildGetQuery } from '../../src/codec/bep44-build.js'
import { bytesEqual } from '../../src/codec/bytes.js'
import { parseKrpc } from '../../src/codec/krpc-parse.js'
import { generateKeypair, immutableTargetOf, mutableTargetOf, verifySignature } from '../../src/dht/bep44-crypto.js'
import { DHT } from '../../src/dht/index.js'
import type { Endpoint } from '../../src/net/types.js'

const HALF = 8
const text = (b: unknown) => new TextDecoder().decode(b as Uint8Array)
const verify = (sig: Uint8Array, msg: Uint8Array, k: Uint8Array) => verifySignature(k, msg, sig)

/** Which of `nodes` hold an item under `target`, asked directly with a `get` (BEP 44) from a plain socket. */
async function holders(nodes: Endpoint[], target: Uint8Array): Promise<number> {
  const sock = createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))
  const have = new Set<number>()
  sock.on('message', (buf) => {
    try {
      const m = parseKrpc(new Uint8Array(buf))
      if (m.y === 'r' && m.r.v !== undefined) have.add(m.t[0])
    } catch {}
  })
  for (const [i, n] of nodes.entries()) {
    sock.send(buildGetQuery(Uint8Array.of(i), new Uint8Array(20).fill(7), target), n.port, n.host)
  }
  await new Promise((r) => setTimeout(r, 500))
  sock.close()
  return have.size
}

describe('BEP 44 interop with bittorrent-dht (mixed network)', { timeout: 120_000 }, () => {
  const ours: DHT[] = []
  const theirs: BittorrentDHT[] = []
  const theirPuts: Array<{ node: number; key: string }> = []

  before(async () => {
    const first = new DHT({ host: '127.0.0.1', port: 0, bootstrap: [] })
    ours.push(first)
    const seed = await first.listen()
    for (let i = 1; i < 2 * HALF; i++) {
      if (i % 2 === 0) {
        const d = new DHT({ host: '127.0.0.1', port: 0, bootstrap: [seed] })
        ours.push(d)
        await d.listen()
        await d.bootstrapped()
      } else {
        const t = new BittorrentDHT({ bootstrap: [`${seed.host}:${seed.port}`], verify })
        t.on('warning', () => {})
        t.on('error', () => {})
        const index = theirs.length
        t.on('put', (key: Buffer) => theirPuts.push({ node: index, key: key.toString('hex') }))
        theirs.push(t)
        const ready = new Promise<void>((r) => t.once('ready', () => r()))
        await new Promise<void>((r) => t.listen(0, '127.0.0.1', r))
        await ready
      }
    }
    // Let both kinds learn of each other beyond the seed (our bucket refreshes, their lookups).
    await Promise.all(ours.map((d) => d.findNode(d.id)))
  })
  after(async () => {
    await Promise.all(ours.map((d) => d.destroy()))
    await Promise.all(theirs.map((t) => new Promise<void>((r) => t.destroy(() => r()))))
  })

  const theirGet = (t: BittorrentDHT, target: Uint8Array, salt?: string) =>
    new Promise<{ v: Buffer; seq?: number; k?: Buffer } | null>((resolve, reject) =>
      t.get(Buffer.from(target), { cache: false, ...(salt ? { salt: Buffer.from(salt) } : {}) }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    )
  const theirPut = (t: BittorrentDHT, opts: Parameters<BittorrentDHT['put']>[0]) =>
    new Promise<{ hash: Buffer; n: number }>((resolve, reject) =>
      t.put(opts, (err, hash, n) => (err ? reject(err) : resolve({ hash, n: n ?? 0 }))),
    )
  const storedBy = (key: Uint8Array) => theirPuts.filter((p) => p.key === Buffer.from(key).toString('hex')).length

  it('an immutable item we put is stored by bittorrent-dht nodes and read by one', async () => {
    const r = await ours[1].putImmutable('from mainline to bittorrent-dht', { republish: false })
    assert.ok(r.stored > 0)
    assert.deepEqual(r.target, immutableTargetOf(encode('from mainline to bittorrent-dht')))
    assert.ok(storedBy(r.target) > 0, 'bittorrent-dht nodes accepted our put (token, value)')
    const got = await theirGet(theirs[2], r.target)
    assert.equal(got?.v.toString(), 'from mainline to bittorrent-dht')
  })

  it('an immutable item bittorrent-dht puts is stored by our nodes and read by one', async () => {
    const { hash, n } = await theirPut(theirs[1], { v: Buffer.from('from bittorrent-dht to mainline') })
    assert.ok(n > 0)
    const target = new Uint8Array(hash)
    assert.ok(
      (await holders(
        ours.map((d) => d.address()),
        target,
      )) > 0,
      'our nodes accepted its put',
    )
    const got = await ours[3].getImmutable(target)
    assert.equal(text(got.value), 'from bittorrent-dht to mainline')
    assert.equal(got.discarded, 0)
  })

  it('a mutable item (salt) we put is verified, stored and read by bittorrent-dht, with its seq', async () => {
    const kp = generateKeypair(new Uint8Array(32).fill(0x44))
    const r = await ours[2].putMutable({ keypair: kp, value: 'signed by mainline', salt: 'greeting', seq: 5 })
    assert.equal(r.seq, 5n)
    const target = mutableTargetOf(kp.publicKey, new TextEncoder().encode('greeting'))
    assert.deepEqual(r.target, target)
    assert.ok(storedBy(target) > 0, 'bittorrent-dht nodes accepted our signature')
    const got = await theirGet(theirs[3], target, 'greeting')
    assert.equal(got?.v.toString(), 'signed by mainline')
    assert.equal(got?.seq, 5)
    assert.ok(got?.k && bytesEqual(new Uint8Array(got.k), kp.publicKey))
  })

  it('a mutable item (salt) bittorrent-dht puts is verified, stored and read by our nodes; we update it', async () => {
    const kp = generateKeypair(new Uint8Array(32).fill(0x55))
    const sign = (buf: Buffer) => Buffer.from(kp.sign(buf) as Uint8Array)
    const salt = Buffer.from('profile')
    const { hash } = await theirPut(theirs[4], {
      k: Buffer.from(kp.publicKey),
      v: Buffer.from('v3'),
      salt,
      seq: 3,
      sign,
    })
    const target = new Uint8Array(hash)
    assert.deepEqual(target, mutableTargetOf(kp.publicKey, salt))
    assert.ok(
      (await holders(
        ours.map((d) => d.address()),
        target,
      )) > 0,
      'our nodes accepted its signature',
    )
    const got = await ours[4].getMutable(kp.publicKey, { salt: 'profile' })
    assert.equal(got.item?.seq, 3n)
    assert.equal(text(got.item?.value), 'v3')
    // Our update: seq one more than the newest found; bittorrent-dht then reads the new value.
    const up = await ours[5].putMutable({ keypair: kp, value: 'v4', salt: 'profile', republish: false })
    assert.equal(up.seq, 4n)
    const after = await theirGet(theirs[5], target, 'profile')
    assert.equal(after?.v.toString(), 'v4')
    assert.equal(after?.seq, 4)
  })
})
