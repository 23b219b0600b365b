// The node's query handlers driven by scripted packets over a fake socket: exact BEP 5/32/42/43 replies.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { decodeNodes, decodePeer, decodePeerValues } from '../../src/codec/compact.js'
import {
  buildAnnouncePeerQuery,
  buildErrorReply,
  buildFindNodeQuery,
  buildGetPeersQuery,
  buildPingQuery,
  buildPingReply,
} from '../../src/codec/krpc-build.js'
import { parseKrpc } from '../../src/codec/krpc-parse.js'
import type { KrpcErrorReply, KrpcMessage, KrpcReply } from '../../src/codec/krpc-types.js'
import { DHT } from '../../src/dht/index.js'
import type { DatagramHandler, DatagramSocket, Endpoint } from '../../src/net/types.js'
import { idOf, ManualClock, seededRandom } from '../helpers/dht-fixtures.js'

class FakeSocket implements DatagramSocket {
  readonly family = 4 as const
  sent: { data: Uint8Array; to: Endpoint }[] = []
  private receiver: DatagramHandler | null = null
  address(): Endpoint {
    return { host: '127.0.0.1', port: 6881 }
  }
  send(data: Uint8Array, to: Endpoint): void {
    this.sent.push({ data, to })
  }
  setReceiver(h: DatagramHandler | null): void {
    this.receiver = h
  }
  async close(): Promise<void> {}
  /** Delivers `data` from `from` and returns what the node sent back to it (parsed). */
  ask(data: Uint8Array, from: Endpoint): KrpcMessage[] {
    const before = this.sent.length
    this.receiver!(data, from)
    return this.sent
      .slice(before)
      .filter((s) => s.to.host === from.host && s.to.port === from.port)
      .map((s) => {
        assert.ok(s.data.length < 1024, `reply of ${s.data.length} bytes`)
        return parseKrpc(s.data)
      })
  }
}

const A = { host: '198.51.100.20', port: 4000 }
const B = { host: '203.0.113.9', port: 5000 }
const T = new Uint8Array([0xaa, 0xbb])
const AID = idOf(0x11, 1)

async function setup(opts: { readOnly?: boolean } = {}) {
  const socket = new FakeSocket()
  const clock = new ManualClock()
  const dht = new DHT({ socket, clock, random: seededRandom(9), id: idOf(0x80, 2), ...opts })
  await dht.listen()
  await dht.bootstrapped()
  return { socket, clock, dht }
}

function reply(m: KrpcMessage): KrpcReply {
  assert.equal(m.y, 'r', JSON.stringify(m))
  return m as KrpcReply
}

