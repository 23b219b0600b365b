import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { VirtualClock } from '../../src/net/sim/clock.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import type { Clock, DatagramSocket, Endpoint } from '../../src/net/types.js'

// A tiny request/response protocol written the way DHT code is: a pending-transaction map, promises resolved from
// the datagram handler, timeouts on the injected Clock. It only sees the DatagramSocket and Clock interfaces.
class Rpc {
  private next = 0
  private readonly pending = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>()

  constructor(
    private readonly sock: DatagramSocket,
    private readonly clock: Clock,
    private readonly answer: (x: number) => Promise<number>,
  ) {
    sock.setReceiver((data, from) => this.onDatagram(data, from))
  }

  /** Sends `x`, resolves with the peer's answer or rejects after `timeoutMs`. */
  call(to: Endpoint, x: number, timeoutMs = 1000): Promise<number> {
    const tid = this.next++ & 0xffff
    return new Promise<number>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(tid)
        reject(new Error('timeout'))
      }, timeoutMs)
      this.pending.set(tid, {
        resolve: (v) => {
          timer.cancel()
          resolve(v)
        },
        reject,
      })
      this.sock.send(encode(0, tid, x), to)
    })
  }

  private onDatagram(data: Uint8Array, from: Endpoint): void {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength)
    const kind = v.getUint8(0)
    const tid = v.getUint16(1)
    const x = v.getInt32(3)
    if (kind === 0) {
      // Answer asynchronously, possibly after further network round trips.
      void this.answer(x).then((y) => this.sock.send(encode(1, tid, y), from))
    } else {
      const p = this.pending.get(tid)
      this.pending.delete(tid)
      p?.resolve(x)
    }
  }
}

function encode(kind: number, tid: number, x: number): Uint8Array {
  const b = new Uint8Array(7)
  const v = new DataView(b.buffer)
  v.setUint8(0, kind)
  v.setUint16(1, tid)
  v.setInt32(3, x)
  return b
}

/** Three nodes: A asks B, B asks C before answering (a recursive query), C doubles. One-way latency 10 ms. */
function chain(net: SimNetwork) {
  new Rpc(net.bind('198.51.100.3', 6881), net.clock, async (x) => x * 2) // C: only answers
  const cAddr = { host: '198.51.100.3', port: 6881 }
  const b: Rpc = new Rpc(net.bind('198.51.100.2', 6881), net.clock, async (x) => (await b.call(cAddr, x)) + 1)
  const bAddr = { host: '198.51.100.2', port: 6881 }
  const a = new Rpc(net.bind('198.51.100.1', 6881), net.clock, async (x) => x)
  return { a, bAddr, cAddr }
}

describe('async protocol code on virtual time', () => {
  it('runs sequential recursive round trips with exact virtual timing (settle)', async () => {
    const net = new SimNetwork({ defaults: { latencyMs: 10 } })
    const { a, bAddr } = chain(net)
    async function scenario(): Promise<number[]> {
      const out: number[] = []
      for (let i = 0; i < 5; i++) out.push(await a.call(bAddr, i))
      return out
    }
    const result = await net.clock.settle(scenario())
    assert.deepEqual(result, [1, 3, 5, 7, 9])
    assert.equal(net.clock.now(), 5 * 40, 'each call is two round trips of 20 ms')
  })

  it('times out on the virtual clock when the peer is unreachable', async () => {
    const net = new SimNetwork({ defaults: { latencyMs: 10 } })
    const { a } = chain(net)
    const err = await net.clock.settle(a.call({ host: '198.51.100.99', port: 1 }, 1, 2500)).catch((e: Error) => e)
    assert.equal((err as Error).message, 'timeout')
    assert.equal(net.clock.now(), 2500)
  })

  it('runs the same code with plain await under autoAdvance', async () => {
    const clock = new VirtualClock()
    const net = new SimNetwork({ clock, defaults: { latencyMs: 10 } })
    const { a, bAddr } = chain(net)
    const stop = clock.autoAdvance()
    try {
      const r = await Promise.all([a.call(bAddr, 10), a.call(bAddr, 20), a.call(bAddr, 30)])
      assert.deepEqual(r, [21, 41, 61])
      assert.equal(clock.now(), 40)
      await assert.rejects(a.call({ host: '198.51.100.99', port: 1 }, 1, 60_000), { message: 'timeout' })
      assert.equal(clock.now(), 60_040)
    } finally {
      stop()
    }
  })

  it('gives identical results with coalescing, and timing within the coalescing window', async () => {
    const net = new SimNetwork({
      clock: new VirtualClock({ coalesceMs: 0.05 }),
      defaults: { latencyMs: 10, jitterMs: 3 },
    })
    const { a, bAddr } = chain(net)
    const results = await net.clock.settle(Promise.all([...Array(50).keys()].map((i) => a.call(bAddr, i))))
    assert.deepEqual(
      results,
      [...Array(50).keys()].map((i) => 2 * i + 1),
    )
    assert.ok(net.clock.now() >= 40 && net.clock.now() < 52 + 4 * 0.05, `finished at ${net.clock.now()}`)
  })
})
