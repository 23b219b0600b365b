// Chapter "magnet": on a local DHT testnet Alice serves a torrent's metadata; Bob is given only its magnet link
// and fetches the info dictionary from her (found through the DHT, BEP 9 pieces), checked against the infohash.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesEqual, toHex } from '../../codec/bytes.js'
import { formatMagnet } from '../../codec/magnet.js'
import { SwarmNode } from '../../swarm/node.js'
import { createTorrent } from '../../torrent/create.js'
import { infoHashV1 } from '../../torrent/hash.js'
import type { Chapter, ChapterContext } from './chapter.js'
import { startTestnet } from './testnet.js'

/** A small photo album: enough files that the info dictionary spans several 16 KiB metadata pieces. */
function writeAlbum(dir: string): string {
  const root = join(dir, 'holiday photos')
  for (let day = 1; day <= 10; day++) mkdirSync(join(root, `day ${day}`), { recursive: true })
  for (let i = 0; i < 400; i++) {
    const data = new Uint8Array(1000 + ((i * 7919) % 4000))
    for (let j = 0; j < data.length; j++) data[j] = (i * 31 + j * 7) & 0xff
    writeFileSync(join(root, `day ${1 + (i % 10)}`, `IMG_${1000 + i}.jpg`), data)
  }
  return root
}

async function run({ out, signal, nodes }: ChapterContext): Promise<boolean> {
  const size = Math.min(nodes, 30)
  out.progress(`starting ${size} DHT nodes on 127.0.0.1…`)
  const net = await startTestnet({ size, signal })
  const dir = mkdtempSync(join(tmpdir(), 'mainline-demo-magnet-'))
  const peers: SwarmNode[] = []
  try {
    const made = await createTorrent(writeAlbum(dir), { version: 'hybrid', pieceLength: 16384 })
    const ih = made.infoHashes.v1 as Uint8Array
    const opts = { host: '127.0.0.1', dht: { bootstrap: [net.seed] }, swarm: { autoDial: false } }
    const alice = new SwarmNode(opts)
    const bob = new SwarmNode(opts)
    peers.push(alice, bob)
    const aliceAt = await alice.listen()
    await bob.listen()
    await Promise.all([alice.dht?.bootstrapped(), bob.dht?.bootstrapped()])
    alice.add(made.metainfo)
    const stored = await alice.announce(ih, { signal })
    const info = made.metainfo.info
    out.event(
      'serving',
      { infoHash: toHex(ih), by: aliceAt, metadataSize: info.bytes.length, files: info.files.length, stored },
      `On a DHT of ${size} nodes, Alice (${aliceAt.host}:${aliceAt.port}) makes a torrent of ${info.files.length} photos\n` +
        `(an info dictionary of ${info.bytes.length} bytes: ${Math.ceil(info.bytes.length / 16384)} metadata pieces of 16 KiB),\n` +
        `serves its metadata and announces infohash ${toHex(ih).slice(0, 12)}… (${stored} nodes store her address).`,
    )

    const link = formatMagnet({ infoHash: ih, name: info.name })
    let pieces = 0
    bob.on('metadata:piece', () => pieces++)
    const r = await bob.metadata(link, { signal })
    // Bob checks for himself: the SHA-1 of the bytes he was sent is the infohash in the link.
    const verified = bytesEqual(infoHashV1(r.info), ih) && bytesEqual(r.info, info.bytes)
    const from = r.from.map((p) => `${p.host}:${p.port}`)
    out.event(
      'metadata',
      {
        magnet: link,
        infoHash: toHex(r.infoHash),
        name: r.metainfo.info.name,
        files: r.metainfo.info.files.length,
        bytes: r.info.length,
        pieces,
        from: r.from,
        ms: Math.round(r.elapsedMs),
        verified,
      },
      `\nBob is given only the magnet link\n  ${link}\n` +
        `He looks the infohash up on the DHT, connects to ${from.join(', ')} and asks for the info dictionary\n` +
        `piece by piece (BEP 9): ${pieces} pieces, ${r.info.length} bytes in ${Math.round(r.elapsedMs)} ms.\n` +
        `  → SHA-1 of what he got = the link's infohash: ${verified ? 'verified' : 'MISMATCH'}. ` +
        `"${r.metainfo.info.name}", ${r.metainfo.info.files.length} files — he can now write the .torrent.`,
    )
    return verified
  } finally {
    for (const p of peers) await p.close()
    await net.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

export const magnetChapter: Chapter = {
  name: 'magnet',
  title: 'A magnet link: fetch a torrent’s metadata from a peer found through the DHT, verified',
  run,
}
