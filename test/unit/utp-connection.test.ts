import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN, type UtpPacket } from '../../src/codec/utp-packet.js'
import { UtpConnection } from '../../src/utp/connection.js'
import type { UtpConnectionOptions } from '../../src/utp/options.js'
import { seqAdd } from '../../src/utp/seq.js'
import { pkt, RecordingHost } from './utp-harness.js'

const enc = (s: string) => new TextEncoder().encode(s)

interface Pair {
  a: UtpConnection
  b: UtpConnection
  ha: RecordingHost
  hb: RecordingHost
  /** Moves packets both ways until nothing is left; `drop` sees every packet (direction 'ab' or 'ba'). */
  pump(now: number, drop?: (p: UtpPacket, dir: 'ab' | 'ba') => boolean): void
}

/** A connected pair: A dialled B. Initial sequence numbers are chosen by the test (wrap-around tests). */
function pair(opts: UtpConnectionOptions = {}, seqA = 1000, seqB = 5000, recvId = 100): Pair {
  const ha = new RecordingHost()
  const hb = new RecordingHost()
  const a = UtpConnection.connect(ha, recvId, seqA, 0, opts)
  const [syn] = ha.take()
  const b = UtpConnection.accept(hb, syn, seqB, 0, opts)
  ha.conn = a
  hb.conn = b
  const p: Pair = {
    a,
    b,
    ha,
    hb,
    pump(now, drop = () => false) {
      for (let round = 0; round < 10_000; round++) {
        a.flush(now)
        b.flush(now)
        const ab = ha.take()
        const ba = hb.take()
        if (ab.length === 0 && ba.length === 0) return
        for (const q of ab) if (!drop(q, 'ab')) b.receive(q, now)
        for (const q of ba) if (!drop(q, 'ba')) a.receive(q, now)
      }
      throw new Error('pump did not settle')
    },
  }
  p.pump(0)
  return p
}

