// Magnet → verified metadata: the time from asking to holding the checked info dictionary of a ~1 MiB info
// dictionary (BEP 9, 64 pieces of 16 KiB), served by 1 and by 5 libtorrent 2.0.8 seeders on 127.0.0.1 given as
// x.pe (no DHT: the exchange itself is measured). Ours (`node.metadata`, a fresh listening SwarmNode per run) against
// libtorrent's own magnet fetch (its Python bindings: a fresh session per run, add_torrent → metadata_received_alert)
// from the same seeders on the same machine. Median of RUNS runs each, interleaved.
// Run under `flock /tmp/mainline-lab.lock` (libtorrent processes, a shared machine).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode } from '../src/codec/bencode.js'
import { concatBytes, fromLatin1, toHex } from '../src/codec/bytes.js'
import { formatMagnet } from '../src/codec/magnet.js'
import type { Endpoint } from '../src/net/types.js'
import { SwarmNode } from '../src/swarm/node.js'
import { infoHashV1 } from '../src/torrent/hash.js'
import { LtMagnet, libtorrentSkip } from '../test/interop/lt-magnet.js'
import { note } from './record.js'
import { report } from './report.js'

const RUNS = Number(process.env.METADATA_BENCH_RUNS ?? 7)
const PIECES = 52_000 // 20-byte v1 piece hashes: a 1,040,000-byte pieces string

/**
 * A v1 torrent of an 812 MiB file in 16 KiB pieces. Its piece hashes are random (no data exists): the seeders
 * only serve its metadata, which is all a magnet fetch needs.
 */
function bigTorrent(): { file: Uint8Array; info: Uint8Array } {
  const pieces = new Uint8Array(PIECES * 20)
  for (let i = 0; i < pieces.length; i += 65536) crypto.getRandomValues(pieces.subarray(i, i + 65536))
  const info = encode({ length: PIECES * 16384, name: 'metadata-bench.bin', 'piece length': 16384, pieces })
  // A .torrent holding only its info dictionary, the bytes as they are.
  const file = concatBytes([fromLatin1('d4:info'), info, fromLatin1('e')])
  return { file, info }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function ours(ih: Uint8Array, peers: Endpoint[], info: Uint8Array): Promise<number> {
  const node = new SwarmNode({ host: '127.0.0.1', dht: false, swarm: { autoDial: false } })
  try {
    await node.listen()
    const t0 = performance.now()
    const r = await node.metadata(ih, { peers, dht: false, signal: AbortSignal.timeout(60_000) })
    const ms = performance.now() - t0
    if (r.info.length !== info.length) throw new Error('wrong metadata')
    return ms
  } finally {
    await node.close()
  }
}

export async function run(): Promise<void> {
  const skip = libtorrentSkip()
  if (skip) {
    console.log(`skipped: ${skip}`)
    return
  }
  note(
    `load average at start (1, 5, 15 min): ${loadavg()
      .map((x) => x.toFixed(1))
      .join(', ')}`,
  )
  const dir = mkdtempSync(join(tmpdir(), 'mainline-bench-metadata-'))
  const lt = LtMagnet.spawn()
  try {
    const { file, info } = bigTorrent()
    const ih = infoHashV1(info)
    const path = join(dir, 'bench.torrent')
    writeFileSync(path, file)
    note(
      `info dictionary ${info.length} B (${Math.ceil(info.length / 16384)} BEP 9 pieces): a v1 torrent of ${PIECES} pieces of 16 KiB; seeders are libtorrent 2.0.8 sessions (uTP and TCP on) with the .torrent and no data, given to both fetchers as x.pe peers, no DHT; ${RUNS} runs each, interleaved, median`,
    )
    const seeders: Endpoint[] = []
    for (let i = 0; i < 5; i++) {
      const s = await lt.seed(`seed${i}`, path, { savePath: join(dir, `s${i}`) })
      if (s.v1 !== toHex(ih)) throw new Error(`libtorrent read infohash ${s.v1}, we ${toHex(ih)}`)
      seeders.push({ host: '127.0.0.1', port: s.port })
    }
    const rows = []
    let n = 0
    for (const count of [1, 5]) {
      const peers = seeders.slice(0, count)
      const magnet = formatMagnet({ infoHash: ih, peers })
      const a: number[] = []
      const b: number[] = []
      for (let i = 0; i < RUNS; i++) {
        a.push(await ours(ih, peers, info))
        const got = await lt.fetch(`fetch${n}`, magnet, { ms: 60_000 })
        lt.stop(`fetch${n++}`)
        if (got.size !== info.length) throw new Error(`libtorrent got ${got.size} B`)
        b.push(got.elapsed_ms)
      }
      note(
        `${count} seeder(s): ours ${a.map((x) => x.toFixed(0)).join(' ')} ms; libtorrent ${b.map((x) => x.toFixed(0)).join(' ')} ms`,
      )
      rows.push({ key: `metadata.1MiB.${count}_peer${count > 1 ? 's' : ''}.ms`, ours: median(a), anchor: median(b) })
    }
    report('magnet → verified metadata (1 MiB info dictionary), ms, median', 'libtorrent', rows)
  } finally {
    await lt.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
