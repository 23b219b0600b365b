// Magnet → verified metadata: the time from asking to holding the checked info dictionary of a ~1 MiB info
// dictionary (BEP 9, 64 pieces of 16 KiB), served by 1 and by 5 libtorrent 2.0.8 seeders on 127.0.0.1, then by 1
// and 5 of our nodes, given as x.pe (no DHT: the exchange itself is measured). Ours (`node.metadata`, a fresh listening SwarmNode per run) against
// libtorrent's own magnet fetch (its Python bindings: a fresh session per run, add_torrent → metadata_received_alert)
// from the same seeders on the same machine. Median of RUNS runs each, interleaved. A second table starts the
// clock at the first peer connection (our `metadata:connected`, libtorrent's first peer_connect_alert), leaving
// out how soon each client dials a peer it was given. Each case starts with one untimed run per side (noted).
// Run under `flock /tmp/mainline-lab.lock` (libtorrent processes, a shared machine).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode } from '../src/codec/bencode.js'
import { concatBytes, fromLatin1, toHex } from '../src/codec/bytes.js'
import { formatMagnet } from '../src/codec/magnet.js'
import { parseMetainfo } from '../src/codec/metainfo.js'
import type { Endpoint } from '../src/net/types.js'
import { SwarmNode } from '../src/swarm/node.js'
import { infoHashV1 } from '../src/torrent/hash.js'
import { LtMagnet, libtorrentSkip } from '../test/interop/lt-magnet.js'
import { note } from './record.js'
import { report } from './report.js'

const RUNS = Number(process.env.METADATA_BENCH_RUNS ?? 7)
const WARMUP = Math.max(1, Number(process.env.METADATA_BENCH_WARMUP ?? 5))
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

interface Timing {
  /** From the call (or add_torrent) to the verified metadata. */
  total: number
  /** From the first peer connection to the verified metadata: the BEP 9 exchange itself. */
  exchange: number
}

async function ours(ih: Uint8Array, peers: Endpoint[], info: Uint8Array): Promise<Timing> {
  const node = new SwarmNode({ host: '127.0.0.1', dht: false, swarm: { autoDial: false } })
  let connected: number | undefined
  node.on('metadata:connected', () => {
    connected ??= performance.now()
  })
  try {
    await node.listen()
    const t0 = performance.now()
    const r = await node.metadata(ih, { peers, dht: false, signal: AbortSignal.timeout(60_000) })
    const t1 = performance.now()
    if (r.info.length !== info.length) throw new Error('wrong metadata')
    return { total: t1 - t0, exchange: t1 - (connected ?? t0) }
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
      `info dictionary ${info.length} B (${Math.ceil(info.length / 16384)} BEP 9 pieces): a v1 torrent of ${PIECES} pieces of 16 KiB; seeders are libtorrent 2.0.8 sessions (uTP and TCP on) with the .torrent and no data, then our SwarmNodes (node.add), given to both fetchers as x.pe peers, no DHT; ${RUNS} runs each, interleaved, median, after ${WARMUP} untimed runs of ours and 1 of libtorrent per case`,
    )
    const ltSeeders: Endpoint[] = []
    for (let i = 0; i < 5; i++) {
      const s = await lt.seed(`seed${i}`, path, { savePath: join(dir, `s${i}`) })
      if (s.v1 !== toHex(ih)) throw new Error(`libtorrent read infohash ${s.v1}, we ${toHex(ih)}`)
      ltSeeders.push({ host: '127.0.0.1', port: s.port })
    }
    // The same metadata served by our nodes (node.add): libtorrent fetching from us is the other half of interop.
    const ourSeeders: SwarmNode[] = []
    try {
      for (let i = 0; i < 5; i++) {
        const node = new SwarmNode({ host: '127.0.0.1', dht: false, swarm: { autoDial: false } })
        ourSeeders.push(node)
        await node.listen()
        node.add(parseMetainfo(file))
      }
      const ourAt = ourSeeders.map((s) => s.address as Endpoint)
      let n = 0
      for (const [who, seeders] of [
        ['libtorrent', ltSeeders],
        ['mainline', ourAt],
      ] as const) {
        const rows = []
        const exchange = []
        for (const count of [1, 5]) {
          const peers = seeders.slice(0, count)
          const magnet = formatMagnet({ infoHash: ih, peers })
          const a: Timing[] = []
          const b: Timing[] = []
          // Untimed runs first: ours is JIT-compiled JavaScript, and its first fetches in a process also compile and
          // optimise the code paths (a long-running app or indexer pays that once): WARMUP of ours, one of
          // libtorrent's (native code: it warms only caches). The first one's time is noted, not counted.
          const cold = await ours(ih, peers, info)
          for (let i = 1; i < WARMUP; i++) await ours(ih, peers, info)
          const warm = await lt.fetch(`fetch${n}`, magnet, { ms: 60_000 })
          lt.stop(`fetch${n++}`)
          note(
            `${count} ${who} seeder(s), first of ${WARMUP} untimed runs, ms total (from the first connection): ours ${cold.total.toFixed(0)} (${cold.exchange.toFixed(0)}); libtorrent ${warm.elapsed_ms.toFixed(0)}`,
          )
          for (let i = 0; i < RUNS; i++) {
            a.push(await ours(ih, peers, info))
            const got = await lt.fetch(`fetch${n}`, magnet, { ms: 60_000 })
            lt.stop(`fetch${n++}`)
            if (got.size !== info.length) throw new Error(`libtorrent got ${got.size} B`)
            b.push({ total: got.elapsed_ms, exchange: got.elapsed_ms - (got.connected_ms ?? 0) })
          }
          const show = (xs: Timing[]) => xs.map((x) => `${x.total.toFixed(0)} (${x.exchange.toFixed(0)})`).join(' ')
          note(
            `${count} ${who} seeder(s), ms total (from the first connection): ours ${show(a)}; libtorrent ${show(b)}`,
          )
          const key = `metadata.1MiB.${who}_seeders.${count}_peer${count > 1 ? 's' : ''}`
          rows.push({ key: `${key}.ms`, ours: median(a.map((x) => x.total)), anchor: median(b.map((x) => x.total)) })
          exchange.push({
            key: `${key}.from_connect.ms`,
            ours: median(a.map((x) => x.exchange)),
            anchor: median(b.map((x) => x.exchange)),
          })
        }
        report(`magnet → verified metadata, ${who} seeders, ms, median`, 'libtorrent', rows)
        report(`first connection → verified metadata, ${who} seeders, ms, median`, 'libtorrent', exchange)
      }
    } finally {
      for (const s of ourSeeders) await s.close()
    }
  } finally {
    await lt.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
