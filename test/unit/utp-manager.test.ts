import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  decodeUtpPacket,
  encodeUtpPacket,
  ST_DATA,
  ST_RESET,
  ST_STATE,
  ST_SYN,
  type UtpPacket,
  type UtpPacketInit,
} from '../../src/codec/utp-packet.js'
import { VirtualClock } from '../../src/net/sim/clock.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { DatagramHandler, DatagramSocket, Endpoint } from '../../src/net/types.js'
import type { UtpError } from '../../src/utp/options.js'
import { UtpSocketManager } from '../../src/utp/socket-manager.js'
import type { UtpStream } from '../../src/utp/stream.js'
import { CONFIRM_WINDOW, SynCookies } from '../../src/utp/syn-cookie.js'

/** A socket that records what is sent and lets the test inject datagrams. */
class FakeSocket implements DatagramSocket {
  readonly family = 4 as const
  sent: { pkt: UtpPacket; to: Endpoint }[] = []
  private receiver: DatagramHandler | null = null
  address(): Endpoint {
    return { host: '198.51.100.1', port: 6881 }
  }
  send(data: Uint8Array, to: Endpoint): void {
    this.sent.push({ pkt: decodeUtpPacket(Uint8Array.from(data)), to })
  }
  setReceiver(h: DatagramHandler | null): void {
    this.receiver = h
  }
  async close(): Promise<void> {}
  inject(p: Partial<UtpPacketInit> & Pick<UtpPacketInit, 'type'>, from: Endpoint): void {
    this.receiver?.(
      encodeUtpPacket({ connId: 0, timestamp: 0, timestampDiff: 0, wnd: 1 << 20, seq: 0, ack: 0, ...p }),
      from,
    )
  }
  take(): UtpPacket[] {
    const out = this.sent.map((s) => s.pkt)
    this.sent = []
    return out
  }
}

const PEER = { host: '203.0.113.9', port: 7000 }

function setup(opts = {}) {
  // The cookie tests use the setting SwarmNode uses; the stateful accept is asked for with synCookies: false.
  const clock = new VirtualClock()
  const sock = new FakeSocket()
  const m = new UtpSocketManager(sock, { clock, random: new SeededRandom(3), synCookies: true, ...opts })
  return { clock, sock, m }
}

/** Dials PEER and completes the handshake by hand. */
async function connected() {
  const t = setup()
  const s = t.m.connect(PEER)
  let err: UtpError | null = null
  s.on('error', (e) => {
    err = e as UtpError
  })
  const [syn] = t.sock.take()
  t.sock.inject({ type: ST_STATE, connId: syn.connId, seq: 500, ack: syn.seq }, PEER)
  await t.clock.runFor(1)
  assert.equal(s.connecting, false)
  return { ...t, s, syn, err: () => err as UtpError | null }
}

