import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { unmapV4 } from '../../src/net/address.js'
import { NetError } from '../../src/net/errors.js'
import type { Endpoint } from '../../src/net/types.js'
import { UdpSocket } from '../../src/net/udp.js'
import { ipv6LoopbackSkip } from '../helpers/ipv6.js'

const open: UdpSocket[] = []
after(async () => {
  await Promise.all(open.map((s) => s.close()))
})

async function bind(opts: Parameters<typeof UdpSocket.bind>[0]): Promise<UdpSocket> {
  const s = await UdpSocket.bind(opts)
  open.push(s)
  return s
}

/** Resolves with the next datagram `s` receives, or rejects after `ms`. */
function nextDatagram(s: UdpSocket, ms = 2000): Promise<{ data: Uint8Array; from: Endpoint }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no datagram')), ms)
    s.setReceiver((data, from) => {
      clearTimeout(t)
      s.setReceiver(null)
      resolve({ data, from })
    })
  })
}

describe('UdpSocket on 127.0.0.1', () => {
  it('binds an ephemeral port and exchanges datagrams both ways', async () => {
    const a = await bind({ host: '127.0.0.1' })
    const b = await bind({ host: '127.0.0.1' })
    assert.equal(a.family, 4)
    assert.equal(a.address().host, '127.0.0.1')
    assert.ok(a.address().port > 0)
    const got = nextDatagram(b)
    a.send(new Uint8Array([1, 2, 3]), b.address())
    const { data, from } = await got
    assert.ok(data instanceof Uint8Array)
    assert.deepEqual([...data], [1, 2, 3])
    assert.deepEqual(from, a.address())
    const back = nextDatagram(a)
    b.send(new TextEncoder().encode('pong'), from)
    assert.equal(new TextDecoder().decode((await back).data), 'pong')
    assert.equal(a.stats().sent, 1)
    assert.equal(b.stats().received, 1)
  })

  it('asks for large kernel buffers by default', async () => {
    const a = await bind({ host: '127.0.0.1' })
    const small = await bind({ host: '127.0.0.1', recvBufferSize: 4096, sendBufferSize: 4096 })
    // The kernel clamps to rmem_max, so only compare: the default request is never smaller than a tiny one.
    assert.ok(a.bufferSizes().recv >= small.bufferSizes().recv)
    assert.ok(a.bufferSizes().send >= small.bufferSizes().send)
  })

  it('rejects a second bind of the same port with EADDRINUSE', async () => {
    const a = await bind({ host: '127.0.0.1' })
    await assert.rejects(UdpSocket.bind({ host: '127.0.0.1', port: a.address().port }), (e: unknown) => {
      return e instanceof NetError && e.code === 'EADDRINUSE'
    })
  })

  it('rejects a host name and a mismatched family with EINVAL', async () => {
    await assert.rejects(UdpSocket.bind({ host: 'localhost' }), { code: 'EINVAL' })
    await assert.rejects(UdpSocket.bind({ host: '127.0.0.1', family: 6 }), { code: 'EINVAL' })
  })

  it('honours an already-aborted signal', async () => {
    const ac = new AbortController()
    ac.abort()
    await assert.rejects(UdpSocket.bind({ host: '127.0.0.1', signal: ac.signal }), { code: 'ABORT_ERR' })
  })

  it('never throws from send: bad destinations are counted', async () => {
    const a = await bind({ host: '127.0.0.1' })
    a.send(new Uint8Array(1), { host: 'example.invalid', port: 1 })
    a.send(new Uint8Array(1), { host: '127.0.0.1', port: 0 })
    a.send(new Uint8Array(1), { host: '127.0.0.1', port: 70000 })
    a.send(new Uint8Array(1), { host: '::1', port: 9 })
    a.send(new Uint8Array(70000), { host: '127.0.0.1', port: 9 }) // over the UDP maximum
    await new Promise((r) => setTimeout(r, 20))
    const st = a.stats()
    assert.equal(st.sendRejected, 4)
    assert.equal(st.sendErrors, 1, 'EMSGSIZE from the kernel, through the send callback')
    assert.match(a.lastSendError?.message ?? '', /EMSGSIZE/)
  })

  it('sends to a v4-mapped v6 destination from a v4 socket', async () => {
    const a = await bind({ host: '127.0.0.1' })
    const b = await bind({ host: '127.0.0.1' })
    const got = nextDatagram(b)
    a.send(new Uint8Array([9]), { host: '::ffff:127.0.0.1', port: b.address().port })
    assert.deepEqual([...(await got).data], [9])
  })

  it('catches and counts receiver exceptions', async () => {
    const a = await bind({ host: '127.0.0.1' })
    const b = await bind({ host: '127.0.0.1' })
    let calls = 0
    b.setReceiver(() => {
      calls++
      throw new Error('boom')
    })
    a.send(new Uint8Array([1]), b.address())
    a.send(new Uint8Array([2]), b.address())
    const deadline = Date.now() + 2000
    while (b.stats().receiverErrors < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    assert.equal(calls, 2)
    assert.equal(b.stats().receiverErrors, 2)
    assert.equal((b.lastReceiverError as Error).message, 'boom')
  })

  it('counts datagrams that arrive with no receiver', async () => {
    const a = await bind({ host: '127.0.0.1' })
    const b = await bind({ host: '127.0.0.1' })
    a.send(new Uint8Array([1]), b.address())
    const deadline = Date.now() + 2000
    while (b.stats().unhandled < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    assert.equal(b.stats().unhandled, 1)
  })

  it('close() is idempotent and later sends are rejected, not thrown', async () => {
    const a = await UdpSocket.bind({ host: '127.0.0.1' })
    const p1 = a.close()
    const p2 = a.close()
    assert.equal(p1, p2)
    await p1
    await a.close()
    a.send(new Uint8Array(1), { host: '127.0.0.1', port: 9 })
    assert.equal(a.stats().sendRejected, 1)
  })
})

describe('UdpSocket on ::1', async () => {
  const skip = await ipv6LoopbackSkip()

  it('exchanges datagrams over ::1', { skip }, async () => {
    const a = await bind({ host: '::1' })
    const b = await bind({ host: '::1' })
    assert.equal(a.family, 6)
    const got = nextDatagram(b)
    a.send(new Uint8Array([6]), b.address())
    const { data, from } = await got
    assert.deepEqual([...data], [6])
    assert.deepEqual(from, { host: '::1', port: a.address().port })
  })

  it('a v6-only socket refuses v4 destinations; a dual-stack one maps them and reports them unmapped', {
    skip,
  }, async () => {
    const only6 = await bind({ family: 6, host: '::' })
    only6.send(new Uint8Array(1), { host: '127.0.0.1', port: 9 })
    assert.equal(only6.stats().sendRejected, 1)

    const dual = await bind({ family: 6, dualStack: true })
    const v4 = await bind({ host: '127.0.0.1' })
    const got = nextDatagram(v4)
    dual.send(new Uint8Array([4]), { host: '127.0.0.1', port: v4.address().port })
    const { from } = await got
    assert.equal(from.host, '127.0.0.1')
    const back = nextDatagram(dual)
    v4.send(new Uint8Array([5]), { host: '127.0.0.1', port: dual.address().port })
    const r = await back
    assert.equal(r.from.host, '127.0.0.1', 'v4-mapped source is reported as plain IPv4')
  })
})

describe('unmapV4', () => {
  it('unmaps dotted and hex forms and leaves others alone', () => {
    assert.equal(unmapV4('::ffff:1.2.3.4'), '1.2.3.4')
    assert.equal(unmapV4('::FFFF:102:304'), '1.2.3.4')
    assert.equal(unmapV4('0:0:0:0:0:ffff:1.2.3.4'), '1.2.3.4')
    assert.equal(unmapV4('::1'), '::1')
    assert.equal(unmapV4('1.2.3.4'), '1.2.3.4')
    assert.equal(unmapV4('2001:db8::1'), '2001:db8::1')
  })
})
