// Runs the real CLI (`mainline torrent info|create`) as a child process and checks its output contract.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseMetainfo } from '../../src/codec/index.js'
import { writeFixtureData } from '../helpers/torrent-data.js'
import { runCli } from './cli-run.js'

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
const LT = JSON.parse(readFileSync(fixture('lt-torrents.json'), 'utf8')) as Record<string, { v1?: string; v2?: string }>

describe('mainline torrent', () => {
  let dir = ''
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mainline-cli-torrent-'))
    writeFixtureData(dir)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it("info --json prints one torrent event with libtorrent's infohashes", async () => {
    const r = await runCli(['torrent', 'info', fixture('lt-multi-hybrid.torrent'), '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.events.length, 1)
    const ev = r.events[0]
    assert.equal(ev.event, 'torrent')
    assert.equal(ev.version, 'hybrid')
    assert.equal(ev.totalSize, 110005)
    assert.equal(ev.infoHashV1, LT['lt-multi-hybrid.torrent'].v1)
    assert.equal(ev.infoHashV2, LT['lt-multi-hybrid.torrent'].v2)
    assert.deepEqual(ev.files, [
      { path: 'a.txt', length: 40000 },
      { path: 'c.txt', length: 5 },
      { path: 'sub/b.bin', length: 70000 },
    ])
  })

  it('create --v2 writes a torrent with the same infohash as libtorrent made', async () => {
    const out = join(dir, 'm.torrent')
    const r = await runCli([
      'torrent',
      'create',
      join(dir, 'multi'),
      '--v2',
      '--piece-length',
      '32768',
      '-o',
      out,
      '--json',
    ])
    assert.equal(r.code, 0, r.stderr)
    const done = r.events.at(-1)
    assert.equal(done?.event, 'created')
    assert.equal(done?.infoHashV2, LT['lt-multi-v2.torrent'].v2)
    assert.ok(r.events.some((e) => e.event === 'progress' && e.bytesHashed === 110005))
    assert.equal(parseMetainfo(new Uint8Array(readFileSync(out))).info.version, 'v2')
  })

  it('usage errors exit 2, bad files exit 1 with the codec code', async () => {
    const both = await runCli(['torrent', 'create', dir, '--v1', '--v2'])
    assert.equal(both.code, 2)
    assert.match(both.stderr, /at most one of --v1, --v2, --hybrid/)
    const pl = await runCli(['torrent', 'create', dir, '--piece-length', '1000'])
    assert.equal(pl.code, 2)
    const bad = join(dir, 'bad.torrent')
    writeFileSync(bad, 'd4:infod4:name1:xee')
    const r = await runCli(['torrent', 'info', bad])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^mainline: torrent: .*\[(BAD_VALUE|MISSING_KEY)\]\n$/)
  })
})
