// .torrent files both ways with libtorrent 2.0.8 (its Python bindings, test/interop/lt_torrent.py): files it makes
// parse and encode back byte for byte with its infohashes; files `createTorrent` makes load in libtorrent with
// our infohashes, and it seeds them (its hash check of the data passes).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { encodeMetainfo, formatMagnet, parseMagnet, parseMetainfo, toHex } from '../../src/codec/index.js'
import { badPieceLayers, createTorrent, infoHashes } from '../../src/torrent/index.js'
import { writeFixtureData } from '../helpers/torrent-data.js'
import { libtorrentSkip, PYTHON } from './lt-available.js'

const run = promisify(execFile)
const SCRIPT = fileURLToPath(new URL('lt_torrent.py', import.meta.url))
const skip = libtorrentSkip()

interface LtOut {
  v1?: string
  v2?: string
  seeding?: boolean
  state?: string
  files?: { path: string; size: number; pad: boolean }[]
}

async function lt(...args: string[]): Promise<LtOut> {
  const { stdout } = await run(PYTHON, [SCRIPT, ...args], { timeout: 90_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as LtOut
}

const VERSIONS = ['v1', 'v2', 'hybrid'] as const

describe('.torrent interop with libtorrent 2.0.8', { skip, timeout: 300_000 }, () => {
  let dir = ''
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mainline-lt-torrent-'))
    writeFixtureData(dir)
    // A larger tree: several piece-layer levels (4 MiB in 64 KiB pieces), an empty file, a UTF-8 name.
    mkdirSync(join(dir, 'big/dir'), { recursive: true })
    const big = new Uint8Array(4 * 1024 * 1024 + 12345)
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24
    writeFileSync(join(dir, 'big/dir/data.bin'), big)
    writeFileSync(join(dir, 'big/empty'), new Uint8Array(0))
    writeFileSync(join(dir, 'big/näme.txt'), 'hello')
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const sources = [
    ['single.bin', 16384],
    ['multi', 32768],
    ['big', 65536],
  ] as const

  for (const [src, pieceLength] of sources) {
    for (const version of VERSIONS) {
      it(`${src} ${version}: libtorrent's file round-trips byte for byte with its infohashes`, async () => {
        const file = join(dir, `lt-${src}-${version}.torrent`)
        const made = await lt('create', join(dir, src), file, version, String(pieceLength), 'http://t.example/a')
        const bytes = new Uint8Array(readFileSync(file))
        const m = parseMetainfo(bytes)
        assert.deepEqual(encodeMetainfo(m), bytes)
        const h = infoHashes(m.info)
        assert.equal(h.v1 && toHex(h.v1), made.v1)
        assert.equal(h.v2 && toHex(h.v2), made.v2)
        assert.deepEqual(badPieceLayers(m), [])
      })

      it(`${src} ${version}: our torrent loads in libtorrent with our infohashes and it seeds it`, async () => {
        const r = await createTorrent(join(dir, src), { pieceLength, version, trackers: ['http://t.example/a'] })
        const file = join(dir, `ours-${src}-${version}.torrent`)
        writeFileSync(file, r.torrent)
        const read = await lt('info', file)
        assert.equal(read.v1, r.infoHashes.v1 && toHex(r.infoHashes.v1))
        assert.equal(read.v2, r.infoHashes.v2 && toHex(r.infoHashes.v2))
        const seeded = await lt('seed', file, dir)
        assert.equal(seeded.seeding, true, `libtorrent state ${seeded.state}`)
      })
    }
  }

  it('magnet links both ways: libtorrent reads ours and we read its own', async () => {
    const file = join(dir, 'lt-multi-hybrid.torrent')
    await lt('create', join(dir, 'multi'), file, 'hybrid', '32768', 'http://t.example/a', 'udp://t2.example:6969')
    const m = parseMetainfo(new Uint8Array(readFileSync(file)))
    const h = infoHashes(m.info)
    const theirs = parseMagnet(((await lt('magnet', file)) as { uri: string }).uri)
    assert.deepEqual(theirs.infoHash, h.v1)
    assert.deepEqual(theirs.infoHashV2, h.v2)
    assert.equal(theirs.name, 'multi')
    assert.deepEqual(theirs.trackers, ['http://t.example/a', 'udp://t2.example:6969'])

    const link = {
      infoHash: h.v1,
      infoHashV2: h.v2,
      name: 'a name & more/é',
      trackers: ['udp://t.example:6969/announce?k=1&x=2'],
      peers: [
        { host: '127.0.0.1', port: 6881 },
        { host: '::1', port: 51413 },
      ],
      select: [[1, 2]] as Array<[number, number]>,
    }
    const read = (await lt('parse-magnet', formatMagnet(link))) as LtOut & {
      name: string
      trackers: string[]
      peers: string[]
      file_priorities: number[]
    }
    assert.equal(read.v1, toHex(h.v1 as Uint8Array))
    assert.equal(read.v2, toHex(h.v2 as Uint8Array))
    assert.equal(read.name, link.name)
    assert.deepEqual(read.trackers, link.trackers)
    assert.deepEqual(read.peers, ['127.0.0.1:6881', '[::1]:51413'])
    assert.deepEqual(read.file_priorities, [0, 4, 4])
  })

  it('the seeding check can fail: one changed byte and libtorrent does not seed', async () => {
    const copy = join(dir, 'corrupt')
    mkdirSync(copy)
    const data = new Uint8Array(readFileSync(join(dir, 'single.bin')))
    writeFileSync(join(copy, 'single.bin'), data)
    const r = await createTorrent(join(copy, 'single.bin'), { pieceLength: 16384, version: 'hybrid' })
    const file = join(dir, 'corrupt.torrent')
    writeFileSync(file, r.torrent)
    data[50000] ^= 0xff
    writeFileSync(join(copy, 'single.bin'), data)
    const seeded = await lt('seed', file, copy)
    assert.equal(seeded.seeding, false, `libtorrent state ${seeded.state}`)
  })
})