describe('query handlers (scripted packets)', () => {
  it('ping: our id, the transaction id verbatim, `ip` = the requester, `v`', async () => {
    const { socket, dht } = await setup()
    const [m] = socket.ask(buildPingQuery(T, AID), A)
    const r = reply(m)
    assert.deepEqual(r.r.id, dht.id)
    assert.deepEqual(r.t, T)
    assert.deepEqual(decodePeer(r.ip!), A)
    assert.equal(r.v?.length, 4)
    // A 1-byte and a 20-byte t are echoed as they came.
    for (const t of [new Uint8Array([7]), new Uint8Array(20).fill(3)])
      assert.deepEqual(socket.ask(buildPingQuery(t, AID), A)[0].t, t)
    // A 21-byte t is dropped, not truncated.
    assert.equal(socket.ask(buildPingQuery(new Uint8Array(21), AID), A).length, 0)
    assert.equal(dht.stats().drops.bad_tid, 1)
    assert.equal(dht.stats().queriesIn.ping, 3)
  })

  it('find_node: at most K nodes, `want` n4/n6 (BEP 32)', async () => {
    const { socket, dht, clock } = await setup()
    // Fill the table: 20 nodes answer our pings.
    for (let i = 0; i < 20; i++) {
      const from = { host: '127.0.0.1', port: 7000 + i }
      dht.addNode(from)
      const q = parseKrpc(socket.sent[socket.sent.length - 1].data)
      socket.ask(buildPingReply(q.t, idOf(0x20 + i, 5)), from)
      clock.advance(1)
    }
    // All 20 are in the far half of the id space: one bucket of K = 8, the rest wait as replacements.
    assert.equal(dht.stats().nodes.v4, 8)
    const r = reply(socket.ask(buildFindNodeQuery(T, AID, idOf(0x25, 5)), A)[0])
    const nodes = decodeNodes(r.r.nodes!, 4)
    assert.equal(nodes.length, 8)
    assert.deepEqual(nodes[0].id, idOf(0x25, 5))
    assert.equal(r.r.nodes6, undefined)
    const w6 = reply(socket.ask(buildFindNodeQuery(T, AID, idOf(0x25, 5), { want: ['n6'] }), A)[0])
    assert.equal(w6.r.nodes, undefined) // only what was asked; we know no IPv6 nodes
    const both = reply(socket.ask(buildFindNodeQuery(T, AID, idOf(0x25, 5), { want: ['n4', 'n6'] }), A)[0])
    assert.equal(both.r.nodes?.length, 8 * 26)
  })

  it('get_peers → token → announce_peer stores; values come back; bad token and port are 203', async () => {
    const { socket, dht } = await setup()
    const ih = idOf(0x42, 9)
    const announced: Endpoint[] = []
    dht.on('announce', (p) => announced.push(p))
    const gp = reply(socket.ask(buildGetPeersQuery(T, AID, ih), A)[0])
    const token = gp.r.token!
    assert.ok(token.length > 0)
    assert.equal(gp.r.values, undefined)
    assert.ok(gp.r.nodes !== undefined, 'nodes always present')
    reply(socket.ask(buildAnnouncePeerQuery(T, AID, ih, token, 6969), A)[0])
    assert.deepEqual(announced, [{ host: A.host, port: 6969 }])
    // implied_port: the UDP source port wins over `port`.
    reply(socket.ask(buildAnnouncePeerQuery(T, AID, ih, token, 1, { impliedPort: true }), A)[0])
    assert.deepEqual(announced[1], { host: A.host, port: A.port })
    // The token is bound to A's IP: B cannot use it.
    const bad = socket.ask(buildAnnouncePeerQuery(T, AID, ih, token, 6969), B)[0] as KrpcErrorReply
    assert.equal(bad.y, 'e')
    assert.deepEqual(bad.e, [203, 'invalid token'])
    assert.deepEqual(bad.t, T)
    const gp2 = reply(socket.ask(buildGetPeersQuery(T, AID, ih), B)[0])
    const vals = decodePeerValues(gp2.r.values!)
    assert.deepEqual(vals.map((p) => p.port).sort(), [4000, 6969])
    assert.equal(dht.stats().peersStored, 2)
  })

  it('a get_peers reply stays under 1,024 bytes however many peers are stored', async () => {
    const { socket, dht } = await setup()
    const ih = idOf(0x43)
    // 200 peers announce it (each with the token its own get_peers got).
    for (let i = 0; i < 200; i++) {
      const from = { host: `198.51.100.${i}`, port: 1000 + i }
      const token = reply(socket.ask(buildGetPeersQuery(T, AID, ih), from)[0]).r.token!
      reply(socket.ask(buildAnnouncePeerQuery(T, AID, ih, token, from.port), from)[0])
    }
    assert.equal(dht.stats().peersStored, 200)
    const before = socket.sent.length
    const r = reply(socket.ask(buildGetPeersQuery(T, AID, ih, { want: ['n4', 'n6'] }), A)[0])
    assert.ok(socket.sent[before].data.length < 1024)
    assert.ok(r.r.values!.length >= 50, `${r.r.values!.length} values`)
  })

  it('malformed queries get 203 with the transaction id, unknown methods 204, garbage nothing', async () => {
    const { socket, dht } = await setup()
    const noHash = encode({ a: { id: AID }, q: 'get_peers', t: T, y: 'q' })
    const e1 = socket.ask(noHash, A)[0] as KrpcErrorReply
    assert.equal(e1.y, 'e')
    assert.equal(e1.e[0], 203)
    assert.deepEqual(e1.t, T)
    const shortId = encode({ a: { id: new Uint8Array(19) }, q: 'ping', t: T, y: 'q' })
    assert.equal((socket.ask(shortId, A)[0] as KrpcErrorReply).e[0], 203)
    const unknown = encode({ a: { id: AID }, q: 'frobnicate', t: T, y: 'q' })
    const e2 = socket.ask(unknown, A)[0] as KrpcErrorReply
    assert.deepEqual(e2.e, [204, 'Method Unknown'])
    for (const junk of ['', 'x', 'd', 'de', 'd1:y1:qe', 'li1ee', 'd1:t2:ab1:y1:q1:q4:ping1:ad2:id3:abcee']) {
      assert.equal(socket.ask(new TextEncoder().encode(junk), A).filter((m) => m.y === 'r').length, 0)
    }
    const s = dht.stats()
    assert.ok(s.drops.malformed >= 3)
    assert.ok(s.drops.not_krpc >= 3)
    assert.equal(s.drops.handler_error, undefined)
  })

  it('replies from unknown transactions or endpoints are ignored and counted', async () => {
    const { socket, dht } = await setup()
    socket.ask(buildPingReply(T, AID), A)
    const p = dht.ping(B).catch((e) => e)
    const q = parseKrpc(socket.sent[socket.sent.length - 1].data)
    socket.ask(buildPingReply(q.t, AID), A) // right tid, wrong endpoint
    assert.equal(dht.stats().drops.unsolicited, 2)
    socket.ask(buildPingReply(q.t, idOf(0x33)), B)
    const res = await p
    assert.deepEqual(res.id, idOf(0x33))
  })

  it('BEP 43: read-only queriers are answered but never tabled; a read-only node answers nothing', async () => {
    const { socket, dht } = await setup()
    const before = socket.sent.length
    socket.ask(buildPingQuery(T, AID, { ro: true }), A)
    assert.equal(socket.sent.length, before + 1) // the reply, and no ping to table it
    assert.equal(dht.stats().nodes.v4, 0)
    socket.ask(buildPingQuery(T, idOf(0x12), {}), B)
    assert.equal(socket.sent.length, before + 3) // the reply, plus a ping to table B
    const ro = await setup({ readOnly: true })
    assert.equal(ro.socket.ask(buildPingQuery(T, AID), A).length, 0)
    assert.equal(ro.dht.stats().drops.read_only, 1)
    void ro.dht.ping(B).catch(() => {})
    const q = parseKrpc(ro.socket.sent[ro.socket.sent.length - 1].data)
    assert.equal(q.y === 'q' && q.ro, true)
  })

  it('queries time out on the injected clock, with one resend in between', async () => {
    const { socket, dht, clock } = await setup()
    const p = dht.ping(B).then(
      () => 'ok',
      (e) => e.code,
    )
    const n = socket.sent.length
    clock.advance(1000)
    assert.equal(socket.sent.length, n + 1, 'resent after the short timeout')
    clock.advance(4000)
    assert.equal(await p, 'TIMEOUT')
    assert.equal(dht.stats().pendingQueries, 0)
  })

  it('destroy() fails pending queries and lookups with DESTROYED', async () => {
    const { socket, dht } = await setup()
    dht.addNode(B)
    const q = parseKrpc(socket.sent[socket.sent.length - 1].data)
    socket.ask(buildPingReply(q.t, idOf(0x33)), B)
    assert.equal(dht.stats().nodes.v4, 1)
    const ping = dht.ping(A)
    const look = dht.lookup(idOf(0x34))
    await dht.destroy()
    await assert.rejects(ping, { code: 'DESTROYED' })
    await assert.rejects(look, { code: 'DESTROYED' })
    await assert.rejects(dht.findNode(idOf(1)), { code: 'DESTROYED' })
  })

  it('maintenance on the injected clock: a node silent for 15 minutes is pinged, idle buckets are refreshed', async () => {
    const { socket, dht, clock } = await setup()
    dht.addNode(B)
    const q = parseKrpc(socket.sent[socket.sent.length - 1].data)
    socket.ask(buildPingReply(q.t, idOf(0x33)), B)
    // B answers pings, and refuses everything else with an error (which neither confirms nor fails it).
    const answered = new Set<number>()
    const pingTimes: number[] = []
    const pump = () => {
      socket.sent.forEach((s, i) => {
        if (answered.has(i)) return
        answered.add(i)
        const m = parseKrpc(s.data)
        if (m.y !== 'q') return
        if (m.q === 'ping' && i >= from) pingTimes.push(clock.now())
        if (m.q === 'ping') socket.ask(buildPingReply(m.t, idOf(0x33)), B)
        else socket.ask(buildErrorReply(m.t, [204, 'Method Unknown']), B)
      })
    }
    const from = socket.sent.length
    pump()
    for (let t = 0; t < 16 * 60; t += 5) {
      clock.advance(5000)
      pump()
    }
    const methods = socket.sent.slice(from).map((s) => {
      const m = parseKrpc(s.data)
      return m.y === 'q' ? m.q : m.y
    })
    assert.ok(pingTimes.length > 0 && pingTimes[0] >= 15 * 60_000, `pinged at ${pingTimes[0]} ms`)
    assert.ok(methods.includes('find_node'), 'lookups keep the table fresh')
    assert.equal(dht.stats().nodes.v4, 1)
    await dht.destroy()
  })
})
