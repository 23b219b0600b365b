import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DHT } from '../../src/dht/index.js'

const INFO_HASH = new Uint8Array(20).fill(0x5e)

describe('DHT lookups right after listen()', { timeout: 30_000 }, () => {
  it('a lookup started before the bootstrap list is resolved still starts from it and finds the peer', async () => {
    const boot = new DHT({ host: '127.0.0.1', bootstrap: [] })
    const bootAt = await boot.listen()
    const announcer = new DHT({ host: '127.0.0.1', bootstrap: [bootAt] })
    const seeker = new DHT({ host: '127.0.0.1', bootstrap: [`127.0.0.1:${bootAt.port}`] })
    const second = new DHT({ host: '127.0.0.1', bootstrap: [bootAt] })
    try {
      await announcer.listen()
      await announcer.bootstrapped()
      const { nodes } = await announcer.announce(INFO_HASH, { port: 7001 })
      assert.ok(nodes >= 1, 'stored somewhere')
      await seeker.listen()
      // No bootstrapped() here: an application asks at once.
      const res = await seeker.lookup(INFO_HASH)
      assert.ok(
        res.peers.some((p) => p.port === 7001),
        `found the announced peer: ${JSON.stringify(res.peers)}`,
      )
      // The same for the streaming form.
      await second.listen()
      const streamed: number[] = []
      for await (const p of second.getPeers(INFO_HASH)) streamed.push(p.port)
      assert.ok(streamed.includes(7001), `getPeers streamed the peer: ${JSON.stringify(streamed)}`)
    } finally {
      await Promise.all([boot.destroy(), announcer.destroy(), seeker.destroy(), second.destroy()])
    }
  })
})
