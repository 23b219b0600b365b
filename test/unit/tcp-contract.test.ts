// One contract, two stacks: the behaviours protocol code relies on (bytes both ways, a refused connect, half-close,
// a reset reaching the peer, closing with unread data) checked the same way on real TCP (127.0.0.1) and on the
// simulated TCP, so the simulator cannot drift from what the kernel does.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { SimNetwork } from '../../src/net/sim/network.js'
import { realTcp } from '../../src/net/tcp.js'
import type { StreamListener, StreamNetwork, StreamSocket } from '../../src/net/types.js'

interface Stacks {
  client: StreamNetwork
  server: StreamNetwork
  /** The address the server listens on. */
  host: string
  stop(): void
}

function real(): Stacks {
  return { client: realTcp, server: realTcp, host: '127.0.0.1', stop() {} }
}

function simulated(): Stacks {
  const net = new SimNetwork({ defaults: { latencyMs: 5 } })
  const stop = net.clock.autoAdvance()
  return { client: net.tcp('198.51.100.1'), server: net.tcp('203.0.113.1'), host: '203.0.113.1', stop }
}

function accepted(): { handler: (s: StreamSocket) => void; next: () => Promise<StreamSocket> } {
  const queue: StreamSocket[] = []
  const waiting: ((s: StreamSocket) => void)[] = []
  return {
    handler: (s) => {
      const w = waiting.shift()
      if (w) w(s)
      else queue.push(s)
    },
    next: () => {
      const s = queue.shift()
      return s ? Promise.resolve(s) : new Promise((r) => waiting.push(r))
    },
  }
}

function readAll(s: StreamSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => {
      text += d
    })
    s.once('end', () => resolve(text))
    s.once('error', reject)
  })
}

for (const [name, make] of [
  ['real TCP', real],
  ['simulated TCP', simulated],
] as const) {
  describe(`StreamNetwork contract: ${name}`, { timeout: 20_000 }, () => {
    const st = make()
    const listeners: StreamListener[] = []
    after(async () => {
      for (const l of listeners) await l.close()
      st.stop()
    })
    const listen = async (opts: { allowHalfOpen?: boolean } = {}) => {
      const acc = accepted()
      const l = await st.server.listen({ host: st.host, port: 0, ...opts }, acc.handler)
      listeners.push(l)
      return { at: l.address(), next: acc.next, listener: l }
    }

    it('carries bytes both ways; addresses match at both ends', async () => {
      const { at, next } = await listen()
      const c = await st.client.connect(at)
      const s = await next()
      assert.equal(c.remotePort, at.port)
      assert.equal(s.remotePort, c.localPort)
      assert.equal(s.remoteAddress, c.localAddress)
      const got = readAll(s)
      c.end('hello over tcp')
      assert.equal(await got, 'hello over tcp')
      s.destroy()
    })

    it('a port nobody listens on refuses the connect (ECONNREFUSED)', async () => {
      const { at, listener } = await listen()
      await listener.close()
      await assert.rejects(st.client.connect(at), { code: 'ECONNREFUSED' })
    })

    it('half-close: after our end() the peer still writes to us', async () => {
      const { at, next } = await listen({ allowHalfOpen: true })
      const c = await st.client.connect(at, { allowHalfOpen: true })
      const s = await next()
      const request = readAll(s)
      const reply = readAll(c)
      c.end('question')
      assert.equal(await request, 'question')
      s.end('answer')
      assert.equal(await reply, 'answer')
    })

    it('resetAndDestroy reaches the peer as ECONNRESET', async () => {
      const { at, next } = await listen()
      const c = await st.client.connect(at)
      const s = await next()
      const err = new Promise<string | undefined>((r) => s.once('error', (e: NodeJS.ErrnoException) => r(e.code)))
      c.resetAndDestroy()
      assert.equal(await err, 'ECONNRESET')
    })

    it('destroying with a little unread data (held by the stream) ends the peer with a FIN', async () => {
      const { at, next } = await listen()
      const c = await st.client.connect(at)
      const s = await next()
      s.pause()
      const arrived = new Promise<void>((r) => s.once('readable', () => r()))
      c.write('never read')
      await arrived
      const ended = readAll(c)
      s.destroy()
      assert.equal(await ended, '')
    })

    it('destroying with more unread data than the stream takes in resets the peer', async () => {
      const { at, next } = await listen()
      const c = await st.client.connect(at)
      const s = await next()
      s.pause()
      const err = new Promise<string | undefined>((r) => c.once('error', (e: NodeJS.ErrnoException) => r(e.code)))
      c.write(Buffer.alloc(4 << 20))
      // Wait until the paused reader holds more than its high-water mark (the rest waits below it).
      while (s.readableLength <= s.readableHighWaterMark) await new Promise((r) => setTimeout(r, 5))
      s.destroy()
      assert.equal(await err, 'ECONNRESET')
    })
  })
}
