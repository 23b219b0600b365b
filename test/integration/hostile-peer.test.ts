// Hostile peers against a Swarm on 127.0.0.1: each is disconnected or ignored with a clear reason, and the swarm
// keeps serving a well-behaved peer throughout.
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { encodeExtendedHandshake } from '../../src/codec/extension.js'
import { encodeHolepunch } from '../../src/codec/holepunch.js'
import { encodeExtendedMessage, encodeHandshake, makeReserved } from '../../src/codec/peer-wire.js'
import type { Endpoint } from '../../src/net/types.js'
import { Swarm } from '../../src/swarm/swarm.js'
import type { WireError } from '../../src/wire/errors.js'
import type { PeerConnection } from '../../src/wire/peer-connection.js'
import { until } from '../helpers/until.js'

const IH = new Uint8Array(20).fill(0x77)
const hello = () =>
  new Uint8Array([
    ...encodeHandshake({
      reserved: makeReserved({ extension: true }),
      infoHash: IH,
      peerId: crypto.getRandomValues(new Uint8Array(20)),
    }),
    ...encodeExtendedMessage(0, encodeExtendedHandshake({ m: { ut_pex: 1, ut_holepunch: 2 } })),
  ])

describe('hostile peers', () => {
  let server: Swarm
  let good: Swarm
  let goodConn: PeerConnection
  const sockets: Socket[] = []
  before(async () => {
    server = new Swarm({ infoHash: IH, host: '127.0.0.1', relay: { rateLimit: 5, floodFactor: 3 } })
    await server.listen()
    good = new Swarm({ infoHash: IH, host: '127.0.0.1' })
    goodConn = await good.connect(server.address as Endpoint)
  })
  after(async () => {
    for (const s of sockets) s.destroy()
    await good.close()
    await server.close()
  })

  /** Opens a raw socket, writes `bytes`, resolves with the reason the server closed it with (or undefined). */
  function attack(bytes: Uint8Array[], ms = 3000): Promise<WireError | undefined> {
    return new Promise((resolve) => {
      const s = connect((server.address as Endpoint).port, '127.0.0.1')
      sockets.push(s)
      s.on('error', () => {})
      const done = (conn: PeerConnection, reason: WireError) => {
        if (conn.remote.port !== s.localPort) return
        cleanup()
        resolve(reason)
      }
      const timer = setTimeout(() => {
        cleanup()
        resolve(undefined)
      }, ms)
      const cleanup = () => {
        clearTimeout(timer)
        server.off('disconnected', done)
        server.off('rejected', done)
      }
      server.on('disconnected', done)
      server.on('rejected', done)
      s.on('connect', () => {
        for (const b of bytes) s.write(b)
      })
    })
  }

  /** The long-lived good connection is still open, and a new peer gets a relay answer. */
  async function stillServing(): Promise<void> {
    assert.ok(goodConn.isOpen)
    const fresh = new Swarm({ infoHash: IH, host: '127.0.0.1' })
    try {
      const c = await fresh.connect(server.address as Endpoint)
      await until(() => !!c.remoteExtended, { within: 5000, every: 5, what: "the relay's extended handshake" })
      let timer: NodeJS.Timeout | undefined
      const answer = new Promise<number>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error('no answer from the relay')), 5000)
        c.holepunch.once('hp_error', (code) => resolve(code))
      })
      c.holepunch.sendHpRendezvous({ host: '127.0.0.1', port: 9 })
      assert.equal(await answer.finally(() => clearTimeout(timer)), 2)
    } finally {
      await fresh.close()
    }
  }

  it('garbage instead of a handshake: closed, BAD_HANDSHAKE', async () => {
    const r = await attack([new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n')])
    assert.equal(r?.code, 'BAD_HANDSHAKE')
    await stillServing()
  })

  it('a signed-looking / oversized length: closed, PROTOCOL, before the body is buffered', async () => {
    const r = await attack([hello(), new Uint8Array([0x80, 0, 0, 0])])
    assert.equal(r?.code, 'PROTOCOL')
    assert.match(r?.message ?? '', /exceeds the maximum/)
    await stillServing()
  })

  it('wrong info hash: closed, INFOHASH_MISMATCH', async () => {
    const bad = encodeHandshake({
      reserved: new Uint8Array(8),
      infoHash: new Uint8Array(20).fill(1),
      peerId: new Uint8Array(20).fill(2),
    })
    assert.equal((await attack([bad]))?.code, 'INFOHASH_MISMATCH')
    await stillServing()
  })

  it('unknown extended ids, malformed PEX and holepunch payloads: ignored and counted, connection kept', async () => {
    let conn: PeerConnection | undefined
    server.once('connected', (c) => {
      conn = c
    })
    const r = await attack(
      [
        hello(),
        encodeExtendedMessage(99, new Uint8Array([1, 2, 3])),
        encodeExtendedMessage(1, new TextEncoder().encode('d5:added3:abce')),
        encodeExtendedMessage(1, new Uint8Array([0xff, 0x00])),
        encodeExtendedMessage(4, new Uint8Array([0, 0, 127])),
        encodeExtendedMessage(4, new Uint8Array([9, 0, 127, 0, 0, 1, 0, 1, 0, 0, 0, 0])),
      ],
      1000,
    )
    // Under load the server may still be reading when the window ends: wait for the last drop to be counted.
    for (let i = 0; i < 300 && (conn?.drops.holepunch_malformed ?? 0) < 2; i++)
      await new Promise((x) => setTimeout(x, 10))
    assert.equal(r, undefined, 'not disconnected')
    assert.ok(conn?.isOpen)
    assert.equal(conn?.drops.unknown_extended_id, 1)
    assert.equal(conn?.drops.pex_malformed, 1)
    assert.equal(conn?.drops.pex_ignored_field, 1)
    assert.equal(conn?.drops.holepunch_malformed, 2)
    await stillServing()
  })

  it('a PEX flood: closed, PEX_FLOOD', async () => {
    const pex = encodeExtendedMessage(
      1,
      encode({ added: new Uint8Array(0), 'added.f': new Uint8Array(0), dropped: new Uint8Array(0) }),
    )
    const r = await attack([hello(), ...Array.from({ length: 10 }, () => pex)])
    assert.equal(r?.code, 'PEX_FLOOD')
    await stillServing()
  })

  it('a rendezvous flood: answered up to the limit, then ignored, then closed, HOLEPUNCH_FLOOD', async () => {
    const rv = encodeExtendedMessage(
      4,
      encodeHolepunch({ type: 'rendezvous', host: '127.0.0.1', port: 9, errorCode: 0 }),
    )
    const before = server.relay.stats.refused.NotConnected ?? 0
    const r = await attack([hello(), ...Array.from({ length: 30 }, () => rv)])
    assert.equal(r?.code, 'HOLEPUNCH_FLOOD')
    assert.equal((server.relay.stats.refused.NotConnected ?? 0) - before, 5, 'only the first 5 were answered')
    await stillServing()
  })

  it('a peer that never handshakes is timed out (short timeout swarm)', async () => {
    const s = new Swarm({ infoHash: IH, host: '127.0.0.1', connection: { handshakeTimeout: 200 } })
    await s.listen()
    try {
      const reason = new Promise<WireError>((res) => s.once('rejected', (_c, r) => res(r)))
      const sock = connect((s.address as Endpoint).port, '127.0.0.1')
      sockets.push(sock)
      sock.on('error', () => {})
      assert.equal((await reason).code, 'HANDSHAKE_TIMEOUT')
    } finally {
      await s.close()
    }
  })
})
