// The DHT's edges, injected: bootstrap names go to the `resolve` it was given (no DNS in a simulated world; IP
// literals never reach it), and listen() binds through `bind` (what it binds it closes on destroy()).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork } from '../../src/net/sim/index.js'
import type { AddressFamily } from '../../src/net/types.js'
import type { UdpBindOptions } from '../../src/net/udp.js'

describe('DHT on net/sim: injected edges', { timeout: 60_000 }, () => {
  it('resolves bootstrap names with the given resolver and bootstraps through them', async () => {
    const net = new SimNetwork({ random: new SeededRandom(11) })
    const clock = net.clock
    const router = new DHT({ socket: net.bind('198.51.100.10', 6881), clock, random: new SeededRandom(1) })
    await clock.settle(router.listen())
    const asked: Array<[string, AddressFamily]> = []
    const names: Record<string, string> = { 'router.sim.example': '198.51.100.10' }
    const warnings: string[] = []
    const a = new DHT({
      socket: net.bind('198.51.100.1', 6881),
      clock,
      random: new SeededRandom(2),
      bootstrap: ['router.sim.example:6881', 'gone.sim.example:6881', '198.51.100.10:6881'],
      resolve: async (host, family) => {
        asked.push([host, family])
        const ip = names[host]
        if (!ip) throw new Error('no such name')
        return ip
      },
    })
    a.on('warning', (e) => warnings.push(e.message))
    try {
      await clock.settle(a.bootstrapped())
      assert.deepEqual(asked, [
        ['router.sim.example', 4],
        ['gone.sim.example', 4],
      ])
      assert.deepEqual(warnings, ['cannot resolve gone.sim.example: no such name'])
      assert.deepEqual(
        a.nodes().map((n) => n.host),
        ['198.51.100.10'],
      )
    } finally {
      await a.destroy()
      await router.destroy()
    }
  })

  it('listen() binds through `bind` (the options it asks for), and destroy() closes what it bound', async () => {
    const net = new SimNetwork({ random: new SeededRandom(12) })
    const clock = net.clock
    const calls: UdpBindOptions[] = []
    let closed = 0
    const a = new DHT({
      clock,
      random: new SeededRandom(3),
      host: '198.51.100.3',
      port: 7000,
      bind: async (o) => {
        calls.push(o)
        const s = net.bind(o.host!, o.port)
        const close = s.close.bind(s)
        s.close = () => {
          closed++
          return close()
        }
        return s
      },
    })
    const addr = await clock.settle(a.listen())
    assert.deepEqual(addr, { host: '198.51.100.3', port: 7000 })
    assert.equal(calls.length, 1)
    assert.equal(calls[0].family, 4)
    assert.equal(calls[0].recvBufferSize, 256 * 1024)
    await a.destroy()
    assert.equal(closed, 1)
  })

  it('a bind that fails fails listen()', async () => {
    const a = new DHT({
      bind: async () => {
        throw new Error('EADDRINUSE (injected)')
      },
    })
    await assert.rejects(a.listen(), /EADDRINUSE \(injected\)/)
    await a.destroy()
  })
})
