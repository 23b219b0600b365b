// Spoofed uTP SYNs against a SwarmNode on loopback: a trickle from ever-new addresses and a flood from 250, while a
// legitimate peer completes TCP and uTP handshakes every 0.5 s. Before SYN cookies each SYN held a pending slot
// shared with TCP for 10 s, and both attacks locked every incoming peer out (issue 14).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { SwarmNode } from '../../src/swarm/node.js'
import { LegitPeer, sleep, synFlood, synTrickle } from '../helpers/admission.js'

const IH = new Uint8Array(20).fill(0x3c)

describe('handshake admission: spoofed uTP SYNs', { timeout: 60_000 }, () => {
  let node: SwarmNode
  before(async () => {
    // A pending budget of 16 (per transport) makes a short test: at 10 SYN/s the default 64 would take 6.4 s to
    // fill. The defence (a SYN holds nothing) does not depend on the budget.
    node = new SwarmNode({ host: '127.0.0.1', dht: false, maxPendingIncoming: 16 })
    await node.listen()
    node.add(IH)
  })
  after(() => node.close())

  it('a trickle of 10 SYN/s, each from a new address, does not lock legitimate peers out', async () => {
    const target = node.address ?? assert.fail('not listening')
    const peer = await LegitPeer.create(target, IH, '127.0.0.1')
    const attack = synTrickle(target, 10, 40)
    try {
      await sleep(2000)
      await peer.probeFor(5000)
    } finally {
      await attack.stop()
      await peer.close()
    }
    assert.ok(attack.sent >= 50, `only ${attack.sent} SYNs sent`)
    assert.ok(peer.successRate() >= 0.95, peer.summary())
    // The SYNs themselves left nothing behind.
    assert.equal(node.utp.size, 0, `${node.utp.size} uTP connections remain`)
  })

  it('a flood of 5,000 SYN/s from 250 addresses does not lock legitimate peers out', async () => {
    const target = node.address ?? assert.fail('not listening')
    const peer = await LegitPeer.create(target, IH, '127.0.0.2')
    const before = node.utp.stats.received
    const acceptedBefore = node.utp.stats.accepted
    const attack = await synFlood(target, 5000, 250, 41)
    try {
      await sleep(500)
      await peer.probeFor(5000)
    } finally {
      await attack.stop()
      await peer.close()
    }
    const received = node.utp.stats.received - before
    console.log(`flood: ${attack.sent} SYNs sent, ${received} received; ${peer.summary()}`)
    assert.ok(peer.successRate() >= 0.95, peer.summary())
    assert.ok(attack.sent >= 20_000, `only ${attack.sent} SYNs sent`)
    assert.ok(received >= 15_000, `the node received only ${received} datagrams`)
    // Only the legitimate peer's handshakes became connections.
    const utpProbes = peer.results.filter((r) => r.transport === 'utp').length
    assert.ok(node.utp.stats.accepted - acceptedBefore <= utpProbes, `${node.utp.stats.accepted} accepted`)
  })
})