describe('uTP socket manager: routing and resets', () => {
  it('an ST_RESET on our receive id (libtorrent style) closes the connection', async () => {
    const c = await connected()
    c.sock.inject({ type: ST_RESET, connId: c.s.conn.recvId }, PEER)
    await c.clock.runFor(1)
    assert.equal(c.err()?.code, 'ECONNRESET')
    assert.equal(c.m.stats.resetsReceived, 1)
  })

  it('an ST_RESET on our send id (libutp style) closes the connection', async () => {
    const c = await connected()
    c.sock.inject({ type: ST_RESET, connId: c.s.conn.sendId }, PEER)
    await c.clock.runFor(1)
    assert.equal(c.err()?.code, 'ECONNRESET')
  })

  it('refuses a SYN whose ids overlap a connection of ours to that endpoint (a reset could close the wrong one)', async () => {
    const c = await connected()
    const accepted: UtpStream[] = []
    c.m.on('connection', (s) => accepted.push(s))
    // Its send id would be our receive id: a libutp-style reset for it would match our connection.
    c.sock.take()
    c.sock.inject({ type: ST_SYN, connId: c.s.conn.recvId, seq: 77 }, PEER)
    await c.clock.runFor(1)
    assert.deepEqual(c.sock.take(), [])
    assert.equal(c.m.stats.synDropped, 1)
    // Any other id from that endpoint is answered (with a cookie) and accepted once the peer acks it.
    const id = (c.s.conn.recvId + 100) & 0xffff
    c.sock.inject({ type: ST_SYN, connId: id, seq: 78 }, PEER)
    const [synAck] = c.sock.take()
    assert.deepEqual([synAck.type, synAck.connId, synAck.ack], [ST_STATE, id, 78])
    c.sock.inject({ type: ST_STATE, connId: (id + 1) & 0xffff, seq: 79, ack: (synAck.seq - 1) & 0xffff }, PEER)
    await c.clock.runFor(1)
    assert.equal(accepted.length, 1)
    assert.equal(c.err(), null)
  })

  it('an ST_RESET from another endpoint or for another id is ignored (and never answered)', async () => {
    const c = await connected()
    c.sock.take()
    c.sock.inject({ type: ST_RESET, connId: c.s.conn.recvId }, { host: PEER.host, port: PEER.port + 1 })
    c.sock.inject({ type: ST_RESET, connId: (c.s.conn.recvId + 7) & 0xffff }, PEER)
    await c.clock.runFor(1)
    assert.equal(c.err(), null)
    assert.equal(c.s.conn.state, 'connected')
    assert.equal(c.sock.take().filter((p) => p.type === ST_RESET).length, 0)
  })

  it('answers packets for unknown connections with a rate-limited ST_RESET on the id they carried', async () => {
    const t = setup({ resetRate: 5 })
    for (let i = 0; i < 20; i++)
      t.sock.inject({ type: ST_DATA, connId: 1234, seq: i, payload: new Uint8Array(3) }, PEER)
    const rsts = t.sock.take()
    assert.equal(rsts.length, 5)
    assert.ok(rsts.every((p) => p.type === ST_RESET && p.connId === 1234))
    assert.equal(t.m.stats.resetsSuppressed, 15)
    assert.equal(t.m.stats.unknown, 20)
  })

  it('without SYN cookies: bounds half-open connections; a re-sent SYN reaches its connection, not a new one', async () => {
    const t = setup({ synCookies: false, maxPendingSyns: 3, synRecvTimeout: 1000 })
    const accepted: UtpStream[] = []
    t.m.on('connection', (s) => {
      accepted.push(s)
      s.on('error', () => {})
    })
    for (let i = 0; i < 10; i++) t.sock.inject({ type: ST_SYN, connId: 100 * i, seq: 9 }, PEER)
    assert.equal(accepted.length, 3)
    assert.equal(t.m.stats.synDropped, 7)
    t.sock.take()
    t.sock.inject({ type: ST_SYN, connId: 0, seq: 9 }, PEER)
    await t.clock.runFor(1)
    assert.equal(accepted.length, 3)
    assert.equal(t.m.stats.duplicateSyns, 1)
    const [again] = t.sock.take()
    assert.deepEqual([again.type, again.connId, again.ack], [ST_STATE, 0, 9])
    // Unconfirmed connections expire, freeing the slots.
    await t.clock.runFor(2000)
    assert.equal(t.m.pendingSyns, 0)
    assert.equal(t.m.size, 0)
  })
})

