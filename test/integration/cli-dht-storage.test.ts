// `mainline dht put|get|keygen|sample|crawl|scrape` against a small in-process testnet on 127.0.0.1 (real UDP).
// Every command is given --bootstrap explicitly: tests never touch the public routers.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startTestnet, type Testnet } from '../../src/cli/demo/testnet.js'
import { encode } from '../../src/codec/bencode.js'
import { fromHex, toHex } from '../../src/codec/bytes.js'
import { generateKeypair, immutableTargetOf } from '../../src/dht/bep44-crypto.js'
import { runCli } from './cli-run.js'

const hex = (s: string): Uint8Array => fromHex(s) ?? assert.fail(`bad hex ${s}`)
const IH_SEED = 'aa11223344556677889900aabbccddeeff001122'
const IH_PEER = 'bb11223344556677889900aabbccddeeff001122'

describe('mainline dht put/get/keygen/sample/crawl/scrape (CLI)', { timeout: 240_000 }, () => {
  let net: Testnet
  let boot: string[]
  let dir: string

  before(async () => {
    net = await startTestnet({ size: 8 })
    boot = ['--host', '127.0.0.1', '--bootstrap', `${net.seed.host}:${net.seed.port}`, '--timeout', '20']
    dir = await mkdtemp(join(tmpdir(), 'mainline-cli-storage-'))
    // Two seeds and a downloader for one torrent, one downloader for another: for scrape, sample and crawl.
    for (const [i, ih, seed] of [
      [2, IH_SEED, true],
      [3, IH_SEED, true],
      [4, IH_SEED, false],
      [5, IH_PEER, false],
    ] as const) {
      const r = await net.nodes[i].announce(hex(ih), { impliedPort: true, seed })
      assert.ok(r.nodes > 0, 'the testnet stored the announce')
    }
  })
  after(async () => {
    await net?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('keygen --out writes a 0600 JSON key file and never replaces one', async () => {
    const file = join(dir, 'key.json')
    const r = await runCli(['dht', 'keygen', '--out', file, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    const key = JSON.parse(await readFile(file, 'utf8')) as { type: string; seed: string; publicKey: string }
    assert.equal(key.type, 'ed25519')
    assert.equal(key.publicKey, toHex(generateKeypair(hex(key.seed)).publicKey), 'the public key is the seed’s')
    assert.deepEqual(r.events, [{ event: 'keygen', publicKey: key.publicKey, file }])
    const again = await runCli(['dht', 'keygen', '--out', file])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /exists/)
    assert.equal(JSON.parse(await readFile(file, 'utf8')).seed, key.seed, 'the first key is kept')
  })

  it('put stores an immutable string, get prints it back, and a testnet node reads it too', async () => {
    const put = await runCli(['dht', 'put', 'hello from the CLI', ...boot, '--json'])
    assert.equal(put.code, 0, put.stderr)
    const ev = put.events.find((e) => e.event === 'put')!
    assert.equal(ev.target, toHex(immutableTargetOf(encode('hello from the CLI'))))
    assert.ok((ev.stored as number) > 0, put.stdout)
    const got = await runCli(['dht', 'get', ev.target as string, ...boot, '--json'])
    assert.equal(got.code, 0, got.stderr)
    assert.deepEqual(got.events, [
      {
        event: 'item',
        target: ev.target,
        format: 'text',
        value: 'hello from the CLI',
        v: toHex(encode('hello from the CLI')),
      },
    ])
    const human = await runCli(['dht', 'get', ev.target as string, ...boot])
    assert.equal(human.stdout, 'hello from the CLI\n')
    const r = await net.nodes[6].getImmutable(hex(ev.target as string))
    assert.equal(new TextDecoder().decode(r.value as Uint8Array), 'hello from the CLI')
  })

  it('values: --hex bytes come back as hex, --raw bencoding as bencoding', async () => {
    const bin = await runCli(['dht', 'put', '00ff10', '--hex', ...boot, '--json'])
    assert.equal(bin.code, 0, bin.stderr)
    const t1 = bin.events.find((e) => e.event === 'put')!.target as string
    const g1 = await runCli(['dht', 'get', t1, ...boot, '--json'])
    assert.equal(g1.events[0].format, 'hex')
    assert.equal(g1.events[0].value, '00ff10')
    const raw = await runCli(['dht', 'put', 'd1:ali1ei2ee1:b1:ce', '--raw', ...boot, '--json'])
    assert.equal(raw.code, 0, raw.stderr)
    const t2 = raw.events.find((e) => e.event === 'put')!.target as string
    assert.equal(t2, toHex(immutableTargetOf(new TextEncoder().encode('d1:ali1ei2ee1:b1:ce'))))
    const g2 = await runCli(['dht', 'get', t2, ...boot, '--json'])
    assert.equal(g2.events[0].format, 'bencode')
    assert.equal(g2.events[0].value, 'd1:ali1ei2ee1:b1:ce')
    // Not canonical (unsorted keys): refused before any node starts.
    const bad = await runCli(['dht', 'put', 'd1:bi1e1:ai2ee', '--raw', ...boot])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /not canonical bencode/)
  })

  it('put --mutable signs under the key and salt; updates raise seq; get returns the newest', async () => {
    const file = join(dir, 'mutable.json')
    assert.equal((await runCli(['dht', 'keygen', '--out', file])).code, 0)
    const pub = JSON.parse(await readFile(file, 'utf8')).publicKey as string
    const m = ['--mutable', '--key', file, '--salt', 'profile']
    const first = await runCli(['dht', 'put', 'version one', ...m, ...boot, '--json'])
    assert.equal(first.code, 0, first.stderr)
    const p1 = first.events.find((e) => e.event === 'put')!
    assert.equal(p1.publicKey, pub)
    assert.equal(p1.salt, 'profile')
    assert.equal(p1.seq, 0)
    const second = await runCli(['dht', 'put', 'version two', ...m, ...boot, '--json'])
    assert.equal(second.code, 0, second.stderr)
    assert.equal(second.events.find((e) => e.event === 'put')!.seq, 1, 'one more than the newest found')
    const got = await runCli(['dht', 'get', pub, '--salt', 'profile', ...boot, '--json'])
    assert.equal(got.code, 0, got.stderr)
    const item = got.events[0]
    assert.equal(item.event, 'item')
    assert.equal(item.value, 'version two')
    assert.equal(item.seq, 1)
    assert.equal(item.target, p1.target)
    assert.equal((item.sig as string).length, 128)
    // Another salt is another item: none there.
    const none = await runCli(['dht', 'get', pub, '--salt', 'other', ...boot, '--json'])
    assert.equal(none.code, 1)
    assert.equal(none.events[0].event, 'not_found')
    // A put with an older seq than the stored one fails.
    const stale = await runCli(['dht', 'put', 'old', ...m, '--seq', '0', ...boot])
    assert.equal(stale.code, 1, stale.stdout)
  })

  it('a world-readable key file works with a warning; a bad one is a usage error', async () => {
    const file = join(dir, 'open.json')
    const kp = generateKeypair(new Uint8Array(32).fill(9))
    await writeFile(file, JSON.stringify({ type: 'ed25519', seed: toHex(kp.seed) }), { mode: 0o644 })
    const r = await runCli(['dht', 'put', 'x', '--mutable', '--key', file, ...boot, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /can be read by other users/)
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify({ type: 'ed25519', seed: toHex(kp.seed), publicKey: '00'.repeat(32) }))
    const b = await runCli(['dht', 'put', 'x', '--mutable', '--key', bad, ...boot])
    assert.equal(b.code, 2)
    assert.match(b.stderr, /not the seed's public key/)
    const noKey = await runCli(['dht', 'put', 'x', '--mutable', ...boot])
    assert.equal(noKey.code, 2)
  })

  it('get of a target nobody stored exits 1 with not_found', async () => {
    const r = await runCli(['dht', 'get', '00'.repeat(20), ...boot, '--json'])
    assert.equal(r.code, 1)
    assert.deepEqual(r.events, [{ event: 'not_found', target: '00'.repeat(20), discarded: 0 }])
  })

  it('sample asks one node for its infohashes', async () => {
    // Some node stores IH_PEER: find one that does.
    const holder = net.nodes.find((n) => n.stats().infoHashesStored > 0)!
    const at = holder.address()
    const r = await runCli(['dht', 'sample', `${at.host}:${at.port}`, '--host', '127.0.0.1', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const sampled = r.events.at(-1)!
    assert.equal(sampled.event, 'sampled')
    assert.equal(sampled.id, toHex(holder.id))
    assert.equal(sampled.num, holder.stats().infoHashesStored)
    const ihs = r.events.filter((e) => e.event === 'infohash').map((e) => e.infoHash)
    assert.equal(ihs.length, sampled.samples)
    assert.ok(ihs.length > 0 && ihs.every((ih) => ih === IH_SEED || ih === IH_PEER), r.stdout)
  })

  it('crawl finds both announced infohashes; --limit stops it early', async () => {
    const r = await runCli(['dht', 'crawl', ...boot, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const ihs = r.events.filter((e) => e.event === 'infohash').map((e) => e.infoHash)
    assert.deepEqual([...ihs].sort(), [IH_SEED, IH_PEER].sort(), 'each once')
    assert.equal(r.events.at(-1)!.event, 'done')
    assert.equal(r.events.at(-1)!.infoHashes, 2)
    const one = await runCli(['dht', 'crawl', '--limit', '1', ...boot, '--json'])
    assert.equal(one.code, 0, one.stderr)
    assert.equal(one.events.filter((e) => e.event === 'infohash').length, 1)
  })

  it('scrape estimates seeds and downloaders', async () => {
    const r = await runCli(['dht', 'scrape', IH_SEED, ...boot, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const ev = r.events[0]
    assert.equal(ev.event, 'scrape')
    assert.ok((ev.nodes as number) > 0)
    // Three announcers on one IP (127.0.0.1): BEP 33 counts IPs, and an IP that seeds counts as a seed only.
    assert.equal(ev.seeds, 1)
    assert.equal(ev.peers, 0)
  })
})
