// The RPC layer alone, over a scripted socket and a hand-cranked clock: the receive path (what is dropped and
// counted, what goes to the server, what to a transaction), the family check, and the generic request with its
// outcomes (reply, KRPC error, timeout) as the routing tables see them.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { buildErrorReply, buildPingQuery, buildQuery, buildReply } from '../../src/codec/krpc-build.js'
import { parseKrpc } from '../../src/codec/krpc-parse.js'
import type { KrpcQuery } from '../../src/codec/krpc-types.js'
import { newCounters } from '../../src/dht/counters.js'
import { RateLimiter } from '../../src/dht/rate-limit.js'
import type { QueryOutcome } from '../../src/dht/rpc.js'
import { type QueryDispatch, RpcLayer } from '../../src/dht/rpc-layer.js'
import type { DatagramHandler, DatagramSocket, Endpoint } from '../../src/net/types.js'
import { idOf, ManualClock, seededRandom } from '../helpers/dht-fixtures.js'

class ScriptSocket implements DatagramSocket {
  readonly family = 4 as const
  sent: { data: Uint8Array; to: Endpoint }[] = []
  receiver: DatagramHandler | null = null
  address(): Endpoint {
    return { host: '198.51.100.1', port: 6881 }
  }
  send(data: Uint8Array, to: Endpoint): void {
    this.sent.push({ data: new Uint8Array(data), to })
  }
  setReceiver(h: DatagramHandler | null): void {
    this.receiver = h
  }
  async close(): Promise<void> {}
}

const ME = idOf(0x80, 1)
const PEER: Endpoint = { host: '203.0.113.5', port: 7000 }
const PEER_ID = idOf(0x40, 4)

function setup(opts: { readOnly?: boolean; perSecond?: number } = {}) {
  const clock = new ManualClock()
  const socket = new ScriptSocket()
  const counters = newCounters()
  const served: Array<{ msg: KrpcQuery; from: Endpoint }> = []
  const queried: Array<{ from: Endpoint; id: Uint8Array }> = []
  const outcomes: Array<{ to: Endpoint; outcome: QueryOutcome; nodeId?: Uint8Array }> = []
  const server: QueryDispatch = {
    serve: (msg, from) => {
      served.push({ msg, from })
      return buildReply(msg.t, { id: ME })
    },
    errorPacket: (t, _from, code, text) => buildErrorReply(t, [code, text]),
    parseOptions: {},
  }
  const rpc = new RpcLayer({
    clock,
    random: seededRandom(3),
    counters,
    limiter: new RateLimiter({ now: () => clock.now(), perSecond: opts.perSecond ?? 50 }),
    server,
    readOnly: opts.readOnly ?? false,
    queryOptions: { v: 'ML01' },
    ownId: () => ME,
    defaultFamily: 4,
    onQueried: (from, id) => queried.push({ from, id }),
    onOutcome: (to, outcome, nodeId) => outcomes.push({ to, outcome, nodeId }),
    warn: () => {},
    timeoutMs: 5000,
    slowMs: 1000,
    retries: 0,
  })
  rpc.attach(socket)
  rpc.start()
  const deliver = (data: Uint8Array, from = PEER) => socket.receiver!(data, from)
  return { clock, socket, counters, served, queried, outcomes, rpc, deliver }
}

