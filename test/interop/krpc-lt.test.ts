// Our KRPC builders against a real libtorrent 2.0.8 DHT node on 127.0.0.1, and parseKrpc on what it answers.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  buildAnnouncePeerQuery,
  buildFindNodeQuery,
  buildGetPeersQuery,
  buildPingQuery,
  buildQuery,
  decodePeer,
  decodePeerValues,
  encode,
  type KrpcMessage,
  parseKrpc,
  toHex,
} from '../../src/codec/index.js'
import { libtorrentSkip, PYTHON } from './lt-available.js'

const skip = libtorrentSkip()

describe('KRPC interop with libtorrent 2.0.8', { skip, timeout: 60_000 }, () => {
  let lt: ChildProcess
  let sock: Socket
  let ltPort = 0
  let tidCounter = 0x1000
  const myId = new Uint8Array(20).fill(0x5a)
  const infoHash = Uint8Array.from({ length: 20 }, (_, i) => i * 13)

  before(async () => {
    lt = spawn(PYTHON, [fileURLToPath(new URL('lt_krpc_peer.py', import.meta.url)), '40'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const lines = createInterface({ input: lt.stdout! })
    ltPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('libtorrent did not become ready')), 20_000)
      lines.on('line', (line) => {
        const ev = JSON.parse(line) as { event: string; port: number }
        if (ev.event === 'ready') {
          clearTimeout(timer)
          resolve(ev.port)
        }
      })
      lt.on('exit', (code) => reject(new Error(`libtorrent helper exited (${code})`)))
    })
    sock = createSocket('udp4')
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve))
  })

  after(() => {
    sock?.close()
    lt?.stdin?.end()
    lt?.kill()
  })

  /** Sends `pkt` and resolves with the first datagram from libtorrent whose `t` matches. */
  function exchange(pkt: (tid: Uint8Array) => Uint8Array): Promise<{ raw: Uint8Array; msg: KrpcMessage }> {
    const tid = Uint8Array.of(tidCounter >> 8, tidCounter++ & 0xff)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sock.off('message', onMessage)
        reject(new Error('no reply from libtorrent within 5 s'))
      }, 5000)
      const onMessage = (data: Buffer) => {
        const raw = new Uint8Array(data)
        const msg = parseKrpc(raw)
        if (toHex(msg.t) !== toHex(tid)) return // e.g. libtorrent's own queries to us
        clearTimeout(timer)
        sock.off('message', onMessage)
        resolve({ raw, msg })
      }
      sock.on('message', onMessage)
      sock.send(pkt(tid), ltPort, '127.0.0.1')
    })
  }

  it('ping: libtorrent answers with its id, our address (BEP 42 ip) and v', async () => {
    const { msg } = await exchange((t) => buildPingQuery(t, myId))
    assert.equal(msg.y, 'r')
    if (msg.y !== 'r') return
    assert.equal(msg.r.id.length, 20)
    assert.deepEqual(decodePeer(msg.ip!), { host: '127.0.0.1', port: sock.address().port })
    assert.equal(toHex(msg.v!).slice(0, 4), '4c54') // "LT"
  })

  it('find_node with want n4: a reply whose nodes parse', async () => {
    const { msg } = await exchange((t) => buildFindNodeQuery(t, myId, infoHash, { want: ['n4'] }))
    assert.ok(msg.y === 'r')
    if (msg.y === 'r' && msg.r.nodes) assert.equal(msg.r.nodes.length % 26, 0)
  })

  it('get_peers → token → announce_peer → get_peers returns our peer', async () => {
    const first = await exchange((t) => buildGetPeersQuery(t, myId, infoHash))
    assert.ok(first.msg.y === 'r')
    if (first.msg.y !== 'r') return
    const token = first.msg.r.token
    assert.ok(token, 'libtorrent sent a token')
    assert.equal(token.length, 4)
    const ann = await exchange((t) => buildAnnouncePeerQuery(t, myId, infoHash, token.slice(), 6881))
    assert.equal(ann.msg.y, 'r', `announce answered ${JSON.stringify(ann.msg.y === 'e' ? ann.msg.e : '')}`)
    const again = await exchange((t) => buildGetPeersQuery(t, myId, infoHash))
    assert.ok(again.msg.y === 'r')
    if (again.msg.y !== 'r') return
    assert.deepEqual(decodePeerValues(again.msg.r.values ?? []), [{ host: '127.0.0.1', port: 6881 }])
  })

  it('implied_port: libtorrent stores our UDP source port', async () => {
    const ih = new Uint8Array(20).fill(0x77)
    const gp = await exchange((t) => buildGetPeersQuery(t, myId, ih))
    assert.ok(gp.msg.y === 'r' && gp.msg.r.token)
    if (gp.msg.y !== 'r' || !gp.msg.r.token) return
    const token = gp.msg.r.token.slice()
    const ann = await exchange((t) => buildAnnouncePeerQuery(t, myId, ih, token, 1, { impliedPort: true }))
    assert.equal(ann.msg.y, 'r')
    const again = await exchange((t) => buildGetPeersQuery(t, myId, ih))
    assert.ok(again.msg.y === 'r')
    if (again.msg.y === 'r') {
      assert.deepEqual(decodePeerValues(again.msg.r.values ?? []), [{ host: '127.0.0.1', port: sock.address().port }])
    }
  })

  it('errors come back as y:e and parse: bad token, missing key, unknown method', async () => {
    const bad = await exchange((t) => buildAnnouncePeerQuery(t, myId, infoHash, Uint8Array.of(1, 2, 3, 4), 6881))
    assert.ok(bad.msg.y === 'e')
    if (bad.msg.y === 'e') assert.deepEqual(bad.msg.e, [203, 'invalid token'])

    const missing = await exchange((t) => encode({ t, y: 'q', q: 'get_peers', a: { id: myId } }))
    assert.ok(missing.msg.y === 'e')
    if (missing.msg.y === 'e') assert.deepEqual(missing.msg.e, [203, "missing 'info_hash' key"])

    const unknown = await exchange((t) => buildQuery(t, 'frobnicate', { id: myId }))
    assert.ok(unknown.msg.y === 'e')
    if (unknown.msg.y === 'e') assert.equal(unknown.msg.e[0], 203)
  })
})