describe('uTP connection: handshake', () => {
  it('initiator: SYN on recv id with random seq and ack 0; connects on ST_STATE and sets ack_nr = seq − 1', () => {
    const h = new RecordingHost()
    const c = UtpConnection.connect(h, 0x4000, 777, 0)
    const [syn] = h.take()
    assert.equal(syn.type, ST_SYN)
    assert.equal(syn.connId, 0x4000)
    assert.equal(syn.seq, 777)
    assert.equal(syn.ack, 0)
    assert.equal(c.state, 'syn-sent')
    // A packet that does not ack the SYN is ignored.
    c.receive(pkt({ type: ST_STATE, connId: 0x4000, seq: 9000, ack: 776 }), 10)
    assert.equal(c.state, 'syn-sent')
    c.receive(pkt({ type: ST_STATE, connId: 0x4000, seq: 9000, ack: 777 }), 20)
    assert.equal(c.state, 'connected')
    assert.equal(h.connected, 1)
    assert.equal(c.ackNr, 8999)
    c.write(enc('hello'), null)
    c.flush(20)
    const sent = h.take()
    const data = sent.find((p) => p.type === ST_DATA)!
    assert.equal(data.connId, 0x4001, 'after the SYN the initiator sends on recv id + 1')
    assert.equal(data.seq, 778)
    assert.equal(data.ack, 8999)
  })

  it('resendSyn (hole punching): same SYN with a fresh timestamp, no retry used up, no RTT sample from the handshake', () => {
    const h = new RecordingHost()
    const c = UtpConnection.connect(h, 0x4000, 777, 0)
    const [first] = h.take()
    assert.equal(c.resendSyn(40), true)
    assert.equal(c.resendSyn(90), true)
    const again = h.take()
    assert.equal(again.length, 2)
    for (const p of again) {
      assert.deepEqual([p.type, p.connId, p.seq, p.ack], [ST_SYN, first.connId, first.seq, 0])
    }
    assert.notEqual(again[1].timestamp, first.timestamp, 'fresh timestamp')
    c.receive(pkt({ type: ST_STATE, connId: 0x4000, seq: 9000, ack: 777 }), 130)
    assert.equal(c.state, 'connected')
    assert.equal(c.rtt.rtt, 0, 'which SYN was answered is unknown: no sample (Karn)')
    assert.equal(c.resendSyn(140), false, 'only while connecting')
  })

  it('resendSyn does not use up synRetries', () => {
    const h = new RecordingHost()
    const c = UtpConnection.connect(h, 0x4000, 777, 0, { synRetries: 1 })
    for (let t = 10; t <= 100; t += 10) c.resendSyn(t)
    c.tick(1000)
    assert.equal(c.state, 'syn-sent', 'the one scheduled retry still goes out')
    assert.equal(h.take().filter((p) => p.type === ST_SYN).length, 12)
  })

  it('a SYN sent once gives the first RTT sample', () => {
    const h = new RecordingHost()
    const c = UtpConnection.connect(h, 0x4000, 777, 0)
    h.take()
    c.receive(pkt({ type: ST_STATE, connId: 0x4000, seq: 9000, ack: 777 }), 35)
    assert.equal(c.rtt.rtt, 35)
  })

  it('acceptor: replies ST_STATE on the SYN id with ack = SYN seq; its first DATA reuses that seq', () => {
    const h = new RecordingHost()
    const c = UtpConnection.accept(h, pkt({ type: ST_SYN, connId: 0x1234, seq: 42, wnd: 0 }), 6000, 0)
    const [st] = h.take()
    assert.equal(st.type, ST_STATE)
    assert.equal(st.connId, 0x1234)
    assert.equal(st.seq, 6000)
    assert.equal(st.ack, 42)
    assert.equal(c.recvId, 0x1235)
    // libtorrent's SYN advertises wnd 0: that must not stall us.
    c.write(enc('x'), null)
    c.flush(1)
    const [d] = h.take()
    assert.equal(d.type, ST_DATA)
    assert.equal(d.seq, 6000)
    // Initiator's first data packet.
    c.receive(pkt({ type: ST_DATA, connId: 0x1235, seq: 43, ack: 6000, payload: enc('hi') }), 2)
    assert.equal(c.state, 'connected')
    assert.equal(h.text(), 'hi')
  })

  it('initiator: a lost SYN-ACK is recovered by the SYN retry, not guessed from data (which may not be the first)', () => {
    const h = new RecordingHost()
    const c = UtpConnection.connect(h, 10, 500, 0)
    h.take()
    c.receive(pkt({ type: ST_DATA, connId: 10, seq: 3000, ack: 500, payload: enc('early') }), 5)
    assert.equal(c.state, 'syn-sent')
    c.tick(1000)
    assert.equal(h.take()[0]?.type, ST_SYN, 'the SYN goes again')
    c.receive(pkt({ type: ST_STATE, connId: 10, seq: 3000, ack: 500 }), 1010)
    c.receive(pkt({ type: ST_DATA, connId: 10, seq: 3000, ack: 500, payload: enc('early') }), 1011)
    assert.equal(c.state, 'connected')
    assert.equal(h.text(), 'early')
    assert.equal(c.ackNr, 3000)
  })

  it('re-sends a lost SYN with the same id and seq, then gives up with ETIMEDOUT', () => {
    const h = new RecordingHost()
    const c = UtpConnection.connect(h, 10, 500, 0, { synRetries: 2 })
    h.take()
    c.tick(999)
    assert.equal(h.take().length, 0)
    c.tick(1000)
    const [again] = h.take()
    assert.deepEqual([again.type, again.connId, again.seq], [ST_SYN, 10, 500])
    c.tick(3000) // back-off doubled: 1000 + 2000
    assert.equal(h.take().length, 1)
    c.tick(7000)
    assert.equal(c.state, 'closed')
    assert.equal(h.closed?.code, 'ETIMEDOUT')
  })

  it('duplicate SYN: re-acked with the same seq while half-open, ignored once connected', () => {
    const { b, hb } = pair()
    // pair() pumped the handshake: B is connected; a re-sent SYN is ignored.
    b.receive(pkt({ type: ST_SYN, connId: 100, seq: 1000 }), 5)
    b.flush(5)
    assert.equal(hb.take().length, 0)
    const h = new RecordingHost()
    const c = UtpConnection.accept(h, pkt({ type: ST_SYN, connId: 7, seq: 70 }), 900, 0)
    const [first] = h.take()
    c.receive(pkt({ type: ST_SYN, connId: 7, seq: 70 }), 1000)
    c.flush(1000)
    const [again] = h.take()
    assert.deepEqual([again.type, again.seq, again.ack], [first.type, first.seq, first.ack])
    // Data went out since: a re-sent SYN-ACK still repeats the original seq, or the initiator would skip it.
    c.write(enc('early data'), null)
    c.flush(1001)
    const [early] = h.take()
    assert.equal(early.seq, first.seq)
    c.receive(pkt({ type: ST_SYN, connId: 7, seq: 70 }), 1002)
    c.flush(1002)
    const [third] = h.take()
    assert.deepEqual([third.type, third.seq, third.ack], [ST_STATE, first.seq, 70])
    // A SYN with another seq on the same ids is not ours to answer.
    c.receive(pkt({ type: ST_SYN, connId: 7, seq: 71 }), 1003)
    c.flush(1003)
    assert.equal(h.take().length, 0)
  })

  it('a half-open accepted connection that never hears from the initiator expires', () => {
    const h = new RecordingHost()
    const c = UtpConnection.accept(h, pkt({ type: ST_SYN, connId: 7, seq: 70 }), 900, 0, {}, 5000)
    c.tick(4999)
    assert.equal(c.state, 'syn-recv')
    c.tick(5000)
    assert.equal(h.closed?.code, 'ETIMEDOUT')
  })
})

