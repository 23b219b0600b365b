import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fromHex, toHex } from '../../src/codec/bytes.js'
import { UdpSocket } from '../../src/net/udp.js'
import { UtpSocketManager } from '../../src/utp/socket-manager.js'
import type { UtpStream } from '../../src/utp/stream.js'
import { PeerConnection } from '../../src/wire/peer-connection.js'
import { LtPeer, makeTorrent, requireLibtorrent } from './lt-utp-helper.js'

const opts = { ...requireLibtorrent(), timeout: 90_000 }
const peerId = () => new Uint8Array(randomBytes(20))
const once = <T>(emitter: { once(e: string, f: (v: T) => void): unknown }, event: string) =>
  new Promise<T>((r) => emitter.once(event, r))

describe('uTP interop with libtorrent 2.0 (TCP disabled on its side)', opts, () => {
  let sock: UdpSocket
  let mgr: UtpSocketManager
  const peers: LtPeer[] = []
  const dirs: string[] = []
  before(async () => {
    sock = await UdpSocket.bind({ host: '127.0.0.1' })
    mgr = new UtpSocketManager(sock)
  })
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    await mgr.close()
    await sock.close()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'utp-interop-'))
    dirs.push(d)
    return d
  }

  it('(a) we dial libtorrent over uTP and complete the BitTorrent and extended handshakes', async () => {
    const lt = new LtPeer(['seed', String(256 * 1024)])
    peers.push(lt)
    const ready = await lt.waitFor('ready')
    const infoHash = fromHex(String(ready.info_hash))!
    const stream = await mgr.dial({ host: '127.0.0.1', port: Number(ready.port) })
    const conn = new PeerConnection({
      stream,
      transport: 'utp',
      direction: 'outgoing',
      remote: { host: stream.remoteAddress, port: stream.remotePort },
      peerId: peerId(),
      infoHash,
    })
    // Everything may arrive in one chunk: listen for all of it before awaiting any of it.
    const hsP = once<{ infoHash: Uint8Array }>(conn, 'handshake')
    const extP = once<{ v?: string; m: Record<string, number> }>(conn, 'extended_handshake')
    // A seed announces its pieces (have_all with the Fast extension, or a bitfield).
    const haveP = new Promise<void>((resolve) => {
      conn.on('have_all', () => resolve())
      conn.on('bitfield', () => resolve())
    })
    const hs = await hsP
    assert.equal(toHex(hs.infoHash), toHex(infoHash))
    const ext = await extP
    assert.match(String(ext.v), /libtorrent/i)
    await haveP
    conn.close()
  })

  it('(b) libtorrent dials our uTP listener and completes both handshakes', async () => {
    const { torrent, infoHash } = makeTorrent(randomBytes(64 * 1024), 16 * 1024)
    const dir = tmp()
    writeFileSync(join(dir, 'b.torrent'), torrent)
    const accepted = once<UtpStream>(mgr, 'connection')
    const lt = new LtPeer(['fetch', join(dir, 'b.torrent'), dir, '127.0.0.1', String(sock.address().port)])
    peers.push(lt)
    const stream = await accepted
    const conn = new PeerConnection({
      stream,
      transport: 'utp',
      direction: 'incoming',
      remote: { host: stream.remoteAddress, port: stream.remotePort },
      peerId: peerId(),
      infoHash,
    })
    const hsP = once<{ infoHash: Uint8Array }>(conn, 'handshake')
    const extP = once<{ v?: string }>(conn, 'extended_handshake')
    const hs = await hsP
    assert.equal(toHex(hs.infoHash), toHex(infoHash))
    const ext = await extP
    assert.match(String(ext.v), /libtorrent/i)
    await lt.waitFor('peer', 10_000, (e) => e.alert === 'peer_connect_alert')
    conn.close()
    await lt.stop()
  })

  it('(c) a libtorrent downloader fetches a 16 MiB torrent from our seeder over uTP, hash-checked', async () => {
    const data = randomBytes(16 * 1024 * 1024)
    const pieceLength = 256 * 1024
    const { torrent, infoHash, pieceCount } = makeTorrent(data, pieceLength)
    const dir = tmp()
    writeFileSync(join(dir, 'c.torrent'), torrent)
    const served = { blocks: 0 }
    const onConnection = (stream: UtpStream) => {
      const conn = new PeerConnection({
        stream,
        transport: 'utp',
        direction: 'incoming',
        remote: { host: stream.remoteAddress, port: stream.remotePort },
        peerId: peerId(),
        infoHash,
        maxSendBuffer: 64 << 20,
      })
      conn.on('handshake', () => {
        // A full bitfield (spare bits zero): the Fast extension's have_all is only valid if both sides claim it.
        const bitfield = new Uint8Array(Math.ceil(pieceCount / 8))
        for (let i = 0; i < pieceCount; i++) bitfield[i >> 3] |= 0x80 >> (i & 7)
        conn.send({ type: 'bitfield', bitfield })
        conn.send({ type: 'unchoke' })
      })
      conn.on('request', (m) => {
        const off = m.index * pieceLength + m.begin
        if (m.index >= pieceCount || m.length > 128 * 1024 || off + m.length > data.length) return
        served.blocks++
        conn.send({ type: 'piece', index: m.index, begin: m.begin, block: data.subarray(off, off + m.length) })
      })
    }
    mgr.on('connection', onConnection)
    try {
      const lt = new LtPeer(['fetch', join(dir, 'c.torrent'), dir, '127.0.0.1', String(sock.address().port)])
      peers.push(lt)
      await lt.waitFor('finished', 80_000)
      assert.equal(lt.events.filter((e) => e.event === 'hash_failed').length, 0, 'libtorrent found no bad piece')
      assert.ok(served.blocks >= (16 * 1024 * 1024) / (16 * 1024))
      await lt.stop()
    } finally {
      mgr.off('connection', onConnection)
    }
  })
})