describe('uTP socket manager: SYN cookies', () => {
  it('a SYN leaves no state: one 20-byte SYN-ACK, the same for a re-sent SYN', () => {
    const t = setup()
    t.m.on('connection', () => assert.fail('no connection before the peer acks'))
    t.sock.inject({ type: ST_SYN, connId: 4000, seq: 321 }, PEER)
    t.sock.inject({ type: ST_SYN, connId: 4000, seq: 321 }, PEER)
    const [a, b, ...rest] = t.sock.take()
    assert.deepEqual(rest, [])
    assert.deepEqual([a.type, a.connId, a.ack], [ST_STATE, 4000, 321])
    assert.equal(b.seq, a.seq)
    assert.equal(t.m.size, 0)
    assert.equal(t.m.stats.synCookiesSent, 2)
  })

  it("the initiator's first data packet completes the handshake and its payload is delivered", async () => {
    const t = setup()
    const got: Buffer[] = []
    const accepted: UtpStream[] = []
    t.m.on('connection', (s) => {
      accepted.push(s)
      s.on('data', (d: Buffer) => got.push(d))
    })
    t.sock.inject({ type: ST_SYN, connId: 4000, seq: 321 }, PEER)
    const [synAck] = t.sock.take()
    t.sock.inject(
      { type: ST_DATA, connId: 4001, seq: 322, ack: (synAck.seq - 1) & 0xffff, payload: Buffer.from('hello') },
      PEER,
    )
    await t.clock.runFor(1)
    assert.equal(accepted.length, 1)
    assert.equal(Buffer.concat(got).toString(), 'hello')
    // Our ACK: on the initiator's id, acking its data, from the cookie's sequence (not consumed by the SYN-ACK).
    const [ack] = t.sock.take()
    assert.deepEqual([ack.type, ack.connId, ack.ack, ack.seq], [ST_STATE, 4000, 322, synAck.seq])
    // Our data goes out with the cookie's seq, as the initiator expects.
    accepted[0].write(Buffer.from('hi'))
    await t.clock.runFor(1)
    const [data] = t.sock.take()
    assert.deepEqual([data.type, data.seq], [ST_DATA, synAck.seq])
  })

  it('a packet that does not ack a cookie creates nothing (answered like any unknown packet)', async () => {
    const t = setup()
    t.m.on('connection', () => assert.fail('forged'))
    t.sock.inject({ type: ST_SYN, connId: 4000, seq: 321 }, PEER)
    const [synAck] = t.sock.take()
    t.sock.inject({ type: ST_STATE, connId: 4001, seq: 322, ack: synAck.seq }, PEER) // off by one
    t.sock.inject({ type: ST_STATE, connId: 4001, seq: 322, ack: (synAck.seq - 1) & 0xffff }, OTHER) // wrong address
    t.sock.inject({ type: ST_STATE, connId: 4001, seq: 330, ack: (synAck.seq - 1) & 0xffff }, PEER) // seq too far
    await t.clock.runFor(1)
    assert.equal(t.m.size, 0)
    assert.equal(t.m.stats.unknown, 3)
    assert.ok(t.sock.take().every((p) => p.type === ST_RESET))
  })
})

const OTHER = { host: '203.0.113.10', port: 7000 }

describe('SynCookies', () => {
  const syn = (connId: number, seq: number) =>
    decodeUtpPacket(encodeUtpPacket({ type: ST_SYN, connId, timestamp: 0, timestampDiff: 0, wnd: 0, seq, ack: 0 }))
  const ackOf = (connId: number, seq: number, ack: number) =>
    decodeUtpPacket(encodeUtpPacket({ type: ST_STATE, connId, timestamp: 0, timestampDiff: 0, wnd: 0, seq, ack }))

  it('a blind guess succeeds for 2 × CONFIRM_WINDOW of the 65,536 possible acks', () => {
    const c = new SynCookies(new SeededRandom(5))
    const cookie = decodeUtpPacket(c.synAck(syn(900, 1000), PEER, 0, 0)).seq
    let hits = 0
    for (let ack = 0; ack < 65536; ack++) if (c.confirm(ackOf(901, 1001, ack), PEER, 0)) hits++
    assert.ok(hits >= CONFIRM_WINDOW && hits <= 2 * CONFIRM_WINDOW, `${hits} acks pass`)
    assert.deepEqual(c.confirm(ackOf(901, 1001, (cookie - 1) & 0xffff), PEER, 0), { synSeq: 1000, cookie })
  })

  it('a cookie is valid for one to two periods', () => {
    const c = new SynCookies(new SeededRandom(6), { period: 1000 })
    const cookie = decodeUtpPacket(c.synAck(syn(900, 1000), PEER, 0, 0)).seq
    const confirm = (at: number) => c.confirm(ackOf(901, 1001, (cookie - 1) & 0xffff), PEER, at) !== undefined
    assert.ok(confirm(999))
    assert.ok(confirm(1500))
    assert.ok(!confirm(2500))
  })
})
