// Metainfo codec and hashing against real .torrent files made by libtorrent 2.0.8 (test/fixtures/lt-*.torrent,
// made by test/interop/lt_torrent.py from the data `writeFixtureData` writes): byte-exact round trips, the same
// infohashes and files as libtorrent read, and `createTorrent` producing the same info dictionary.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { fromLatin1 } from '../../src/codec/bytes.js'
import {
  CodecError,
  encode,
  encodeMetainfo,
  MetainfoError,
  parseInfo,
  parseMetainfo,
  toHex,
} from '../../src/codec/index.js'
import { badPieceLayers, createTorrent, infoHashes, pieceLayerMatches } from '../../src/torrent/index.js'
import { writeFixtureData } from '../helpers/torrent-data.js'

const FIXTURES = join(import.meta.dirname, '../fixtures')
interface LtInfo {
  name: string
  total_size: number
  piece_length: number
  num_pieces: number
  files: { path: string; size: number; pad: boolean }[]
  v1?: string
  v2?: string
}
const LT = JSON.parse(readFileSync(join(FIXTURES, 'lt-torrents.json'), 'utf8')) as Record<string, LtInfo>
const NAMES = Object.keys(LT)

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)))
}

function code(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    assert.ok(e instanceof CodecError, String(e))
    return e.code
  }
  assert.fail('did not throw')
}

describe('metainfo: libtorrent-made files', () => {
  for (const name of NAMES) {
    it(`${name}: encodes back byte for byte, same infohashes and files as libtorrent`, () => {
      const bytes = fixture(name)
      const m = parseMetainfo(bytes)
      const lt = LT[name]
      assert.deepEqual(encodeMetainfo(m), bytes)
      const h = infoHashes(m.info)
      assert.equal(h.v1 && toHex(h.v1), lt.v1)
      assert.equal(h.v2 && toHex(h.v2), lt.v2)
      assert.equal(m.info.version, lt.v1 && lt.v2 ? 'hybrid' : lt.v2 ? 'v2' : 'v1')
      assert.equal(m.info.name, lt.name)
      assert.equal(m.info.pieceLength, lt.piece_length)
      const prefix = m.info.multiFile ? `${lt.name}/` : ''
      const ltFiles = lt.files.filter((f) => !f.pad).map((f) => [f.path, f.size])
      assert.deepEqual(
        m.info.files.map((f) => [prefix + f.path.join('/'), f.length]),
        ltFiles,
      )
      if (m.info.pieces) assert.equal(m.info.pieces.length / 20, lt.num_pieces)
      assert.equal(m.announce, 'http://tracker.example/announce')
      assert.deepEqual(badPieceLayers(m), [])
    })
  }

  it('reads v2 file offsets aligned to pieces and hybrid pad files', () => {
    const m = parseMetainfo(fixture('lt-multi-hybrid.torrent'))
    assert.deepEqual(
      m.info.files.map((f) => f.offset),
      [0, 65536, 98304],
    )
    assert.deepEqual(
      m.info.v1Files?.filter((f) => f.attr === 'p').map((f) => f.length),
      [25536, 32763, 28304],
    )
    assert.deepEqual(m.announceList, [['http://tracker.example/announce'], ['udp://tracker2.example:6969']])
  })

  it('a changed piece layer no longer matches its root', () => {
    const m = parseMetainfo(fixture('lt-single-v2.torrent'))
    const [root, layer] = [...(m.pieceLayers ?? [])][0]
    assert.ok(pieceLayerMatches(layer, m.info.files[0].piecesRoot as Uint8Array, m.info.pieceLength))
    assert.equal(toHex(m.info.files[0].piecesRoot as Uint8Array), root)
    const bad = layer.slice()
    bad[5] ^= 1
    m.pieceLayers?.set(root, bad)
    assert.deepEqual(badPieceLayers(m), ['single.bin'])
  })
})

