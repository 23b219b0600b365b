// `mainline magnet` and `mainline peer serve --torrent` as child processes on 127.0.0.1: a link's x.pe, a local
// DHT, the .torrent written (its info dictionary exact, the link's trackers as its announce list), the exit codes
// (1 when nothing is found in time or the file exists, 2 for a malformed link) and the one-line reasons.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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
import { runCli } from './cli-run.js'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const LOOP = '127.0.0.1'

describe('mainline magnet', { timeout: 180_000 }, () => {
  let dir = ''
  let torrentFile = ''
  let info: Uint8Array
  let ih: Uint8Array
  let boot: DHT
  let bootAt: Endpoint
  let seeder: SwarmNode
  let seederAt: Endpoint

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mainline-cli-magnet-'))
    writeFixtureData(dir)
    const r = await createTorrent(join(dir, 'multi'), { pieceLength: 16384, version: 'hybrid' })
    torrentFile = join(dir, 'multi.torrent')
    writeFileSync(torrentFile, r.torrent)
    info = r.metainfo.info.bytes
    ih = r.infoHashes.v1 as Uint8Array
    boot = new DHT({ host: LOOP, port: 0, bootstrap: [] })
    bootAt = await boot.listen()
    seeder = new SwarmNode({ host: LOOP, dht: { bootstrap: [bootAt] }, swarm: { autoDial: false } })
    seederAt = await seeder.listen()
    seeder.add(r.metainfo)
  })
  after(async () => {
    await seeder?.close()
    await boot?.destroy()
    rmSync(dir, { recursive: true, force: true })
  })

  it('fetches the metadata from the peer in x.pe and writes the .torrent with the link’s trackers', async () => {
    const out = join(dir, 'xpe.torrent')
    const trackers = ['udp://tracker.example:6969/announce', 'http://t2.example/announce']
    const link = formatMagnet({ infoHash: ih, peers: [seederAt], trackers, webSeeds: ['http://ws.example/f'] })
    const r = await runCli(['magnet', link, '--bootstrap', 'none', '--host', LOOP, '-o', out, '--json'], 60_000)
    assert.equal(r.code, 0, r.stderr)
    const m = parseMetainfo(new Uint8Array(readFileSync(out)))
    assert.deepEqual(m.info.bytes, info, 'the exact info dictionary')
    assert.equal(m.announce, trackers[0])
    assert.deepEqual(m.announceList, [[trackers[0]], [trackers[1]]])
    assert.deepEqual(m.urlList, ['http://ws.example/f'])
    const kinds = r.events.map((e) => e.event)
    for (const k of ['connected', 'piece', 'done']) assert.ok(kinds.includes(k), `a ${k} event: ${kinds}`)
    assert.equal(kinds.at(-1), 'done')
    const done = r.events.at(-1) as Record<string, unknown>
    assert.equal(done.infoHashV1, toHex(ih))
    assert.equal(done.name, 'multi')
    assert.equal(done.metadataSize, info.length)
    assert.deepEqual(done.from, [`${LOOP}:${seederAt.port}`])
    assert.equal(typeof done.elapsedMs, 'number')
  })

  it('finds the peer through the DHT alone; the default file is <name>.torrent and is never overwritten', async () => {
    await seeder.announce(ih)
    const cwd = mkdtempSync(join(dir, 'cwd-'))
    const link = formatMagnet({ infoHash: ih, name: 'multi' })
    const args = ['magnet', link, '--bootstrap', `${LOOP}:${bootAt.port}`, '--host', LOOP, '--timeout', '30']
    const r = await runCliIn(cwd, args)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^wrote multi\.torrent$/m)
    assert.match(r.stdout, /^name +multi$/m)
    assert.match(r.stdout, new RegExp(`^metadata +${info.length} B from 127\\.0\\.0\\.1:${seederAt.port} in `, 'm'))
    assert.deepEqual(parseMetainfo(new Uint8Array(readFileSync(join(cwd, 'multi.torrent')))).info.bytes, info)
    const again = await runCliIn(cwd, args)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /^mainline: magnet: cannot write "multi\.torrent": it exists \(give -o FILE/)
  })

  it('exit 1 with the reason when nothing serves the metadata in time', async () => {
    const nobody = formatMagnet({ infoHash: new Uint8Array(20).fill(7), peers: [{ host: LOOP, port: 9 }] })
    const r = await runCli(['magnet', nobody, '--bootstrap', 'none', '--host', LOOP, '--timeout', '3'], 30_000)
    assert.equal(r.code, 1)
    assert.match(
      r.stderr,
      /^mainline: magnet: no metadata for 0707070707070707070707070707070707070707( within 3 s)?: .*\d+ peers found, \d+ connected, 0 pieces received\n$/,
    )
    assert.equal(r.stdout, '')
  })

  it('exit 2 for a malformed link, at once, one line', async () => {
    for (const bad of ['magnet:?xt=urn:btih:zz', 'http://example.com/', 'magnet:?dn=no-hash']) {
      const r = await runCli(['magnet', bad, '--bootstrap', 'none'], 20_000)
      assert.equal(r.code, 2, bad)
      assert.match(r.stderr, /^mainline: magnet: malformed link: [^\n]+\n$/, bad)
    }
  })

  it('peer serve --torrent serves the metadata to mainline magnet', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'peer', 'serve', '--host', LOOP, '--torrent', torrentFile, '--json', '--timeout', '60'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    try {
      const listening = await firstEvent(child, 'listening')
      assert.equal(listening.infoHash, toHex(ih))
      const out = join(dir, 'from-serve.torrent')
      const link = formatMagnet({ infoHash: ih, peers: [{ host: LOOP, port: listening.port as number }] })
      const r = await runCli(['magnet', link, '--bootstrap', 'none', '--host', LOOP, '-o', out], 60_000)
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(parseMetainfo(new Uint8Array(readFileSync(out))).info.bytes, info)
    } finally {
      child.kill('SIGTERM')
    }
  })

  it('peer serve --torrent: an unreadable file is exit 1 with the reason; with --infohash too, exit 2', async () => {
    const missing = join(dir, 'nope.torrent')
    const r = await runCli(['peer', 'serve', '--torrent', missing, '--host', LOOP], 20_000)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^mainline: peer serve: "[^"]*nope\.torrent": ENOENT/)
    assert.ok(!existsSync(missing))
    const both = await runCli(['peer', 'serve', '--torrent', torrentFile, '--infohash', toHex(ih)], 20_000)
    assert.equal(both.code, 2)
  })
})

function runCliIn(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (code) => {
      clearTimeout(t)
      resolve({ code, stdout, stderr })
    })
  })
}

function firstEvent(child: ChildProcess, name: string): Promise<Record<string, unknown>> {
  child.stderr?.resume()
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${name} event`)), 30_000)
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      const e = l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : undefined
      if (e?.event === name) {
        clearTimeout(t)
        resolve(e)
      }
    })
  })
}
