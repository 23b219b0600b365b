import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Endpoint } from '../../src/net/types.js'
import { Relay } from '../../src/swarm/relay.js'
import type { PeerConnection } from '../../src/wire/peer-connection.js'
import { connectedPair, ManualClock, ticks } from '../helpers/wire-pair.js'

const R = { host: '127.0.0.1', port: 6881 }

/** Relay R with peers dialing it: A (7001, listens on p=7101), B (7002, p=7102), N (7003, no ut_holepunch). */
async function setup(transport: 'tcp' | 'utp' = 'tcp') {
  const clock = new ManualClock()
  const [a, rA] = await connectedPair({
    aEndpoint: { host: '127.0.0.1', port: 7001 },
    bEndpoint: R,
    a: { listenPort: 7101 },
    aId: 1,
    transport,
  })
  const [b, rB] = await connectedPair({
    aEndpoint: { host: '127.0.0.1', port: 7002 },
    bEndpoint: R,
    a: { listenPort: 7102 },
    aId: 2,
    transport,
  })
  const [n, rN] = await connectedPair({
    aEndpoint: { host: '127.0.0.1', port: 7003 },
    bEndpoint: R,
    a: { extensions: { ut_pex: 1 } },
    aId: 3,
  })
  const conns = [rA, rB, rN]
  const relay = new Relay(
    { connections: () => conns, isSelf: (ep) => ep.host === R.host && ep.port === R.port, clock },
    { rateLimit: 3, floodFactor: 2 },
  )
  for (const c of conns) relay.attach(c)
  const log = (c: PeerConnection) => {
    const got: unknown[] = []
    c.holepunch.on('hp_connect', (ip, port) => got.push(['connect', ip, port]))
    c.holepunch.on('hp_error', (code, ep) => got.push(['error', code, ep.port]))
    return got
  }
  return { clock, a, b, n, rA, rB, rN, relay, logA: log(a), logB: log(b), logN: log(n) }
}

async function ask(c: PeerConnection, target: Endpoint) {
  c.holepunch.sendHpRendezvous(target)
  await ticks(6)
}

describe('Relay (BEP 55)', () => {
  it('sends connect to both sides, each with the other endpoint: target by connection endpoint', async () => {
    const s = await setup()
    await ask(s.a, { host: '127.0.0.1', port: 7002 })
    // Each side gets the other's IP with its advertised listen port (see relay.ts for why).
    assert.deepEqual(s.logA, [['connect', '127.0.0.1', 7102]])
    assert.deepEqual(s.logB, [['connect', '127.0.0.1', 7101]])
    assert.equal(s.relay.stats.relayed, 1)
  })
  it('over uTP hands out the connection endpoint itself: the NAT mapping of the peer’s shared UDP port', async () => {
    const s = await setup('utp')
    await ask(s.a, { host: '127.0.0.1', port: 7002 })
    assert.deepEqual(s.logA, [['connect', '127.0.0.1', 7002]])
    assert.deepEqual(s.logB, [['connect', '127.0.0.1', 7001]])
  })
  it('also finds the target by its advertised listen endpoint (IP + p)', async () => {
    const s = await setup()
    await ask(s.b, { host: '::ffff:127.0.0.1', port: 7101 })
    assert.deepEqual(s.logB, [['connect', '127.0.0.1', 7101]])
    assert.deepEqual(s.logA, [['connect', '127.0.0.1', 7102]])
  })
  it('answers NotConnected for an endpoint it has no connection to', async () => {
    const s = await setup()
    await ask(s.a, { host: '127.0.0.1', port: 9 })
    assert.deepEqual(s.logA, [['error', 2, 9]])
    assert.deepEqual(s.logB, [])
  })
  it('answers NoSupport when the target did not advertise ut_holepunch', async () => {
    const s = await setup()
    await ask(s.a, { host: '127.0.0.1', port: 7003 })
    assert.deepEqual(s.logA, [['error', 3, 7003]])
  })
  it('answers NoSelf for the relay itself and for the sender itself', async () => {
    const s = await setup()
    await ask(s.a, R)
    await ask(s.a, { host: '127.0.0.1', port: 7001 })
    await ask(s.a, { host: '127.0.0.1', port: 7101 })
    assert.deepEqual(s.logA, [
      ['error', 4, 6881],
      ['error', 4, 7001],
      ['error', 4, 7101],
    ])
  })
  it('answers NoSuchPeer for an endpoint no peer can have', async () => {
    const s = await setup()
    await ask(s.a, { host: '127.0.0.1', port: 0 })
    await ask(s.b, { host: '0.0.0.0', port: 5 })
    await ask(s.b, { host: '239.1.1.1', port: 5 })
    assert.deepEqual(s.logA, [['error', 1, 0]])
    assert.deepEqual(s.logB, [
      ['error', 1, 5],
      ['error', 1, 5],
    ])
    assert.equal(s.relay.stats.refused.NoSuchPeer, 3)
  })
  it('ignores rendezvous from a peer that did not advertise ut_holepunch', async () => {
    const s = await setup()
    // N never advertised ut_holepunch, but R did, so N can send; R must stay silent.
    s.n.holepunch.sendHpRendezvous({ host: '127.0.0.1', port: 7002 })
    await ticks(6)
    assert.deepEqual(s.logN, [])
    assert.deepEqual(s.logB, [])
    assert.equal(s.rN.holepunch.stats.ignoredUnsupported, 1)
  })
  it('rate-limits rendezvous per connection, then closes a flooding one', async () => {
    const s = await setup()
    for (let i = 0; i < 5; i++) await ask(s.a, { host: '127.0.0.1', port: 9 })
    assert.equal(s.logA.length, 3)
    assert.equal(s.relay.stats.rateLimited, 2)
    assert.ok(s.rA.isOpen)
    s.clock.advance(60_000)
    await ask(s.a, { host: '127.0.0.1', port: 9 })
    assert.equal(s.logA.length, 4, 'a new window admits again')
    for (let i = 0; i < 6; i++) s.a.holepunch.sendHpRendezvous({ host: '127.0.0.1', port: 9 })
    await ticks(8)
    assert.equal(s.rA.closeReason?.code, 'HOLEPUNCH_FLOOD')
    // The relay keeps serving the others.
    await ask(s.b, { host: '127.0.0.1', port: 7003 })
    assert.deepEqual(s.logB, [['error', 3, 7003]])
  })
})
