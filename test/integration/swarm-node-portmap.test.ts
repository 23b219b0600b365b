// SwarmNode with port mapping against the fake loopback router: the portmap:* events, node.portMapping, the DHT
// announce carrying the router's external port (not ours, and without implied_port), the delete on close(), and
// the defaults (off for a simulated socket and for loopback).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DHT } from '../../src/dht/index.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SwarmNode } from '../../src/swarm/node.js'
import type { PortMapFailure, PortMapping } from '../../src/swarm/node-portmap.js'
import { FAKE_EXTERNAL_IP, FakeGateway, type FakeGatewayOptions } from '../helpers/fake-gateway.js'

const IH = new Uint8Array(20).fill(0x5d)

function portmapTo(gw: FakeGateway) {
  return {
    gateway: '127.0.0.1',
    serverPort: gw.serverPort,
    ssdp: { host: '127.0.0.1', port: gw.ssdpPort },
    timeout: 300,
    ssdpTimeout: 300,
  }
}

async function mappedNode(
  fake: FakeGatewayOptions,
  dht: false | { bootstrap: { host: string; port: number }[] } = false,
) {
  const gw = await FakeGateway.start(fake)
  const node = new SwarmNode({ host: '127.0.0.1', dht, portmap: portmapTo(gw) })
  const mapped: PortMapping[] = []
  const failed: PortMapFailure[] = []
  const removed: PortMapping[] = []
  node.on('portmap:mapped', (m) => mapped.push(m))
  node.on('portmap:failed', (f) => failed.push(f))
  node.on('portmap:removed', (m) => removed.push(m))
  return { gw, node, mapped, failed, removed }
}

describe('SwarmNode port mapping', { timeout: 30_000 }, () => {
  it('maps UDP and TCP at listen(), exposes node.portMapping, deletes on close()', async () => {
    const { gw, node, mapped, removed } = await mappedNode({ portOffset: 7 })
    try {
      const { port } = await node.listen()
      await new Promise<void>((r) => {
        const check = () => (mapped.length === 2 ? r() : setTimeout(check, 20))
        check()
      })
      assert.deepEqual(
        mapped.map((m) => [m.protocol, m.internalPort, m.external.port]),
        [
          ['udp', port, port + 7],
          ['tcp', port, port + 7],
        ],
      )
      assert.deepEqual(node.portMapping?.external, { host: FAKE_EXTERNAL_IP, port: port + 7 })
      assert.equal(node.portMapping?.udp?.via, 'pcp')
      assert.ok(node.isSelf({ host: FAKE_EXTERNAL_IP, port: port + 7 }), 'the forwarded endpoint is us (not dialed)')
    } finally {
      await node.close()
      await gw.close()
    }
    assert.equal(removed.length, 2)
    assert.equal(gw.mappings.size, 0)
  })

  it('announces the external port the router granted, as an explicit port', async () => {
    const boot = new DHT({ host: '127.0.0.1', port: 0, bootstrap: [] })
    const bootAt = await boot.listen()
    const { gw, node } = await mappedNode({ portOffset: 7 }, { bootstrap: [bootAt] })
    const seeker = new DHT({ host: '127.0.0.1', port: 0, bootstrap: [bootAt] })
    try {
      const { port } = await node.listen()
      await node.dht!.bootstrapped()
      // announce() waits for the mapping attempt itself: no wait for the event here.
      await node.announce(IH)
      await seeker.listen()
      await seeker.bootstrapped()
      const found = []
      for await (const p of seeker.getPeers(IH)) found.push(p.port)
      assert.ok(found.includes(port + 7), `the DHT lists the external port ${port + 7}: ${found}`)
      assert.ok(!found.includes(port), 'not our local port')
    } finally {
      await seeker.destroy()
      await node.close()
      await boot.destroy()
      await gw.close()
    }
  })

  it("advertises the external port in its extended handshake's `p` once mapped (BEP 10: where to dial us)", async () => {
    const { gw, node, mapped } = await mappedNode({ portOffset: 7 })
    const peer = new SwarmNode({ host: '127.0.0.1', dht: false, swarm: { autoDial: false } })
    try {
      const { port } = await node.listen()
      await peer.listen()
      await new Promise<void>((r) => {
        const check = () => (mapped.length === 2 ? r() : setTimeout(check, 20))
        check()
      })
      node.add(IH)
      peer.add(IH)
      const conn = await peer.connect(IH, { host: '127.0.0.1', port })
      if (!conn.remoteExtended) await new Promise((r) => conn.once('extended_handshake', r))
      assert.equal(conn.remoteExtended?.p, port + 7, `p is the mapped port, not the local ${port}`)
      assert.deepEqual(conn.listenEndpoint, { host: '127.0.0.1', port: port + 7 })
    } finally {
      await peer.close()
      await node.close()
      await gw.close()
    }
  })

  it('every protocol refusing: portmap:failed for UDP and TCP, the local port is announced as before', async () => {
    const { gw, node, failed, mapped } = await mappedNode({ pcp: 'deny', natpmp: 'deny', upnp: 'deny' })
    try {
      await node.listen()
      await new Promise<void>((r) => {
        const check = () => (failed.length === 2 ? r() : setTimeout(check, 20))
        check()
      })
      assert.deepEqual(
        failed.map((f) => [f.protocol, f.reason]),
        [
          ['udp', 'NOT_AUTHORIZED'],
          ['tcp', 'NOT_AUTHORIZED'],
        ],
      )
      assert.equal(mapped.length, 0)
      assert.deepEqual(node.portMapping, { udp: undefined, tcp: undefined, external: undefined })
    } finally {
      await node.close()
      await gw.close()
    }
  })

  it('off by default on a simulated socket and on loopback', async () => {
    const net = new SimNetwork()
    const sim = new SwarmNode({
      socket: net.bind('198.51.100.1', 6881),
      clock: net.clock,
      random: net.random,
      dht: false,
    })
    await sim.listen()
    assert.equal(sim.portMapping, undefined)
    await sim.close()
    const loop = new SwarmNode({ host: '127.0.0.1', dht: false })
    await loop.listen()
    assert.equal(loop.portMapping, undefined)
    await loop.close()
  })
})
