// BEP 9 end to end on net/sim: SwarmNodes that serve a torrent's info dictionary (`node.add(metainfo)`) and one that
// fetches it knowing only the infohash (`node.metadata`), verified against the infohash; corrupt and refusing
// peers among the servers are dropped and never asked again.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { toHex } from '../../src/codec/bytes.js'
import { formatMagnet } from '../../src/codec/magnet.js'
import { METADATA_PIECE_SIZE } from '../../src/codec/ut-metadata.js'
import { DHT } from '../../src/dht/dht.js'
import { simIPv4 } from '../../src/net/sim/addresses.js'
import { MetadataError } from '../../src/swarm/metadata.js'
import { infoHashV2 } from '../../src/torrent/hash.js'
import { at, bigInfo, infoHashV1, metainfoOf, recordMetadata, simWorld } from '../helpers/metadata-sim.js'

describe('node.metadata on net/sim', { timeout: 60_000 }, () => {
  it('fetches 1 MiB of metadata from one peer, verifies it, and then serves it itself', async () => {
    const w = simWorld(1)
    const stop = w.clock.autoAdvance()
    try {
      const info = bigInfo(1 << 20)
      const ih = infoHashV1(info)
      const seed = w.node('198.51.100.1')
      const client = w.node('198.51.100.2')
      const third = w.node('198.51.100.3')
      for (const n of [seed, client, third]) await n.listen()
      seed.add(metainfoOf(info))
      const rec = recordMetadata(client)
      const r = await client.metadata(toHex(ih), { peers: [at('198.51.100.1')] })
      assert.deepEqual(r.info, info)
      assert.deepEqual(r.infoHash, ih)
      assert.equal(r.metainfo.info.name, 'big-1.bin')
      assert.deepEqual(r.from, [at('198.51.100.1')])
      assert.equal(rec.pieces.get('198.51.100.1'), Math.ceil(info.length / METADATA_PIECE_SIZE))
      assert.deepEqual(rec.dropped(), [])
      assert.deepEqual(client.metainfo(ih)?.info.bytes, info)
      // The client serves what it fetched: with the seed gone, a third node gets it from the client.
      await seed.close()
      const r3 = await third.metadata(ih, { peers: [at('198.51.100.2')] })
      assert.deepEqual(r3.info, info)
      assert.deepEqual(r3.from, [at('198.51.100.2')])
    } finally {
      stop()
      await w.close()
    }
  })

  it('1 MiB from 5 peers, 2 corrupt and 1 refusing: the result verifies, the corrupt ones are dropped', async () => {
    const w = simWorld(2)
    const stop = w.clock.autoAdvance()
    try {
      const info = bigInfo(1 << 20)
      const ih = infoHashV1(info)
      const hosts = [1, 2, 3, 4, 5].map((i) => `198.51.100.${i}`)
      const [good1, good2, bad1, bad2, refusing] = hosts
      const servers = hosts.map((h) =>
        w.node(h, h === refusing ? { swarm: { connection: { metadata: { burst: 0, piecesPerSecond: 0 } } } } : {}),
      )
      const client = w.node('203.0.113.9')
      for (const n of [...servers, client]) await n.listen()
      servers.forEach((n, i) => {
        if (hosts[i] === bad1 || hosts[i] === bad2) {
          // Same size, every piece wrong in one byte (a different byte for each corrupt peer).
          const copy = info.slice()
          for (let p = 0; p < copy.length; p += METADATA_PIECE_SIZE) copy[p + 100 + i] ^= 0xff
          n.add(ih).setMetadata(copy)
        } else {
          n.add(metainfoOf(info))
        }
      })
      // Requests the fetcher sent to a peer after dropping it.
      const dropped = new Set<string>()
      const askedAfterDrop = new Map<string, number>()
      const rec = recordMetadata(client)
      client.on('metadata:dropped', (e) => dropped.add(e.peer.host))
      client.on('connected', (c) => {
        const request = c.utMetadata.request.bind(c.utMetadata)
        c.utMetadata.request = (piece) => {
          const h = c.remote.host
          if (dropped.has(h)) askedAfterDrop.set(h, (askedAfterDrop.get(h) ?? 0) + 1)
          return request(piece)
        }
      })
      const r = await client.metadata(ih, { peers: hosts.map(at) })
      assert.deepEqual(r.info, info)
      assert.deepEqual(rec.dropped('corrupt'), [bad1, bad2].sort())
      assert.deepEqual(rec.dropped('rejected'), [refusing])
      assert.deepEqual(r.from.map((e) => e.host).sort(), [good1, good2].sort())
      assert.ok(rec.events.includes('verify_failed'), 'the first whole failed and second opinions were asked')
      assert.deepEqual([...askedAfterDrop], [], 'a dropped peer is never asked again')
      // The corrupt peers are disconnected; the refusing one merely is not asked.
      await new Promise<void>((res) => w.clock.setTimeout(res, 1000))
      const connected = client
        .get(ih)!
        .connections.map((c) => c.remote.host)
        .sort()
      assert.deepEqual(connected, [good1, good2, refusing].sort())
    } finally {
      stop()
      await w.close()
    }
  })

  it('finds the peers through the DHT from a magnet link, and reports them as such', async () => {
    const w = simWorld(4)
    const stop = w.clock.autoAdvance()
    const dhts: DHT[] = []
    try {
      const seedAt = { host: simIPv4(0), port: 6881 }
      for (let i = 0; i < 30; i++) {
        const d = new DHT({
          socket: w.net.bind(simIPv4(i), 6881),
          clock: w.clock,
          random: w.random.fork(),
          bootstrap: i === 0 ? [] : [seedAt],
        })
        dhts.push(d)
        await d.listen()
        await d.bootstrapped()
      }
      const info = bigInfo(200_000)
      const ih = infoHashV1(info)
      const dht = { bootstrap: [seedAt] }
      const seeds = ['198.51.100.1', '198.51.100.2'].map((h) => w.node(h, { dht }))
      const client = w.node('203.0.113.9', { dht })
      for (const n of [...seeds, client]) {
        await n.listen()
        await n.dht!.bootstrapped()
      }
      for (const s of seeds) {
        s.add(metainfoOf(info))
        await s.announce(ih)
      }
      const found: string[] = []
      client.on('metadata:peer', (e) => found.push(`${e.peer.host} ${e.source}`))
      const r = await client.metadata(formatMagnet({ infoHash: ih, trackers: ['udp://tracker.example:1337'] }))
      assert.deepEqual(r.info, info)
      assert.ok(found.includes('198.51.100.1 dht') && found.includes('198.51.100.2 dht'), found.join(', '))
      assert.deepEqual(r.metainfo.announceList, [['udp://tracker.example:1337']])
    } finally {
      stop()
      await w.close()
      for (const d of dhts) await d.destroy()
    }
  })

  it('a v2 torrent by its 32-byte infohash (SHA-256 checked), and two calls at once share one fetch', async () => {
    const w = simWorld(8)
    const stop = w.clock.autoAdvance()
    try {
      const file = readFileSync(new URL('../fixtures/lt-multi-v2.torrent', import.meta.url))
      const seed = w.node('198.51.100.1')
      const client = w.node('203.0.113.9')
      await seed.listen()
      await client.listen()
      const swarm = seed.add(new Uint8Array(file))
      const info = swarm.metadata!
      const v2 = infoHashV2(info)
      assert.deepEqual(swarm.infoHash, v2.subarray(0, 20), 'a v2 swarm runs under the truncated SHA-256')
      let connected = 0
      client.on('metadata:connected', () => connected++)
      const [r1, r2] = await Promise.all([
        client.metadata(v2, { peers: [at('198.51.100.1')] }),
        client.metadata(Buffer.from(v2).toString('hex'), { peers: [at('198.51.100.1')] }),
      ])
      assert.deepEqual(r1.info, info)
      assert.deepEqual(r1.infoHash, v2)
      assert.equal(r1.metainfo.info.version, 'v2')
      assert.deepEqual(r2.info, info)
      assert.equal(connected, 1, 'one fetch, one connection')
    } finally {
      stop()
      await w.close()
    }
  })
  it('a private torrent (BEP 27) is not served: no metadata_size, requests rejected, the fetch fails', async () => {
    // libtorrent leaves ut_metadata out for private torrents: their info must spread only through the tracker.
    const w = simWorld(9)
    const stop = w.clock.autoAdvance()
    try {
      const info = encode({ length: 1, name: 'p.bin', 'piece length': 16384, pieces: new Uint8Array(20), private: 1 })
      const ih = infoHashV1(info)
      const seed = w.node('198.51.100.1')
      const client = w.node('198.51.100.2')
      for (const n of [seed, client]) await n.listen()
      seed.add(metainfoOf(info))
      assert.equal(seed.metainfo(ih)?.info.private, true)
      const ac = new AbortController()
      w.clock.setTimeout(() => ac.abort(), 30_000)
      const err = await client.metadata(ih, { peers: [at('198.51.100.1')], signal: ac.signal }).then(
        () => undefined,
        (e: unknown) => e,
      )
      assert.ok(err instanceof MetadataError && ['NOT_FOUND', 'ABORTED'].includes(err.code), String(err))
      const c = seed.get(ih)?.connections[0]
      assert.equal(c?.utMetadata.localSize, undefined, 'no metadata_size advertised')
      assert.equal(c?.utMetadata.stats.served, 0)
    } finally {
      stop()
      await w.close()
    }
  })
})
