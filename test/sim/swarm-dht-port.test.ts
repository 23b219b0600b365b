// BEP 5's PORT message between SwarmNodes on net/sim: both ends running a DHT set the DHT bit and send their DHT
// port; the port received is pinged and only then tabled. A node without a DHT sets no bit, and gets no PORT. A
// port with nothing behind it is pinged and never tabled; port 0 is ignored.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { reservedFlags } from '../../src/codec/peer-wire.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import { SwarmNode } from '../../src/swarm/node.js'
import type { PeerConnection } from '../../src/wire/peer-connection.js'
import { until } from '../helpers/until.js'

const IH = new Uint8Array(20).fill(0x3c)
const A = { host: '198.51.100.1', port: 6881 }
const B = { host: '203.0.113.1', port: 6881 }

function world(seed: number) {
  const random = new SeededRandom(seed)
  const net = new SimNetwork({ random: random.fork(), defaults: { latencyMs: 20, jitterMs: 2 } })
  const make = (at: { host: string; port: number }, id: number, dht: boolean) =>
    new SwarmNode({
      socket: net.bind(at.host, at.port),
      clock: net.clock,
      random: random.fork(),
      peerId: new Uint8Array(20).fill(id),
      dht: dht ? {} : false,
      utp: { defer: (fn) => net.clock.setTimeout(fn, 0) },
      swarm: { autoDial: false },
    })
  return { net, clock: net.clock, make }
}

const has = (n: SwarmNode, at: { host: string; port: number }) =>
  (n.dht?.nodes() ?? []).some((x) => x.host === at.host && x.port === at.port)

/** `p`, or a rejection once `ms` of virtual time passed (a missing event fails the test instead of hanging it). */
function within<T>(w: { clock: SimNetwork['clock'] }, p: Promise<T>, ms: number, what: string): Promise<T> {
  const late = new Promise<never>((_, reject) => w.clock.setTimeout(() => reject(new Error(`no ${what}`)), ms))
  return Promise.race([p, late])
}

/** Connects a to b and resolves with both ends of the connection. */
async function pair(a: SwarmNode, b: SwarmNode): Promise<{ ab: PeerConnection; ba: PeerConnection }> {
  const incoming = new Promise<PeerConnection>((resolve) => b.once('connected', (c) => resolve(c)))
  const ab = await a.connect(IH, B)
  return { ab, ba: await within({ clock: a.clock as SimNetwork['clock'] }, incoming, 5000, 'connection') }
}

/** Runs `fn` with a (with a DHT or not) and b (with one) listening and in torrent IH; closes both after. */
async function withNodes(
  seed: number,
  aDht: boolean,
  fn: (w: ReturnType<typeof world>, a: SwarmNode, b: SwarmNode) => Promise<void>,
): Promise<void> {
  const w = world(seed)
  const a = w.make(A, 0x0a, aDht)
  const b = w.make(B, 0x0b, true)
  const stop = w.clock.autoAdvance()
  try {
    await a.listen()
    await b.listen()
    a.add(IH)
    b.add(IH)
    await fn(w, a, b)
  } finally {
    stop()
    await a.close()
    await b.close()
  }
}

describe('PORT (BEP 5) between SwarmNodes', { timeout: 30_000 }, () => {
  it('both set the DHT bit: each sends its port, and the other pings it before tabling it', async () => {
    await withNodes(1, true, async (w, a, b) => {
      assert.equal(has(b, A), false)
      // When b's PORT handler has run (it was attached first), a's port is a candidate: pinged, not yet tabled.
      const atPort = new Promise<{ tabled: boolean; pings: number }>((resolve) =>
        b.once('connected', (c) =>
          c.once('port', () => resolve({ tabled: has(b, A), pings: b.dht!.stats().queriesOut.ping })),
        ),
      )
      const { ab, ba } = await pair(a, b)
      assert.equal(reservedFlags(ab.remoteHandshake!.reserved).dht, true)
      assert.equal(reservedFlags(ba.remoteHandshake!.reserved).dht, true)
      const seen = await within(w, atPort, 5000, 'PORT from a')
      assert.equal(seen.tabled, false, 'not tabled on the PORT alone')
      assert.equal(seen.pings, 1, 'pinged at once')
      await until(() => has(b, A) && has(a, B), { within: 5000, clock: w.clock, what: 'both tabled after the ping' })
      assert.equal(a.dhtPort!.stats.sent, 1)
      assert.equal(b.dhtPort!.stats.sent, 1)
      assert.equal(b.dhtPort!.stats.candidates, 1)
      assert.equal(a.dhtPort!.stats.candidates, 1)
    })
  })

  it('a node without a DHT sets no bit, and nobody sends it a PORT', async () => {
    await withNodes(2, false, async (w, a, b) => {
      const ports: number[] = []
      const { ab, ba } = await pair(a, b)
      ab.on('port', (m) => ports.push(m.port))
      assert.equal(reservedFlags(ba.remoteHandshake!.reserved).dht, false, 'a claims no DHT')
      assert.equal(reservedFlags(ab.remoteHandshake!.reserved).dht, true)
      // A have after the point where a PORT would have been sent: once it arrives, no PORT came before it.
      const have = new Promise<void>((resolve) => ab.once('have', () => resolve()))
      ba.send({ type: 'have', index: 1 })
      await within(w, have, 5000, 'have')
      assert.deepEqual(ports, [])
      assert.equal(b.dhtPort!.stats.sent, 0)
      assert.equal(a.dhtPort, undefined)
    })
  })

  it('a port with nothing behind it is pinged and never tabled; port 0 and repeats are ignored', async () => {
    await withNodes(3, true, async (w, a, b) => {
      const { ab } = await pair(a, b)
      await until(() => has(b, A), { within: 5000, clock: w.clock, what: 'the real port tabled' })
      const pings = b.dht!.stats().queriesOut.ping
      ab.send({ type: 'port', port: 0 })
      ab.send({ type: 'port', port: 7777 }) // nothing listens there
      ab.send({ type: 'port', port: 7778 }) // over the per-connection budget (2)
      await until(() => b.dhtPort!.stats.received === 4, { within: 5000, clock: w.clock, what: 'the PORTs arrive' })
      assert.equal(b.dhtPort!.stats.candidates, 2)
      assert.equal(b.dhtPort!.stats.ignored, 2)
      assert.equal(b.dht!.stats().queriesOut.ping, pings + 1, 'only 7777 pinged')
      await new Promise<void>((r) => w.clock.setTimeout(r, 30_000))
      assert.equal(has(b, { host: A.host, port: 7777 }), false, 'an unanswered candidate is never tabled')
      assert.ok(b.dht!.stats().timeouts >= 1)
    })
  })
})