describe('uTP connection: data, loss and recovery', () => {
  it('transfers data both ways in order', () => {
    const { a, b, ha, hb, pump } = pair()
    a.write(enc('ping'), null)
    b.write(enc('pong'), null)
    pump(1)
    assert.equal(hb.text(), 'ping')
    assert.equal(ha.text(), 'pong')
    assert.equal(a.inflight, 0)
    assert.equal(b.inflight, 0)
  })

  it('coalesces small writes into one packet (Nagle) and splits large writes at packetSize', () => {
    const { a, ha, hb, b } = pair({ packetSize: 1000 })
    for (let i = 0; i < 10; i++) a.write(enc('0123456789'), null)
    a.flush(1)
    const one = ha.take().filter((p) => p.type === ST_DATA)
    assert.equal(one.length, 1)
    assert.equal(one[0].payload.length, 100)
    for (const p of one) b.receive(p, 1)
    b.flush(1)
    for (const p of hb.take()) a.receive(p, 2)
    a.write(new Uint8Array(2500), null)
    a.flush(2)
    const sizes = ha
      .take()
      .filter((p) => p.type === ST_DATA)
      .map((p) => p.payload.length)
    // Initial window is 2 packets: two full ones go; the 500-byte tail waits for an ACK (Nagle).
    assert.deepEqual(sizes, [1000, 1000])
    assert.equal(a.queued, 500)
  })

  it('out-of-order data is buffered, SACKed and delivered when the hole fills', () => {
    const { a, b, ha, hb } = pair({ packetSize: 100, initialWindow: 100_000 })
    const payload = new Uint8Array(500).map((_, i) => i & 255)
    a.write(payload, null)
    a.flush(1)
    const ps = ha.take()
    assert.equal(ps.length, 5)
    for (const p of ps.slice(1)) b.receive(p, 2)
    b.flush(2)
    const acks = hb.take()
    assert.equal(acks.length, 1)
    const st = acks[0]
    assert.equal(st.type, ST_STATE)
    assert.equal(st.ack, seqAdd(ps[0].seq, -1))
    // Bits for ack+2 .. ack+5 = the four packets after the hole.
    assert.equal(st.sack?.length, 4)
    assert.equal(st.sack![0], 0b1111)
    assert.equal(hb.data.length, 0)
    // The SACK shows 3+ packets past the hole: A re-sends the first packet at once.
    a.receive(st, 3)
    a.flush(3)
    const re = ha.take()
    assert.equal(re.length, 1)
    assert.equal(re[0].seq, ps[0].seq)
    assert.equal(a.stats.fastResent, 1)
    b.receive(re[0], 4)
    assert.deepEqual(Buffer.concat(hb.data), Buffer.from(payload))
  })

  it('three duplicate ACKs (ST_STATE only) trigger a fast re-send', () => {
    const { a, ha, b } = pair({ packetSize: 100, initialWindow: 100_000 })
    a.write(new Uint8Array(400), null)
    a.flush(1)
    const ps = ha.take()
    const dup = pkt({ type: ST_STATE, connId: b.sendId, seq: b.seqNr, ack: seqAdd(ps[0].seq, -1) })
    // A data packet with the same ack is not a duplicate ACK.
    a.receive(pkt({ ...dup, type: ST_DATA, payload: enc('z') }), 2)
    a.receive(dup, 2)
    a.receive(dup, 2)
    a.flush(2)
    assert.equal(ha.take().filter((p) => p.type === ST_DATA).length, 0)
    a.receive(dup, 2)
    a.flush(2)
    const re = ha.take().filter((p) => p.type === ST_DATA)
    assert.deepEqual(
      re.map((p) => p.seq),
      [ps[0].seq],
    )
  })

  it('a lost ACK is repaired by the retransmission timeout, with back-off, and duplicates are re-acked', () => {
    const { a, ha, hb, b } = pair()
    a.write(enc('data'), null)
    a.flush(10)
    const [d] = ha.take()
    b.receive(d, 11)
    b.flush(11)
    hb.take() // the ACK is lost
    a.tick(11 + a.rtt.rto - 100)
    assert.equal(ha.take().length, 0)
    const rto = a.rtt.rto
    a.tick(10 + rto)
    const [re] = ha.take()
    assert.equal(re.seq, d.seq)
    assert.equal(a.stats.timeouts, 1)
    assert.equal(a.rtt.rto, Math.min(rto * 2, 60_000))
    b.receive(re, 2000)
    b.flush(2000)
    const [ack] = hb.take()
    assert.equal(ack.ack, d.seq)
    assert.equal(hb.text(), 'data', 'delivered once')
    a.receive(ack, 2001)
    assert.equal(a.inflight, 0)
    assert.equal(a.rtt.backoff, 0)
  })

  it('gives up after maxTimeouts consecutive timeouts (peer vanished)', () => {
    const { a, ha } = pair({ maxTimeouts: 3 })
    a.write(enc('x'), null)
    a.flush(0)
    let t = 0
    for (let i = 0; i < 100 && a.state !== 'closed'; i++) {
      t += 250
      a.tick(t)
      ha.take()
    }
    assert.equal(ha.closed?.code, 'ETIMEDOUT')
    assert.equal(a.stats.timeouts, 3)
  })

  it('respects the peer window: stops when it is full and resumes on a window update', () => {
    const { a, b, ha, hb } = pair({ packetSize: 100, initialWindow: 100_000, recvBufferSize: 300 })
    a.write(new Uint8Array(1000), null)
    hb.unread = 0
    // B advertises 300 bytes: after its first ACK, A may have at most 300 bytes in flight.
    const pumpOnce = (now: number) => {
      a.flush(now)
      const ab = ha.take()
      for (const p of ab) b.receive(p, now)
      hb.unread = hb.data.reduce((n, d) => n + d.length, 0)
      b.flush(now)
      for (const p of hb.take()) a.receive(p, now)
      return ab
    }
    pumpOnce(1)
    pumpOnce(2)
    pumpOnce(3)
    const delivered = hb.unread
    assert.ok(delivered <= 300, `unread ${delivered} within the 300-byte window`)
    assert.ok(a.queued > 0)
    // Nothing moves while the application does not read.
    assert.equal(pumpOnce(4).filter((p) => p.type === ST_DATA).length, 0)
    // The application reads everything: B sends a window update and A resumes.
    hb.data = []
    hb.unread = 0
    b.onRead()
    b.flush(5)
    for (const p of hb.take()) a.receive(p, 5)
    for (let t = 6; t < 40 && a.queued + a.inflight > 0; t++) {
      pumpOnce(t)
      hb.data = []
      hb.unread = 0
      b.onRead()
    }
    assert.equal(a.queued, 0)
    assert.equal(b.stats.bytesReceived, 1000)
  })

  it('wraps around at 65535 on both sides', () => {
    const { a, b, ha, hb, pump } = pair({ packetSize: 100, initialWindow: 100_000 }, 65530, 65533)
    const big = new Uint8Array(3000).map((_, i) => (i * 7) & 255)
    a.write(big, null)
    b.write(big, null)
    // Drop every 5th data packet once to force SACK / re-sends across the wrap.
    const dropped = new Set<string>()
    pump(1, (p, dir) => {
      const key = `${dir}${p.seq}`
      if (p.type === ST_DATA && p.seq % 5 === 0 && !dropped.has(key)) {
        dropped.add(key)
        return true
      }
      return false
    })
    for (let t = 2; t < 20_000 && a.inflight + a.queued + b.inflight + b.queued > 0; t += 500) {
      a.tick(t)
      b.tick(t)
      pump(t)
    }
    assert.deepEqual(Buffer.concat(hb.data), Buffer.from(big))
    assert.deepEqual(Buffer.concat(ha.data), Buffer.from(big))
    assert.ok(a.seqNr < 100 && b.seqNr < 100, 'sequence numbers wrapped')
  })
})

