// Hostile BEP 9 peers on net/sim, beside one honest seed: a 4 GiB metadata_size, pieces out of range, pieces of
// the wrong size, silence. Each is bounded, reported (`metadata:dropped` with its reason) and dropped; the fetch
// still verifies. And the serving side: a flood of requests meets the rate limit, then a closed connection.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { METADATA_PIECE_SIZE, metadataPieceLength } from '../../src/codec/ut-metadata.js'
import { MetadataError } from '../../src/swarm/metadata.js'
import { PeerConnection } from '../../src/wire/peer-connection.js'
import { METADATA_EXTENSION } from '../../src/wire/ut-metadata.js'
import { hostilePeer, rawData } from '../helpers/metadata-hostile.js'
import { at, bigInfo, infoHashV1, metainfoOf, recordMetadata, simWorld } from '../helpers/metadata-sim.js'

describe('node.metadata against hostile peers', { timeout: 60_000 }, () => {
  it('drops a 4 GiB size, out-of-range and wrong-size pieces and a silent peer; verifies from the honest one', async () => {
    const w = simWorld(5)
    const stop = w.clock.autoAdvance()
    try {
      const info = bigInfo(300_000)
      const ih = infoHashV1(info)
      const size = info.length
      const seed = w.node('198.51.100.1')
      const client = w.node('203.0.113.9')
      await seed.listen()
      await client.listen()
      const peers = {
        huge: await hostilePeer(w.net, w.clock, '198.51.100.11', {
          infoHash: ih,
          size: 4 * 2 ** 30,
          id: 11,
          script: (p) => [rawData(p, 4 * 2 ** 30, new Uint8Array(METADATA_PIECE_SIZE))],
        }),
        range: await hostilePeer(w.net, w.clock, '198.51.100.12', {
          infoHash: ih,
          size,
          id: 12,
          script: (_p, s) => [rawData(10_000, s, new Uint8Array(METADATA_PIECE_SIZE))],
        }),
        short: await hostilePeer(w.net, w.clock, '198.51.100.13', {
          infoHash: ih,
          size,
          id: 13,
          script: (p, s) => [rawData(p, s, new Uint8Array(metadataPieceLength(s, p) - 1))],
        }),
        silent: await hostilePeer(w.net, w.clock, '198.51.100.14', { infoHash: ih, size, id: 14, script: () => [] }),
      }
      const rec = recordMetadata(client)
      const hostile = ['198.51.100.11', '198.51.100.12', '198.51.100.13', '198.51.100.14']
      // The honest seed comes only once every hostile peer has been dealt with (it dials the fetcher).
      let drops = 0
      client.on('metadata:dropped', () => {
        if (++drops === 4) seed.connect(ih, at('203.0.113.9')).catch(() => {})
      })
      seed.add(metainfoOf(info))
      const r = await client.metadata(ih, { peers: hostile.map(at), requestTimeout: 5000 })
      assert.deepEqual(r.info, info)
      assert.deepEqual(r.from, [at('198.51.100.1')])
      const reasons = rec.events.filter((e) => e.startsWith('dropped')).sort()
      assert.deepEqual(reasons, [
        'dropped 198.51.100.11 too_large',
        'dropped 198.51.100.12 invalid',
        'dropped 198.51.100.13 invalid',
        'dropped 198.51.100.14 timeout',
      ])
      assert.equal(peers.huge.requests, 0, 'a peer announcing 4 GiB is never asked')
      // Each bad answerer was asked at most one round of requests before it was dropped.
      for (const p of [peers.range, peers.short, peers.silent]) assert.ok(p.requests <= 8, `${p.requests} requests`)
      await new Promise<void>((res) => w.clock.setTimeout(res, 1000))
      for (const p of Object.values(peers)) {
        assert.ok(
          p.connections.every((c) => c.isClosed),
          'every hostile peer is disconnected',
        )
        await p.server.close()
      }
    } finally {
      stop()
      await w.close()
    }
  })

  it('fails with TOO_LARGE when the only peers announce absurd sizes, NOT_FOUND with none, ABORTED on the signal', async () => {
    const w = simWorld(6)
    const stop = w.clock.autoAdvance()
    try {
      const ih = new Uint8Array(20).fill(7)
      const client = w.node('203.0.113.9')
      await client.listen()
      const huge = await hostilePeer(w.net, w.clock, '198.51.100.11', {
        infoHash: ih,
        size: 4 * 2 ** 30,
        id: 11,
        script: () => [],
      })
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'ok',
          (e: unknown) => (e instanceof MetadataError ? e.code : String(e)),
        )
      assert.equal(await code(client.metadata(ih, { peers: [at('198.51.100.11')] })), 'TOO_LARGE')
      assert.equal(client.get(ih), undefined, 'a swarm joined only for the failed fetch is left')
      assert.equal(await code(client.metadata(ih, { peers: [at('198.51.100.99')] })), 'NOT_FOUND')
      const ac = new AbortController()
      w.clock.setTimeout(() => ac.abort(), 100)
      assert.equal(await code(client.metadata(ih, { peers: [at('198.51.100.99')], signal: ac.signal })), 'ABORTED')
      assert.equal(await code(client.metadata('nonsense')), 'BAD_TARGET')
      // Closing the node ends a fetch in progress.
      const pending = code(client.metadata(ih, { peers: [at('198.51.100.99')] }))
      await client.close()
      assert.equal(await pending, 'CLOSED')
      assert.equal(await code(client.metadata(ih)), 'CLOSED')
      await huge.server.close()
    } finally {
      stop()
      await w.close()
    }
  })

  it('a flood of requests meets the rate limit (rejects past the bucket), then the connection is closed', async () => {
    const w = simWorld(7)
    const stop = w.clock.autoAdvance()
    try {
      const info = bigInfo(1 << 20)
      const ih = infoHashV1(info)
      const seed = w.node('198.51.100.1')
      await seed.listen()
      seed.add(metainfoOf(info))
      const socket = await w.net.tcp('203.0.113.5').connect({ host: '198.51.100.1', port: 6881 })
      const conn = new PeerConnection({
        stream: socket,
        transport: 'tcp',
        direction: 'outgoing',
        remote: { host: '198.51.100.1', port: 6881 },
        peerId: new Uint8Array(20).fill(5),
        infoHash: ih,
        clock: w.clock,
      })
      // The seed's answers, counted at the seed.
      const answers: Record<string, number> = {}
      seed.on('connected', (c) =>
        c.utMetadata.on('request', (_p, a) => {
          answers[a] = (answers[a] ?? 0) + 1
        }),
      )
      await new Promise<void>((res) => conn.once('extended_handshake', () => res()))
      assert.equal(conn.remoteExtended?.metadataSize, info.length)
      const closed = new Promise<string>((res) => conn.once('close', (r) => res(r.code)))
      // 3000 requests at once, far past the bucket (128) and the flood limit (1024 rejects in 10 s).
      for (let i = 0; i < 3000 && conn.isOpen; i++)
        conn.sendExtended(METADATA_EXTENSION, encode({ msg_type: 0, piece: i % 64 }))
      assert.match(await closed, /^STREAM_(ENDED|ERROR)$/)
      assert.ok(answers.served >= 128 && answers.served <= 130, `${answers.served} pieces served: the bucket holds`)
      // The 1025th reject is the one that closes: it is not reported as answered.
      assert.equal(answers.rate_limited, 1024, 'rejected past the bucket until the flood limit closed it')
      const serverSide = seed.get(ih)!
      assert.equal(serverSide.connections.length, 0)
      assert.equal(serverSide.stats.closed.METADATA_FLOOD, 1)
    } finally {
      stop()
      await w.close()
    }
  })
})
