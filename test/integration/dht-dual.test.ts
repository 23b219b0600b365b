// BEP 32 dual stack over real UDP: nodes listening on 127.0.0.1 and ::1 (family 'dual'). Skipped with a reason when
// this host has no IPv6 loopback.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DHT } from '../../src/dht/index.js'
import { ipv6LoopbackSkip } from '../helpers/ipv6.js'

const noV6 = await ipv6LoopbackSkip()

async function until(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('dual stack on 127.0.0.1 + ::1', { timeout: 30_000 }, () => {
  it('binds both, learns IPv6 nodes via nodes6 and finds peers of both families', {
    skip: noV6,
  }, async () => {
    const opts = { family: 'dual' as const, host: '127.0.0.1', host6: '::1' }
    const a = new DHT({ ...opts, bootstrap: [] })
    const nodes = [a]
    try {
      await a.listen()
      const [a4, a6] = a.addresses()
      assert.equal(a4.host, '127.0.0.1')
      assert.equal(a6.host, '::1')
      assert.equal(a6.port, a4.port, 'same port on both families')
      // c bootstraps over both families, b over IPv4 only: b learns c's IPv6 address from a's nodes6.
      const c = new DHT({ ...opts, bootstrap: [`127.0.0.1:${a4.port}`, `[::1]:${a6.port}`] })
      nodes.push(c)
      await c.bootstrapped()
      await until(() => a.stats().nodes.v6 >= 1, 5000)
      const b = new DHT({ ...opts, bootstrap: [`127.0.0.1:${a4.port}`] })
      nodes.push(b)
      await b.bootstrapped()
      await until(() => b.stats().nodes.v6 >= 1, 5000)
      assert.ok(b.nodes().some((n) => n.host === '::1'))

      const ih = new Uint8Array(20).fill(0x5a)
      const ann = await c.announce(ih, { port: 4321 })
      assert.ok(ann.nodes >= 2, `announce reached ${ann.nodes}`)
      const res = await b.lookup(ih)
      const hosts = res.peers.filter((p) => p.port === 4321).map((p) => p.host)
      assert.ok(hosts.includes('127.0.0.1') && hosts.includes('::1'), JSON.stringify(res.peers))
    } finally {
      await Promise.all(nodes.map((n) => n.destroy()))
    }
  })
})
