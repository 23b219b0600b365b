// Connections that hold slots against a SwarmNode on loopback: a TCP slowloris from 100 addresses (silent
// connections, reopened when closed), and 50 peers that complete the handshake and then do nothing. A legitimate
// peer completes TCP and uTP handshakes every 0.5 s meanwhile. Before the admission policy both locked every
// incoming peer out (issue 14).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SwarmNode } from '../../src/swarm/node.js'
import { holdTcp, LegitPeer, sleep, spreadAddress } from '../helpers/admission.js'

const IH = new Uint8Array(20).fill(0x4d)

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await sleep(20)
}

describe('handshake admission: connections that hold slots', { timeout: 60_000 }, () => {
  it('a slowloris from 100 addresses (100 prefixes) does not lock legitimate peers out', async () => {
    const node = new SwarmNode({ host: '127.0.0.1', dht: false })
    const target = await node.listen()
    node.add(IH)
    const hosts = Array.from({ length: 100 }, (_, i) => spreadAddress(50, i))
    const attack = holdTcp(target, hosts)
    const peer = await LegitPeer.create(target, IH, '127.0.0.3')
    try {
      await waitFor(() => attack.open >= 64, 3000)
      assert.ok(attack.open >= 64, `the attack holds only ${attack.open} connections`)
      await peer.probeFor(5000)
    } finally {
      await attack.stop()
      await peer.close()
      await node.close()
    }
    console.log(`slowloris: ${attack.sent} connections; admission ${JSON.stringify(node.admission.stats)}`)
    assert.ok(peer.successRate() >= 0.95, peer.summary())
  })

  it('50 handshaken connections that never become useful do not lock new peers out', async () => {
    const node = new SwarmNode({ host: '127.0.0.1', dht: false })
    const target = await node.listen()
    const swarm = node.add(IH)
    const hosts = Array.from({ length: 50 }, (_, i) => spreadAddress(51, i))
    const attack = holdTcp(target, hosts, { infoHash: IH })
    const peer = await LegitPeer.create(target, IH, '127.0.0.4')
    try {
      await waitFor(() => swarm.connections.length >= 50, 5000)
      assert.equal(swarm.connections.length, 50, 'the held connections fill the swarm')
      await peer.probeFor(5000)
    } finally {
      await attack.stop()
      await peer.close()
      await node.close()
    }
    console.log(`held: ${attack.sent} connections; turned over ${swarm.stats.turnedOver}`)
    assert.ok(peer.successRate() >= 0.95, peer.summary())
    assert.ok(swarm.stats.turnedOver > 0)
  })
})
