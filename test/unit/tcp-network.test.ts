// The real TCP adapter (net/tcp.ts) on 127.0.0.1: connect and listen as promises, typed errors, abort, no name
// resolution, and a reset reaching the peer as ECONNRESET.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { NetError } from '../../src/net/errors.js'
import { realTcp } from '../../src/net/tcp.js'
import type { StreamSocket } from '../../src/net/types.js'

describe('TcpNetwork (real TCP)', () => {
  it('listens, connects, and carries bytes both ways; endpoints are canonical', async () => {
    const accepted: StreamSocket[] = []
    const l = await realTcp.listen({ host: '127.0.0.1' }, (s) => {
      accepted.push(s)
      s.pipe(s)
    })
    try {
      const at = l.address()
      assert.equal(at.host, '127.0.0.1')
      assert.ok(at.port > 0)
      const c = await realTcp.connect(at)
      assert.equal(c.remoteAddress, '127.0.0.1')
      assert.equal(c.remotePort, at.port)
      const echoed = new Promise<string>((r) => c.once('data', (d: Buffer) => r(d.toString())))
      c.write('ping')
      assert.equal(await echoed, 'ping')
      assert.equal(accepted.length, 1)
      c.destroy()
    } finally {
      await l.close()
    }
  })

  it('a closed port: ECONNREFUSED; a name: EINVAL without any lookup; a bound port: EADDRINUSE', async () => {
    const l = await realTcp.listen({ host: '127.0.0.1' }, (s) => s.destroy())
    const port = l.address().port
    await assert.rejects(
      realTcp.listen({ host: '127.0.0.1', port }, () => {}),
      (e: NetError) => e.code === 'EADDRINUSE',
    )
    await l.close()
    await assert.rejects(realTcp.connect({ host: '127.0.0.1', port }), (e: NetError) => e.code === 'ECONNREFUSED')
    await assert.rejects(realTcp.connect({ host: 'localhost', port }), (e: NetError) => e.code === 'EINVAL')
  })

  it('an aborted connect rejects with the signal reason', async () => {
    const ac = new AbortController()
    ac.abort(new Error('stop'))
    await assert.rejects(realTcp.connect({ host: '127.0.0.1', port: 9 }, { signal: ac.signal }), /stop/)
  })

  it('resetAndDestroy: the peer sees ECONNRESET', async () => {
    let server: StreamSocket | undefined
    let arrived: () => void = () => {}
    const gotServer = new Promise<void>((r) => {
      arrived = r
    })
    const l = await realTcp.listen({ host: '127.0.0.1' }, (s) => {
      server = s
      arrived()
    })
    try {
      const c = await realTcp.connect(l.address())
      await gotServer
      const err = new Promise<NodeJS.ErrnoException>((r) => server!.once('error', r))
      c.resetAndDestroy()
      assert.equal((await err).code, 'ECONNRESET')
    } finally {
      await l.close()
    }
  })
})