describe('RPC layer', () => {
  it('drops what is not KRPC, malformed (203 back), rate-limited; serves queries and tables the querier', () => {
    const { socket, counters, served, queried, deliver } = setup({ perSecond: 3 })
    deliver(new Uint8Array([1, 2, 3]))
    assert.equal(counters.drops.not_krpc, 1)
    deliver(encode({ t: 'ab', y: 'q', q: 'get_peers', a: { id: PEER_ID } }))
    assert.equal(counters.drops.malformed, 1)
    const err = parseKrpc(socket.sent[0].data)
    assert.ok(err.y === 'e' && err.e[0] === 203)
    deliver(buildPingQuery(new Uint8Array([9]), PEER_ID))
    assert.equal(served.length, 1)
    assert.deepEqual(queried, [{ from: PEER, id: PEER_ID }])
    assert.equal(socket.sent.length, 2)
    // A read-only querier (BEP 43) is answered but not tabled.
    deliver(buildPingQuery(new Uint8Array([9]), PEER_ID, { ro: true }))
    assert.equal(served.length, 2)
    assert.equal(queried.length, 1)
    // 3/s with a burst of 12 at once: ten more within the same millisecond overdraw it, and the rest are dropped
    // before parsing.
    for (let i = 0; i < 10; i++) deliver(buildPingQuery(new Uint8Array([9]), PEER_ID))
    assert.ok(counters.drops.rate_limited > 0)
    assert.equal(served.length, 2 + 10 - counters.drops.rate_limited)
    assert.equal(counters.packetsIn, 14)
  })

  it('a read-only node answers nothing', () => {
    const { served, counters, socket, deliver } = setup({ readOnly: true })
    deliver(buildPingQuery(new Uint8Array([9]), PEER_ID))
    assert.equal(served.length, 0)
    assert.equal(counters.drops.read_only, 1)
    assert.equal(socket.sent.length, 0)
  })

  it('request: any method, `id` added, the reply matched by t and source; others are unsolicited', async () => {
    const { socket, counters, outcomes, rpc, deliver } = setup()
    const p = rpc.request(PEER, 'sample_infohashes', { target: idOf(1) })
    await Promise.resolve()
    const q = parseKrpc(socket.sent[0].data) as KrpcQuery
    assert.equal(q.q, 'sample_infohashes')
    assert.deepEqual(q.a.id, ME)
    assert.deepEqual(q.a.target, idOf(1))
    assert.deepEqual(q.v, new TextEncoder().encode('ML01'))
    // The right t from another source is not the reply.
    deliver(buildReply(q.t, { id: PEER_ID, num: 5 }), { host: PEER.host, port: PEER.port + 1 })
    assert.equal(counters.drops.unsolicited, 1)
    deliver(buildReply(q.t, { id: PEER_ID, num: 5 }))
    const res = await p
    assert.deepEqual(res.id, PEER_ID)
    assert.equal(res.r.num, 5)
    assert.deepEqual(res.from, PEER)
    assert.deepEqual(
      outcomes.map((o) => o.outcome),
      ['reply'],
    )
    assert.equal(counters.queriesOut.sample_infohashes, 1)
    assert.equal(counters.repliesIn, 1)
  })

  it('request: a KRPC error rejects with KRPC_ERROR and its code; silence with TIMEOUT', async () => {
    const { socket, clock, outcomes, rpc, deliver, counters } = setup()
    const p = rpc.request(PEER, 'put', { v: 'x' })
    await Promise.resolve()
    const q = parseKrpc(socket.sent[0].data)
    deliver(buildErrorReply(q.t, [302, 'sequence number less than current']))
    await assert.rejects(p, { code: 'KRPC_ERROR', krpcCode: 302 })
    const t = rpc.request(PEER, 'get', { target: idOf(2) }, { nodeId: PEER_ID })
    clock.advance(5000)
    await assert.rejects(t, { code: 'TIMEOUT' })
    assert.deepEqual(
      outcomes.map((o) => o.outcome),
      ['error', 'timeout'],
    )
    assert.deepEqual(outcomes[1].nodeId, PEER_ID)
    assert.equal(counters.errorsIn, 1)
    assert.equal(counters.timeouts, 1)
  })

  it('refuses what it cannot send: unencodable args, the other family, no socket', async () => {
    const { rpc } = setup()
    await assert.rejects(rpc.request(PEER, 'm', { f: () => 1 }), { code: 'BAD_ARGUMENT' })
    await assert.rejects(rpc.request(PEER, '', {}), { code: 'BAD_ARGUMENT' })
    await assert.rejects(rpc.request({ host: '2001:db8::1', port: 1 }, 'ping', {}), { code: 'BAD_ADDRESS' })
    const bare = new RpcLayer({
      clock: new ManualClock(),
      random: seededRandom(1),
      counters: newCounters(),
      limiter: new RateLimiter({ now: () => 0 }),
      server: { serve: () => undefined, errorPacket: () => new Uint8Array(0), parseOptions: {} },
      readOnly: false,
      queryOptions: {},
      ownId: () => ME,
      defaultFamily: 6,
      onQueried: () => {},
      onOutcome: () => {},
      warn: () => {},
    })
    assert.equal(bare.family, 6)
    await assert.rejects(bare.request(PEER, 'ping', {}), { code: 'NOT_LISTENING' })
  })

  it('after close: queries in flight fail DESTROYED, nothing is received or sent', async () => {
    const { rpc, socket, served } = setup()
    const p = rpc.request(PEER, 'ping', {})
    rpc.close()
    await assert.rejects(p, { code: 'DESTROYED' })
    assert.equal(socket.receiver, null)
    const before = socket.sent.length
    rpc.send(buildQuery(new Uint8Array([1]), 'ping', { id: ME }), PEER)
    assert.equal(socket.sent.length, before)
    assert.equal(served.length, 0)
  })
})
