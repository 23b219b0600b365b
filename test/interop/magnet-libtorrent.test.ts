// Magnet links with libtorrent 2.0.8 (its Python bindings, test/interop/lt_magnet.py), both ways, on 127.0.0.1:
// we fetch metadata (BEP 9) from a libtorrent seeder over TCP and over uTP, found through the DHT and through the
// link's x.pe; libtorrent, given only a magnet link whose x.pe is our `mainline peer serve --torrent`, fetches the
// metadata from us and its metadata_received_alert names the same infohash; `mainline magnet` writes a .torrent
// libtorrent's seeder made the metadata of.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { toHex } from '../../src/codec/bytes.js'
import { formatMagnet } from '../../src/codec/magnet.js'
import { parseMetainfo } from '../../src/codec/metainfo.js'
import { DHT } from '../../src/dht/index.js'
import type { Endpoint } from '../../src/net/types.js'
import { SwarmNode } from '../../src/swarm/node.js'
import { createTorrent } from '../../src/torrent/index.js'
import { writeFixtureData } from '../helpers/torrent-data.js'
import { runCli } from '../integration/cli-run.js'
import { poll } from './libtorrent.js'
import { LtMagnet, type LtTransport, libtorrentSkip } from './lt-magnet.js'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const LOOP = '127.0.0.1'

describe('magnet links with libtorrent 2.0.8', { skip: libtorrentSkip(), timeout: 240_000 }, () => {
  let dir = ''
  let torrentFile = ''
  let info: Uint8Array
  let ih: Uint8Array
  let lt: LtMagnet
  let boot: DHT
  let bootAt: Endpoint
  const nodes: SwarmNode[] = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mainline-lt-magnet-'))
    writeFixtureData(dir)
    // A hybrid multi-file torrent in 16 KiB pieces: its info dictionary spans more than one BEP 9 piece.
    const r = await createTorrent(join(dir, 'multi'), { pieceLength: 16384, version: 'hybrid' })
    torrentFile = join(dir, 'multi.torrent')
    writeFileSync(torrentFile, r.torrent)
    info = r.metainfo.info.bytes
    ih = r.infoHashes.v1 as Uint8Array
    lt = LtMagnet.spawn()
    boot = new DHT({ host: LOOP, port: 0, bootstrap: [] })
    bootAt = await boot.listen()
  })
  after(async () => {
    for (const n of nodes) await n.close()
    await lt?.close()
    await boot?.destroy()
    rmSync(dir, { recursive: true, force: true })
  })

  async function ourNode(dht: boolean): Promise<SwarmNode> {
    const node = new SwarmNode({ host: LOOP, dht: dht ? { bootstrap: [bootAt] } : false, swarm: { autoDial: false } })
    nodes.push(node)
    await node.listen()
    return node
  }

  const transports: LtTransport[] = ['tcp', 'utp']
  for (const transport of transports) {
    it(`we fetch the metadata from a libtorrent seeder over ${transport}, found through x.pe`, async () => {
      const seeder = await lt.seed(`xpe-${transport}`, torrentFile, { savePath: dir, transport, recheck: true })
      assert.equal(seeder.seeding, true, 'libtorrent checked the data and seeds it')
      assert.equal(seeder.v1, toHex(ih))
      const node = await ourNode(false)
      const connected: string[] = []
      node.on('metadata:connected', (e) => connected.push(e.transport))
      const r = await node.metadata(ih, { peers: [{ host: LOOP, port: seeder.port }], dht: false })
      assert.deepEqual(r.info, info, 'the exact info dictionary')
      assert.deepEqual(r.infoHash, ih)
      assert.deepEqual(
        r.from.map((p) => p.port),
        [seeder.port],
      )
      assert.ok(connected.includes(transport), `connected over ${transport}: ${connected}`)
      lt.stop(`xpe-${transport}`)
    })

    it(`we fetch the metadata from a libtorrent seeder over ${transport}, found through the DHT`, async () => {
      const name = `dht-${transport}`
      const seeder = await lt.seed(name, torrentFile, { savePath: dir, transport, dht: [bootAt], recheck: true })
      const node = await ourNode(true)
      await node.dht?.bootstrapped()
      // libtorrent's announce lands on our bootstrap node when its own DHT is up: wait until a lookup sees it.
      const found = await poll(
        async () => {
          const { peers } = await (node.dht as NonNullable<SwarmNode['dht']>).lookup(ih)
          if (peers.some((p) => p.port === seeder.port)) return peers
          lt.announce(name)
          return null
        },
        60_000,
        1000,
      )
      assert.ok(found, `the DHT lists libtorrent's seeder (port ${seeder.port})`)
      const sources: string[] = []
      node.on('metadata:peer', (e) => e.peer.port === seeder.port && sources.push(e.source))
      const r = await node.metadata(toHex(ih))
      assert.deepEqual(r.info, info)
      assert.ok(sources.includes('dht'), `the seeder came from the DHT: ${sources}`)
      lt.stop(name)
    })
  }

  async function serveCli(): Promise<{ child: ChildProcess; port: number }> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'peer', 'serve', '--host', LOOP, '--torrent', torrentFile, '--json', '--timeout', '60'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child.stderr?.resume()
    const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('peer serve did not listen')), 30_000)
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
        const e = l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : undefined
        if (e?.event === 'listening') {
          clearTimeout(t)
          resolve(e)
        }
      })
    })
    assert.equal(listening.infoHash, toHex(ih))
    return { child, port: listening.port as number }
  }

  for (const transport of transports) {
    it(`libtorrent, given only a magnet with x.pe, fetches the metadata from our peer serve --torrent (${transport})`, async () => {
      const { child, port } = await serveCli()
      try {
        const magnet = formatMagnet({ infoHash: ih, peers: [{ host: LOOP, port }], trackers: [], webSeeds: [] })
        const got = await lt.fetch(`from-us-${transport}`, magnet, { transport, ms: 60_000 })
        assert.equal(got.v1, toHex(ih), 'metadata_received_alert names our infohash')
        assert.equal(got.size, info.length)
        assert.equal(got.name_in_info, 'multi')
      } finally {
        child.kill('SIGTERM')
      }
    })
  }

  it('mainline magnet writes the .torrent of a libtorrent seeder given by x.pe', async () => {
    const seeder = await lt.seed('cli', torrentFile, { savePath: dir, recheck: true })
    const out = join(dir, 'fetched.torrent')
    const tracker = 'udp://tracker.example:6969/announce'
    const link = formatMagnet({ infoHash: ih, peers: [{ host: LOOP, port: seeder.port }], trackers: [tracker] })
    const r = await runCli(
      ['magnet', link, '--bootstrap', 'none', '--host', LOOP, '-o', out, '--timeout', '30', '--json'],
      60_000,
    )
    assert.equal(r.code, 0, r.stderr)
    const done = r.events.find((e) => e.event === 'done')
    assert.equal(done?.infoHashV1, toHex(ih), r.stdout)
    const m = parseMetainfo(new Uint8Array(readFileSync(out)))
    assert.deepEqual(m.info.bytes, info)
    assert.equal(m.announce, tracker)
    lt.stop('cli')
  })
})