describe('metainfo: malformed input', () => {
  const info = (extra: Record<string, unknown>) =>
    encode({ info: { name: 'x', 'piece length': 16384, pieces: new Uint8Array(20), length: 10, ...extra } as never })

  it('rejects each broken field with a code', () => {
    assert.equal(parseMetainfo(info({})).info.totalLength, 10)
    assert.equal(
      code(() => parseMetainfo(encode({ announce: 'x' }))),
      'MISSING_KEY',
    )
    assert.equal(
      code(() => parseMetainfo(encode([1]))),
      'BAD_TYPE',
    )
    assert.equal(
      code(() => parseMetainfo(info({ pieces: new Uint8Array(19) }))),
      'BAD_LENGTH',
    )
    assert.equal(
      code(() => parseMetainfo(info({ pieces: new Uint8Array(40) }))),
      'BAD_LENGTH',
    ) // 2 hashes, 1 piece
    assert.equal(
      code(() => parseMetainfo(info({ 'piece length': 0 }))),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMetainfo(info({ length: -1 }))),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMetainfo(info({ name: '..' }))),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMetainfo(info({ 'meta version': 3 }))),
      'BAD_VALUE',
    )
    const files = (path: string[]) => info({ length: undefined, files: [{ length: 10, path }] })
    assert.equal(parseMetainfo(files(['a', 'b'])).info.files[0].path.join('/'), 'a/b')
    assert.equal(
      code(() => parseMetainfo(files(['a', '..', 'b']))),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMetainfo(files(['a/b']))),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMetainfo(files([]))),
      'BAD_TYPE',
    )
    const v2 = (tree: unknown, pl = 16384) =>
      encode({ info: { name: 'x', 'piece length': pl, 'meta version': 2, 'file tree': tree } as never })
    const leaf = { '': { length: 5, 'pieces root': new Uint8Array(32) } }
    assert.equal(parseMetainfo(v2({ a: leaf })).info.version, 'v2')
    assert.equal(
      code(() => parseMetainfo(v2({ a: leaf }, 1000))),
      'BAD_VALUE',
    ) // not a power of two
    assert.equal(
      code(() => parseMetainfo(v2({ a: { '': { length: 5 } } }))),
      'BAD_LENGTH',
    ) // no pieces root
    assert.equal(
      code(() => parseMetainfo(v2({ '..': leaf }))),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMetainfo(v2(leaf))),
      'BAD_VALUE',
    ) // the root is a file
    assert.equal(
      code(() => parseMetainfo(v2({ a: { ...leaf, b: leaf } }))),
      'BAD_VALUE',
    )
    assert.equal(
      code(() => parseMetainfo(v2({}))),
      'MISSING_KEY',
    )
  })

  it('enforces the size, file-count and depth limits', () => {
    const big = fixture('lt-multi-v2.torrent')
    assert.equal(
      code(() => parseMetainfo(big, { maxBytes: big.length - 1 })),
      'LENGTH_OVERFLOW',
    )
    assert.equal(
      code(() => parseMetainfo(big, { maxFiles: 2 })),
      'TOO_MANY_ITEMS',
    )
    assert.equal(
      code(() => parseMetainfo(big, { maxDepth: 4 })),
      'TOO_DEEP',
    )
  })

  it('a missing or wrong piece layer is an error', () => {
    const m = parseMetainfo(fixture('lt-single-v2.torrent'))
    const [root, layer] = [...(m.pieceLayers ?? [])][0]
    m.pieceLayers?.set(root, layer.subarray(32))
    assert.equal(
      code(() => parseMetainfo(encodeMetainfo(m))),
      'BAD_LENGTH',
    )
    m.pieceLayers?.clear()
    assert.equal(
      code(() => parseMetainfo(encodeMetainfo(m))),
      'MISSING_KEY',
    )
  })

  it('keeps the info bytes as found even when not canonical (the infohash is over them)', () => {
    // `i010e`-style sloppiness inside info: lenient decode, the span kept verbatim.
    const raw = fromLatin1(
      'd4:infod6:lengthi10e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaa3:zzzi01eee',
    )
    const m = parseMetainfo(raw)
    assert.deepEqual(m.info.bytes, raw.subarray(7, raw.length - 1))
    assert.deepEqual(encodeMetainfo(m), raw)
  })

  it('fails only with MetainfoError/CodecError on mutated files (fuzz)', () => {
    const files = NAMES.map(fixture)
    fc.assert(
      fc.property(
        fc.constantFrom(...files),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (f, edits, cut) => {
          const b = f.slice(0, f.length - (cut % 3 === 0 ? cut % f.length : 0))
          for (const [at, x] of edits) b[at % b.length] = x
          try {
            const m = parseMetainfo(b)
            parseInfo(m.info.bytes)
          } catch (e) {
            assert.ok(e instanceof CodecError, String(e))
          }
        },
      ),
      { numRuns: 3000 },
    )
    assert.ok(new MetainfoError('BAD_VALUE', 'x') instanceof CodecError)
  })
})

