// The receiving half of a uTP connection alone: packets in, payload and the end of the stream out to a recording
// sink, and what our packets must report (ack, SACK, window, delay echo). No connection, no sender.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ST_DATA, ST_FIN, UTP_HEADER_SIZE } from '../../src/codec/utp-packet.js'
import { usNow } from '../../src/utp/host.js'
import { type ReceiverSink, UtpReceiver } from '../../src/utp/receiver.js'
import { newStats } from '../../src/utp/stats.js'
import { pkt } from './utp-harness.js'

class RecordingSink implements ReceiverSink {
  data: number[] = []
  eofAt: number[] = []
  unread = 0
  onPayload(p: Uint8Array): void {
    this.data.push(...p)
  }
  onEof(now: number): void {
    this.eofAt.push(now)
  }
  unreadBytes(): number {
    return this.unread
  }
}

const readU32 = (b: Uint8Array, off: number) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32BE(off)

const LAST = 500 // the peer's seq taken as received: its first data packet is 501
function setup(opts: { recvBufferSize?: number; packetSize?: number; maxReorder?: number } = {}) {
  const sink = new RecordingSink()
  const stats = newStats()
  const rx = new UtpReceiver(
    {
      recvBufferSize: opts.recvBufferSize ?? 10_000,
      packetSize: opts.packetSize ?? 100,
      maxReorder: opts.maxReorder ?? 64,
    },
    LAST,
    stats,
    sink,
  )
  const data = (i: number, bytes: number[], now = 1) =>
    rx.onData(pkt({ type: ST_DATA, seq: LAST + i, payload: Uint8Array.from(bytes) }), now)
  const fin = (i: number, now = 1) => rx.onData(pkt({ type: ST_FIN, seq: LAST + i }), now)
  return { sink, stats, rx, data, fin }
}

describe('uTP receiver alone', () => {
  it('delivers in order, advances the ack, asks for an ACK, and counts duplicates', () => {
    const { rx, sink, stats, data } = setup()
    data(1, [1, 2])
    data(2, [3])
    assert.deepEqual(sink.data, [1, 2, 3])
    assert.equal(rx.ackNr, LAST + 2)
    assert.equal(rx.ackDue, true)
    assert.equal(stats.bytesReceived, 3)
    rx.ackDue = false
    data(2, [3])
    assert.equal(stats.duplicates, 1)
    assert.equal(rx.ackDue, true, 'a duplicate is re-acknowledged (its ACK may have been lost)')
    assert.deepEqual(sink.data, [1, 2, 3])
  })

  it('holds out-of-order data, describes it in a SACK, and delivers it when the hole fills', () => {
    const { rx, sink, stats, data } = setup()
    data(3, [30])
    data(5, [50])
    assert.deepEqual(sink.data, [])
    assert.equal(rx.hasGaps, true)
    assert.equal(stats.outOfOrder, 2)
    assert.equal(rx.advertisedWindow(), 10_000 - 2, 'held bytes shrink the window')
    const len = rx.sackLength()
    assert.equal(len, 4)
    const bits = new Uint8Array(len)
    rx.writeSack(bits, 0, len)
    // Bit i stands for ack + 2 + i: 503 is bit 1, 505 is bit 3.
    assert.equal(bits[0], 0b1010)
    data(2, [20])
    data(1, [10])
    assert.deepEqual(sink.data, [10, 20, 30])
    assert.equal(rx.ackNr, LAST + 3)
    data(4, [40])
    assert.deepEqual(sink.data, [10, 20, 30, 40, 50])
    assert.equal(rx.hasGaps, false)
    assert.equal(rx.sackLength(), 0)
  })

  it('enforces the window it advertises (one packet of slack) and the reordering limit', () => {
    const { rx, sink, stats, data } = setup({ recvBufferSize: 300, packetSize: 100, maxReorder: 4 })
    sink.unread = 250
    assert.equal(rx.advertisedWindow(), 50)
    data(1, new Array(100).fill(1)) // 250 + 100 ≤ 300 + 100
    assert.equal(rx.ackNr, LAST + 1)
    sink.unread = 350
    assert.equal(rx.advertisedWindow(), 0)
    data(2, new Array(100).fill(2)) // 350 + 100 > 400: dropped, still acknowledged
    assert.equal(rx.ackNr, LAST + 1)
    assert.equal(stats.dropped, 1)
    sink.unread = 0
    data(7, [7]) // 6 ahead of the ack: past maxReorder
    assert.equal(stats.dropped, 2)
    assert.equal(rx.hasGaps, false)
  })

  it('the end of the stream comes only after every byte before the FIN; nothing past it is accepted', () => {
    const { rx, sink, data, fin } = setup()
    fin(3, 7)
    data(4, [4])
    assert.equal(rx.gotEof, false)
    data(1, [1])
    assert.deepEqual(sink.eofAt, [])
    data(2, [2], 9)
    assert.deepEqual(sink.data, [1, 2])
    assert.equal(rx.gotEof, true)
    assert.deepEqual(sink.eofAt, [9])
    assert.equal(rx.ackNr, LAST + 3)
    data(4, [4])
    assert.deepEqual(sink.data, [1, 2], 'data past the FIN is never delivered')
  })

  it('stamps a re-sent packet with a fresh timestamp, the delay echo, the window and the ack', () => {
    const { rx, data } = setup()
    data(1, [1])
    rx.onTimestamp(1000, 5) // the peer's timestamp 1000 µs, received at 5 ms
    assert.equal(rx.delayEcho, usNow(5) - 1000)
    const buf = new Uint8Array(UTP_HEADER_SIZE)
    rx.stamp(buf, 7)
    assert.equal(readU32(buf, 4), usNow(7))
    assert.equal(readU32(buf, 8), usNow(5) - 1000)
    assert.equal(readU32(buf, 12), 10_000)
    assert.equal((buf[18] << 8) | buf[19], LAST + 1)
  })

  it('a read reopening a nearly closed window asks for an ACK (window update); otherwise not', () => {
    const { rx, sink } = setup({ recvBufferSize: 1000, packetSize: 100 })
    sink.unread = 900
    assert.equal(rx.advertise(), 100)
    sink.unread = 0
    rx.onRead()
    assert.equal(rx.ackDue, true)
    rx.ackDue = false
    assert.equal(rx.advertise(), 1000)
    rx.onRead()
    assert.equal(rx.ackDue, false, 'the peer already knows the window is open')
  })
})