describe('uTP connection: FIN and RESET', () => {
  it('FIN with data still in flight: EOF only after the missing data arrives; FIN acked with ack = FIN seq', () => {
    const { a, b, ha, hb } = pair({ packetSize: 100, initialWindow: 100_000, nagle: false })
    a.write(new Uint8Array(300).fill(1), null)
    a.end()
    a.flush(1)
    const ps = ha.take()
    assert.deepEqual(
      ps.map((p) => p.type),
      [ST_DATA, ST_DATA, ST_DATA, ST_FIN],
    )
    const fin = ps[3]
    assert.equal(fin.seq, seqAdd(ps[2].seq, 1), 'FIN takes the next seq')
    // Deliver the FIN first, then data out of order with the first packet missing.
    b.receive(fin, 2)
    b.receive(ps[2], 2)
    b.receive(ps[1], 2)
    assert.equal(hb.ended, 0)
    b.receive(ps[0], 3)
    assert.equal(hb.ended, 1)
    assert.equal(Buffer.concat(hb.data).length, 300)
    b.flush(3)
    const acks = hb.take()
    assert.equal(acks.at(-1)?.ack, fin.seq)
    for (const p of acks) a.receive(p, 4)
    assert.equal(ha.finished, 1)
    // B closes its side too: both directions done, both close gracefully.
    b.end()
    b.flush(5)
    for (const p of hb.take()) a.receive(p, 5)
    assert.equal(ha.ended, 1)
    a.flush(5)
    for (const p of ha.take()) b.receive(p, 6)
    assert.equal(ha.closed, null)
    assert.equal(hb.closed, null)
    // While lingering, a re-sent FIN is re-acknowledged.
    b.receive(fin, 7)
    b.flush(7)
    const [reack] = hb.take()
    assert.deepEqual([reack.type, reack.ack], [ST_STATE, fin.seq])
  })

  it('a SACKed FIN does not finish the stream while data before it is missing', () => {
    const { a, b, ha, hb } = pair({ packetSize: 100, initialWindow: 100_000, nagle: false })
    b.end() // B is done reading-side-wise: A's FIN plus B's FIN acked would close A
    b.flush(1)
    for (const p of hb.take()) a.receive(p, 1)
    a.write(new Uint8Array(100), null)
    a.end()
    a.flush(2)
    const [data, fin] = ha.take()
    assert.equal(fin.type, ST_FIN)
    b.receive(fin, 3) // the data packet is lost; B SACKs the FIN
    b.flush(3)
    for (const p of hb.take()) a.receive(p, 3)
    assert.equal(ha.finished, 0)
    assert.equal(a.state, 'connected')
    b.receive(data, 4)
    b.flush(4)
    for (const p of hb.take()) a.receive(p, 4)
    assert.equal(ha.finished, 1)
  })

  it('a lost FIN is re-sent by the timeout', () => {
    const { a, b, ha, hb } = pair()
    a.end()
    a.flush(1)
    const [fin] = ha.take()
    assert.equal(fin.type, ST_FIN)
    a.tick(1 + a.rtt.rto)
    const [again] = ha.take()
    assert.deepEqual([again.type, again.seq], [ST_FIN, fin.seq])
    b.receive(again, 2000)
    assert.equal(hb.ended, 1)
  })

  it('ST_RESET closes with ECONNRESET; destroy() sends ST_RESET on the send id', () => {
    const { a, b, ha, hb } = pair()
    b.receive(pkt({ type: ST_RESET, connId: b.recvId, seq: 1, ack: 0 }), 5)
    assert.equal(hb.closed?.code, 'ECONNRESET')
    a.destroy(6)
    const [rst] = ha.take()
    assert.equal(rst.type, ST_RESET)
    assert.equal(rst.connId, a.sendId)
    assert.equal(ha.closed?.code, 'EDESTROYED')
  })

  it('ignores acks for packets never sent (forged), and keeps working', () => {
    const { a, b, ha, pump } = pair()
    a.write(enc('abc'), null)
    a.flush(1)
    const [d] = ha.take()
    a.receive(pkt({ type: ST_STATE, connId: a.recvId, seq: b.seqNr, ack: seqAdd(d.seq, 1000), wnd: 0xffffffff }), 2)
    assert.ok(a.inflight > 0, 'forged ack acknowledged nothing')
    b.receive(d, 3)
    pump(3)
    assert.equal(a.inflight, 0)
  })

  it('keep-alive: ST_STATE with ack − 1 after the idle interval; idle timeout closes', () => {
    const { a, ha } = pair({ keepaliveInterval: 1000, idleTimeout: 5000 })
    a.tick(1000)
    const [ka] = ha.take()
    assert.equal(ka.type, ST_STATE)
    assert.equal(ka.ack, seqAdd(a.ackNr, -1))
    a.tick(5000)
    assert.equal(ha.closed?.code, 'ETIMEDOUT')
  })
})