describe('createTorrent', () => {
  let dir = ''
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mainline-torrent-'))
    writeFixtureData(dir)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const cases = [
    ['single.bin', 16384, 'v1', 'lt-single-v1.torrent'],
    ['single.bin', 16384, 'v2', 'lt-single-v2.torrent'],
    ['single.bin', 16384, 'hybrid', 'lt-single-hybrid.torrent'],
    ['multi', 32768, 'v2', 'lt-multi-v2.torrent'],
    ['multi', 32768, 'hybrid', 'lt-multi-hybrid.torrent'],
  ] as const
  for (const [src, pieceLength, version, lt] of cases) {
    it(`${src} ${version}: the same info dictionary (and infohashes) as libtorrent made`, async () => {
      const progress: number[] = []
      const r = await createTorrent(join(dir, src), {
        pieceLength,
        version,
        trackers: ['http://tracker.example/announce'],
        creationDate: null,
        onProgress: (p) => progress.push(p.bytesHashed),
      })
      const ref = parseMetainfo(fixture(lt))
      assert.deepEqual(r.metainfo.info.bytes, ref.info.bytes)
      assert.deepEqual(r.metainfo.pieceLayers, ref.pieceLayers)
      assert.equal(r.infoHashes.v1 && toHex(r.infoHashes.v1), LT[lt].v1)
      assert.equal(r.infoHashes.v2 && toHex(r.infoHashes.v2), LT[lt].v2)
      assert.equal(progress.at(-1), r.metainfo.info.totalLength)
      assert.deepEqual(parseMetainfo(r.torrent), r.metainfo)
    })
  }

  it('multi-file v1: the same piece hashes as libtorrent for the same file order', async () => {
    // libtorrent's v1-only file order is the directory's, ours is sorted (the v2 order), so the infohashes differ;
    // the first piece (a.txt's first 32 KiB) must hash the same.
    const r = await createTorrent(join(dir, 'multi'), { pieceLength: 32768, version: 'v1', creationDate: null })
    assert.deepEqual(
      r.metainfo.info.files.map((f) => f.path.join('/')),
      ['a.txt', 'c.txt', 'sub/b.bin'],
    )
    const hybrid = parseMetainfo(fixture('lt-multi-hybrid.torrent'))
    assert.deepEqual(r.metainfo.info.pieces?.subarray(0, 20), hybrid.info.pieces?.subarray(0, 20))
  })

  it('rejects a bad piece length and an empty directory', async () => {
    await assert.rejects(createTorrent(join(dir, 'single.bin'), { pieceLength: 20000 }), { code: 'BAD_PIECE_LENGTH' })
    mkdirSync(join(dir, 'empty'))
    await assert.rejects(createTorrent(join(dir, 'empty')), { code: 'NO_FILES' })
  })
})
