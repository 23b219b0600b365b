import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { UdpSocket } from '../../src/net/udp.js'
import { UtpSocketManager } from '../../src/utp/socket-manager.js'
import type { UtpStream } from '../../src/utp/stream.js'
import { ipv6LoopbackSkip } from '../helpers/ipv6.js'

const MiB = 1024 * 1024
const SIZE = Number(process.env.UTP_LOOPBACK_MIB ?? 64) * MiB

function sha1(chunks: Buffer[]): string {
  const h = createHash('sha1')
  for (const c of chunks) h.update(c)
  return h.digest('hex')
}

describe('uTP over real UDP on 127.0.0.1', { timeout: 120_000 }, () => {
  let a: UdpSocket
  let b: UdpSocket
  let ma: UtpSocketManager
  let mb: UtpSocketManager
  before(async () => {
    a = await UdpSocket.bind({ host: '127.0.0.1' })
    b = await UdpSocket.bind({ host: '127.0.0.1' })
    ma = new UtpSocketManager(a)
    mb = new UtpSocketManager(b)
  })
  after(async () => {
    await ma.close()
    await mb.close()
    await a.close()
    await b.close()
  })

  it(`transfers ${SIZE / MiB} MiB byte-identical and closes both sides`, async () => {
    const data = randomBytes(SIZE)
    const accepted = new Promise<UtpStream>((resolve) => mb.once('connection', resolve))
    const client = await ma.dial(b.address())
    const server = await accepted
    client.resume()
    const got: Buffer[] = []
    let n = 0
    const received = new Promise<void>((resolve, reject) => {
      server.on('data', (d: Buffer) => {
        got.push(d)
        n += d.length
      })
      server.on('end', () => resolve())
      server.on('error', reject)
    })
    // Write in 64 KiB pieces, respecting back-pressure.
    for (let off = 0; off < SIZE; off += 65536) {
      if (!client.write(data.subarray(off, off + 65536))) await new Promise((r) => client.once('drain', r))
    }
    client.end()
    await received
    assert.equal(n, SIZE)
    assert.equal(sha1(got), sha1([data]))
    await Promise.all([new Promise((r) => client.once('close', r)), new Promise((r) => server.once('close', r))])
  })

  it('echoes small messages both ways', async () => {
    const accepted = new Promise<UtpStream>((resolve) => mb.once('connection', resolve))
    const client = await ma.dial(b.address())
    const server = await accepted
    server.pipe(server)
    const want = Array.from({ length: 100 }, (_, i) => `msg ${i};`).join('')
    // Decided by the data itself: once as many bytes came back as went out, they must be the same bytes.
    const echoed = new Promise<string>((resolve, reject) => {
      let got = ''
      client.on('data', (d: Buffer) => {
        got += d.toString()
        if (got.length >= want.length) resolve(got)
      })
      client.once('error', reject)
    })
    for (let i = 0; i < 100; i++) client.write(Buffer.from(`msg ${i};`))
    assert.equal(await echoed, want)
    client.end()
    await new Promise((r) => client.once('close', r))
  })

  it('works over IPv6 loopback (::1)', async (t) => {
    const noV6 = await ipv6LoopbackSkip()
    if (noV6) return t.skip(noV6)
    const a6 = await UdpSocket.bind({ host: '::1' })
    const b6 = await UdpSocket.bind({ host: '::1' })
    const m1 = new UtpSocketManager(a6)
    const m2 = new UtpSocketManager(b6)
    try {
      m2.on('connection', (s) => s.pipe(s))
      const c = await m1.dial(b6.address())
      assert.equal(c.remoteFamily, 'IPv6')
      const data = randomBytes(256 * 1024)
      const got: Buffer[] = []
      c.on('data', (d: Buffer) => got.push(d))
      c.end(data)
      await new Promise((r) => c.once('end', r))
      assert.ok(Buffer.concat(got).equals(data))
    } finally {
      await m1.close()
      await m2.close()
      await a6.close()
      await b6.close()
    }
  })
})
