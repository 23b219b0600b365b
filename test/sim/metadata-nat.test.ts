// BEP 9 through NATs on net/sim: the only peer with the metadata sits behind a NAT; the fetcher learns it from a
// relay's PEX (the relay has no metadata), cannot dial it directly, and gets the metadata over a hole punch.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { at, bigInfo, infoHashV1, metainfoOf, recordMetadata, simWorld } from '../helpers/metadata-sim.js'

describe('node.metadata through a NAT', { timeout: 60_000 }, () => {
  it('a peer behind a NAT serves metadata through a hole punch', async () => {
    const w = simWorld(3, 20)
    const stop = w.clock.autoAdvance()
    try {
      const info = bigInfo(100_000)
      const ih = infoHashV1(info)
      const natA = w.net.addNat({ publicIp: '198.51.100.1', type: 'port-preserving' })
      const natB = w.net.addNat({ publicIp: '203.0.113.1', type: 'port-preserving' })
      const relay = w.node('198.51.100.10')
      const a = w.make(natA.bind('192.0.2.2', 6881), natA.tcp('192.0.2.2'))
      const b = w.make(natB.bind('192.0.2.2', 6881), natB.tcp('192.0.2.2'))
      for (const n of [relay, a, b]) await n.listen()
      relay.add(ih)
      b.add(metainfoOf(info))
      await b.connect(ih, at('198.51.100.10'))
      const rec = recordMetadata(a)
      const sources: string[] = []
      a.on('metadata:peer', (e) => sources.push(`${e.peer.host} ${e.source}`))
      const r = await a.metadata(ih, { peers: [at('198.51.100.10')] })
      assert.deepEqual(r.info, info)
      assert.deepEqual(
        r.from.map((e) => e.host),
        ['203.0.113.1'],
      )
      assert.ok(sources.includes('203.0.113.1 pex'), `B found through PEX: ${sources}`)
      assert.ok(rec.events.includes('connected 203.0.113.1 holepunch'), rec.events.join(', '))
      assert.deepEqual(rec.dropped(), [], 'the relay (no metadata) is not asked, so not dropped')
    } finally {
      stop()
      await w.close()
    }
  })
})
