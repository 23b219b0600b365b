// `mainline holepunch connect` on 127.0.0.1: a relay and a target (SwarmNodes in this process), the CLI as the
// initiator. No NAT here (test/nat has those): this pins the command's contract — output events and exit codes.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { toHex } from '../../src/codec/bytes.js'
import { SwarmNode } from '../../src/swarm/node.js'
import { runCli } from './cli-run.js'

const INFO_HASH = new Uint8Array(20).fill(0x5a)

describe('mainline holepunch connect', { timeout: 60_000 }, () => {
  let relay: SwarmNode
  let target: SwarmNode
  before(async () => {
    relay = new SwarmNode({ host: '127.0.0.1', dht: false, swarm: { connection: { pex: { interval: 500 } } } })
    target = new SwarmNode({ host: '127.0.0.1', dht: false, swarm: { autoDial: false } })
    for (const n of [relay, target]) {
      await n.listen()
      n.add(INFO_HASH)
    }
    await target.connect(INFO_HASH, relay.address!)
  })
  after(async () => {
    await target?.close()
    await relay?.close()
  })
  const base = () => [
    'holepunch',
    'connect',
    '--relay',
    `127.0.0.1:${relay.address!.port}`,
    '--infohash',
    toHex(INFO_HASH),
    '--no-portmap', // tests never ask the machine's real router
  ]

  it('--target: connects over uTP through the rendezvous and prints connected', async () => {
    const r = await runCli([...base(), '--target', `127.0.0.1:${target.address!.port}`, '--json', '--timeout', '20'])
    assert.equal(r.code, 0, r.stderr)
    const [c] = r.events
    assert.equal(c.event, 'connected')
    assert.equal(c.transport, 'utp')
    assert.equal(c.port, target.address!.port)
    assert.equal(c.peerId, toHex(target.peerId))
    assert.equal(typeof c.ms, 'number')
  })

  it('without --target: punches to the holepunch-capable peer the relay lists in PEX', async () => {
    const r = await runCli([...base(), '--json', '--timeout', '20'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.events[0].event, 'connected')
    assert.equal(r.events[0].port, target.address!.port)
  })

  it('a target the relay does not know: hp_failed NotConnected, exit 1', async () => {
    const r = await runCli([...base(), '--target', '127.0.0.1:9', '--json', '--timeout', '20'])
    assert.equal(r.code, 1)
    assert.deepEqual(r.events, [{ event: 'hp_failed', reason: 'NotConnected' }])
  })

  it('an unreachable relay: hp_failed relay_unreachable, exit 1', async () => {
    const r = await runCli([
      'holepunch',
      'connect',
      '--relay',
      '127.0.0.1:9',
      '--infohash',
      toHex(INFO_HASH),
      '--no-portmap',
      '--json',
      '--timeout',
      '8',
    ])
    assert.equal(r.code, 1)
    assert.equal(r.events[0].event, 'hp_failed')
    assert.equal(r.events[0].reason, 'relay_unreachable')
  })
})