describe('uTP connection: what a peer may not make us do', () => {
  it('initiator: data that overtakes the SYN-ACK does not start the connection (it would lose the first packet)', () => {
    const h = new RecordingHost()
    const c = UtpConnection.connect(h, 0x4000, 777, 0)
    h.take()
    c.receive(pkt({ type: ST_DATA, connId: 0x4000, seq: 9001, ack: 777, payload: enc('BBB') }), 5)
    assert.equal(c.state, 'syn-sent')
    assert.equal(h.text(), '')
    c.receive(pkt({ type: ST_STATE, connId: 0x4000, seq: 9000, ack: 777 }), 6)
    assert.equal(c.state, 'connected')
    c.receive(pkt({ type: ST_DATA, connId: 0x4000, seq: 9000, ack: 777, payload: enc('AAA') }), 7)
    c.receive(pkt({ type: ST_DATA, connId: 0x4000, seq: 9001, ack: 777, payload: enc('BBB') }), 8)
    assert.equal(h.text(), 'AAABBB')
  })

  it('in-order data beyond the advertised window is dropped (and acked), so an unread stream stays bounded', () => {
    const h = new RecordingHost()
    const c = UtpConnection.accept(h, pkt({ type: ST_SYN, connId: 100, seq: 10 }), 5000, 0, {
      recvBufferSize: 64 * 1024,
    })
    h.take()
    const payload = new Uint8Array(1400)
    let delivered = 0
    for (let i = 1; i <= 2000; i++) {
      c.receive(pkt({ type: ST_DATA, connId: 101, seq: 10 + i, ack: 4999, payload }), 1)
      // The application reads nothing: everything delivered stays unread.
      delivered = h.data.reduce((n, d) => n + d.length, 0)
      h.unread = delivered
    }
    c.flush(1)
    assert.ok(delivered <= 64 * 1024 + 1400, `${delivered} bytes buffered`)
    assert.ok(c.stats.dropped > 1900)
    const ack = h.take().at(-1)!
    assert.equal(ack.type, ST_STATE)
    assert.equal(ack.ack, 10 + delivered / 1400, 'the ack stops at the last packet taken')
    assert.equal(ack.wnd, 0)
  })

  it('a peer answering with a shut window keeps the connection alive while our probes are dropped', () => {
    const h = new RecordingHost()
    const c = UtpConnection.connect(h, 0x4000, 777, 0)
    h.take()
    c.receive(pkt({ type: ST_STATE, connId: 0x4000, seq: 9000, ack: 777, wnd: 0 }), 10)
    c.write(new Uint8Array(5000), null)
    let probes = 0
    for (let t = 10; t < 300_000 && c.state !== 'closed'; t += 50) {
      c.tick(t)
      for (const p of h.take()) {
        if (p.type !== ST_DATA) continue
        probes++
        // Dropped (window shut), answered with the same ack and window.
        c.receive(pkt({ type: ST_STATE, connId: 0x4000, seq: 9000, ack: 777, wnd: 0 }), t + 20)
      }
    }
    assert.equal(c.state, 'connected', 'still open after 300 s')
    assert.ok(probes > 10, `${probes} probes`)
    // The window opens: the data goes.
    c.receive(pkt({ type: ST_STATE, connId: 0x4000, seq: 9000, ack: 777, wnd: 1 << 20 }), 300_100)
    c.flush(300_100)
    assert.ok(h.take().some((p) => p.type === ST_DATA))
  })

  it('window updates (same ack, growing window) are not duplicate ACKs', () => {
    const { a, ha, b, pump } = pair()
    a.write(new Uint8Array(4 * 1400), null)
    a.flush(1)
    const sent = ha.take().filter((p) => p.type === ST_DATA)
    assert.ok(sent.length >= 2)
    const resentBefore = a.stats.resent
    for (let i = 1; i <= 4; i++) {
      a.receive(
        pkt({ type: ST_STATE, connId: a.sendId, seq: b.seqNr, ack: sent[0].seq - 1, wnd: 100_000 + i * 10_000 }),
        2 + i,
      )
    }
    a.flush(10)
    assert.equal(a.stats.resent, resentBefore, 'no fast retransmit')
    pump(11)
  })

  it('a FIN too far ahead to be kept does not end the stream where it claimed', () => {
    const h = new RecordingHost()
    const c = UtpConnection.accept(h, pkt({ type: ST_SYN, connId: 100, seq: 10 }), 5000, 0, { maxReorder: 64 })
    c.receive(pkt({ type: ST_FIN, connId: 101, seq: 10 + 100, ack: 4999 }), 1)
    for (let i = 1; i <= 150; i++)
      c.receive(pkt({ type: ST_DATA, connId: 101, seq: 10 + i, ack: 4999, payload: enc('x') }), 2)
    assert.equal(h.text().length, 150, 'data past the dropped FIN is still taken')
    assert.equal(h.ended, 0)
  })
})
