// Peer wire, PEX and BEP 55 against libtorrent 2.0 (python3-libtorrent) on 127.0.0.1.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { after, before, describe, it } from 'node:test'
import { toHex } from '../../src/codec/bytes.js'
import type { Endpoint } from '../../src/net/types.js'
import { Swarm, type SwarmOptions } from '../../src/swarm/swarm.js'
import type { PeerConnection } from '../../src/wire/peer-connection.js'
import { LtPeers, libtorrentSkip } from './lt-peer-process.js'

const skip = libtorrentSkip()
const LT = { host: '127.0.0.1' }

function randomHash(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(20)))
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms))),
    ])
  } finally {
    clearTimeout(t)
  }
}

function ready(c: PeerConnection): Promise<void> {
  return until(() => c.remoteExtended !== undefined, 10_000, 'extended handshake')
}

describe('interop with libtorrent 2.0: peer wire, PEX, holepunch', { skip }, () => {
  let lt: LtPeers
  const swarms: Swarm[] = []
  const swarm = async (ih: string, opts: Partial<SwarmOptions> = {}) => {
    const s = new Swarm({ infoHash: Buffer.from(ih, 'hex'), host: '127.0.0.1', ...opts })
    swarms.push(s)
    await s.listen()
    return s
  }
  before(() => {
    lt = LtPeers.spawn()
  })
  after(async () => {
    await Promise.all(swarms.map((s) => s.close()))
    await lt?.close()
  })

  it('(a) handshakes over TCP and parses its extended handshake (ut_pex, ut_holepunch)', async () => {
    const ih = randomHash()
    const port = await lt.start('a', ih)
    const s = await swarm(ih)
    const c = await s.connect({ ...LT, port })
    await ready(c)
    assert.equal(toHex(c.remoteHandshake?.reserved ?? new Uint8Array()), '0000000000100005')
    assert.match(new TextDecoder().decode(c.remotePeerId), /^-LT20[0-9]0-/)
    const x = c.remoteExtended
    assert.equal(x?.v, 'libtorrent/2.0.8.0')
    assert.equal(x?.yourip, '127.0.0.1')
    assert.equal(x?.reqq, 2000)
    assert.ok(x?.m.ut_pex && x.m.ut_holepunch, `m = ${JSON.stringify(x?.m)}`)
    assert.ok('complete_ago' in (x?.extra ?? {}), 'unknown keys are kept')
    assert.ok(c.holepunch.supported && c.pex.supported)
    // libtorrent saw our extended handshake too: its log shows our client name.
    await lt.alert('a', /mainline\/0\.1\.0/)
  })

  it("mainline peer handshake (CLI) prints libtorrent's handshake and its PEX", async () => {
    const ih = randomHash()
    const pa = await lt.start('cli_a', ih)
    const pb = await lt.start('cli_b', ih)
    lt.connect('cli_b', '127.0.0.1', pa)
    await until(async () => (await lt.peers('cli_a')).length > 0, 10_000, 'cli_b connected to cli_a')
    const main = new URL('../../src/cli/main.ts', import.meta.url).pathname
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      main,
      'peer',
      'handshake',
      `127.0.0.1:${pa}`,
      '--infohash',
      ih,
      '--timeout',
      '3',
      '--json',
    ])
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    const code = await new Promise<number | null>((r) => child.on('close', r))
    assert.equal(code, 0)
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const h = lines[0]
    assert.equal(h.event, 'handshake')
    assert.equal(h.client, 'libtorrent/2.0.8.0')
    assert.equal(h.reserved, '0000000000100005')
    assert.equal(h.transport, 'tcp')
    assert.equal(h.yourip, '127.0.0.1')
    const ext = h.extensions as Record<string, number>
    assert.ok(ext.ut_pex > 0 && ext.ut_holepunch > 0)
    const pex = lines.filter((l) => l.event === 'pex')
    assert.ok(
      pex.some((l) => (l.added as { port: number }[]).some((x) => x.port === pb)),
      stdout,
    )
  })

  it('(b) learns libtorrent peers from its PEX, and libtorrent learns a peer from ours', async () => {
    const ih = randomHash()
    const pa = await lt.start('pa', ih)
    await lt.start('pb', ih)
    lt.connect('pb', '127.0.0.1', pa)
    await until(async () => (await lt.peers('pa')).length > 0, 10_000, 'pb connected to pa')
    const pbPort = (await lt.peers('pa'))[0]

    // Our peer M dials pa; pa's first PEX message lists pb (at its listen port, sent as `p`). M sends PEX every
    // 2 s at most (libtorrent tolerates 6 a minute; we send only when something changed).
    const m = await swarm(ih, { connection: { pex: { interval: 2000 } } })
    const learnt = new Promise<{ host: string; port: number; flags: number }[]>((resolve) =>
      m.on('pex', (_c, added) => {
        if (added.length > 0) resolve(added)
      }),
    )
    const c = await m.connect({ ...LT, port: pa })
    const added = await learnt
    assert.ok(added.length >= 1)
    const lb = added.find((p) => p.port !== m.address?.port)
    assert.ok(lb, `added: ${JSON.stringify(added)}`)
    assert.equal(lb.host, '127.0.0.1')
    assert.equal(lb.flags & 0x08, 0x08, 'pb supports ut_holepunch')
    assert.ok(pbPort)

    // Now the other way: a second mainline peer N connects to M; M's PEX to pa names N; pa dials N.
    const n = await swarm(ih)
    const dialedByLt = new Promise<PeerConnection>((resolve) =>
      n.on('connected', (conn) => {
        if (conn.direction === 'incoming' && /^-LT/.test(new TextDecoder().decode(conn.remotePeerId))) resolve(conn)
      }),
    )
    await n.connect(m.address as Endpoint)
    // M sent pa its first (full) PEX message already; the next one (the diff naming N) follows within 2 s.
    await until(() => c.pex.stats.sent >= 2, 10_000, 'PEX diff to libtorrent')
    assert.ok(c.isOpen)
    const conn = await within(dialedByLt, 30_000, 'libtorrent dialing the peer we advertised')
    assert.equal(conn.transport, 'tcp')
  })
})

describe('interop with libtorrent 2.0 as BEP 55 relay', { skip }, () => {
  let lt: LtPeers
  const swarms: Swarm[] = []
  before(() => {
    lt = LtPeers.spawn()
  })
  after(async () => {
    await Promise.all(swarms.map((s) => s.close()))
    await lt?.close()
  })

  it('(c) answers NotConnected, NoSupport, NoSelf, and sends connect to both of two mainline peers', async () => {
    const ih = randomHash()
    const port = await lt.start('relay', ih)
    const mk = async (opts: Partial<SwarmOptions> = {}) => {
      const s = new Swarm({ infoHash: Buffer.from(ih, 'hex'), host: '127.0.0.1', ...opts })
      swarms.push(s)
      await s.listen()
      const c = await s.connect({ ...LT, port })
      await ready(c)
      return c
    }
    const m1 = await mk()
    const m2 = await mk()
    const plain = await mk({ connection: { extensions: { ut_pex: 1 } } })
    // libtorrent matches the target by its connection's actual remote endpoint: our socket's local endpoint.
    const at = (c: PeerConnection) => c.local as Endpoint
    const errors: [number, Endpoint][] = []
    m1.holepunch.on('hp_error', (code, ep) => errors.push([code, ep]))
    const nextError = () => until(() => errors.length > 0, 10_000, 'hp_error').then(() => errors.shift())

    m1.holepunch.sendHpRendezvous({ host: '127.0.0.1', port: 9 })
    assert.deepEqual(await nextError(), [2, { host: '127.0.0.1', port: 9 }])
    m1.holepunch.sendHpRendezvous(at(plain))
    assert.deepEqual(await nextError(), [3, at(plain)])
    m1.holepunch.sendHpRendezvous(at(m1))
    assert.deepEqual(await nextError(), [4, at(m1)])

    const got1 = new Promise<[string, number]>((r) => m1.holepunch.on('hp_connect', (ip, p) => r([ip, p])))
    const got2 = new Promise<[string, number]>((r) => m2.holepunch.on('hp_connect', (ip, p) => r([ip, p])))
    m1.holepunch.sendHpRendezvous(at(m2))
    assert.deepEqual(await within(got1, 10_000, 'connect to the initiator'), [at(m2).host, at(m2).port])
    assert.deepEqual(await within(got2, 10_000, 'connect to the target'), [at(m1).host, at(m1).port])
    assert.equal(m1.holepunch.stats.received.error, 3)
  })
})

describe('interop: mainline as BEP 55 relay between two libtorrent peers', { skip }, () => {
  let lt: LtPeers
  let r: Swarm | undefined
  before(() => {
    lt = LtPeers.spawn()
  })
  after(async () => {
    await r?.close()
    await lt?.close()
  })

  it('(d) libtorrent sends us a rendezvous; each libtorrent peer gets connect and dials the other over uTP', async () => {
    const ih = randomHash()
    // X takes no incoming uTP; Y makes no outgoing TCP. So Y can reach X only through a holepunch: when its uTP
    // attempt fails it asks the peer whose PEX named X (us) for a rendezvous.
    const xPort = await lt.start('x', ih, { enable_incoming_utp: false })
    const yPort = await lt.start('y', ih, { enable_outgoing_tcp: false })
    r = new Swarm({ infoHash: Buffer.from(ih, 'hex'), host: '127.0.0.1', connection: { pex: { interval: 2000 } } })
    await r.listen()
    const rendezvous = new Promise<[PeerConnection, Endpoint]>((res) => r?.on('hp_rendezvous', (c, t) => res([c, t])))
    const relayed = new Promise<[PeerConnection, PeerConnection]>((res) => r?.on('hp_relayed', (a, b) => res([a, b])))
    const cx = await r.connect({ ...LT, port: xPort })
    // We tell Y about X, but not X about Y (else X would simply dial Y).
    cx.pex.source = () => []
    const cy = await r.connect({ ...LT, port: yPort })
    await Promise.all([ready(cx), ready(cy)])

    const [from, target] = await within(rendezvous, 30_000, 'a rendezvous from libtorrent')
    assert.equal(from, cy)
    assert.deepEqual(target, { host: '127.0.0.1', port: xPort })
    const [a, b] = await within(relayed, 5_000, 'relay')
    assert.equal(a, cy)
    assert.equal(b, cx)
    // Each side logs the connect; X starts a uTP connection to Y's endpoint (Y's own attempt may be skipped when
    // X's connection arrives first: BEP 55 says to ignore a connect for a peer we are connected to).
    await lt.alert('x', /<== HOLEPUNCH \[ msg:connect to: 127\.0\.0\.1/)
    await lt.alert('y', /<== HOLEPUNCH \[ msg:connect to: 127\.0\.0\.1/)
    await lt.alert('x', new RegExp(`OUTGOING_CONNECTION \\[ ep: 127\\.0\\.0\\.1:${yPort} type: uTP`))
    // X's uTP SYN (from its listen port, which its uTP socket shares) reaches Y.
    await lt.alert('y', new RegExp(`INCOMING_CONNECTION \\[ ep: 127\\.0\\.0\\.1:${xPort} type: uTP`))
  })

  it('(d2) the connect we relay sends libtorrent to the advertised listen port: its uTP SYN arrives there', async () => {
    const ih = randomHash()
    const xPort = await lt.start('x2', ih)
    const udp = createSocket('udp4')
    await new Promise<void>((res) => udp.bind(0, '127.0.0.1', () => res()))
    const udpPort = udp.address().port
    const got = new Promise<Buffer>((res) => udp.once('message', (msg) => res(msg)))
    const relay = new Swarm({ infoHash: Buffer.from(ih, 'hex'), host: '127.0.0.1' })
    // M advertises the UDP port the test listens on as its listen port `p`: the relay must hand that out.
    const m = new Swarm({ infoHash: Buffer.from(ih, 'hex'), host: '127.0.0.1', connection: { listenPort: udpPort } })
    try {
      await relay.listen()
      const cx = await relay.connect({ ...LT, port: xPort })
      const cm = await m.connect(relay.address as Endpoint)
      await Promise.all([ready(cx), ready(cm)])
      await until(() => relay.connections.every((c) => c.remoteExtended !== undefined), 5_000, 'relay sees M')
      const mine = new Promise<[string, number]>((res) =>
        cm.holepunch.once('hp_connect', (ip, port) => res([ip, port])),
      )
      cm.holepunch.sendHpRendezvous({ host: '127.0.0.1', port: xPort })
      assert.deepEqual(await within(mine, 10_000, 'connect to M'), ['127.0.0.1', xPort])
      const datagram = await within(got, 15_000, 'a datagram from libtorrent at our advertised port')
      // A uTP SYN: type 4, version 1 (0x41), 20-byte header.
      assert.equal(datagram[0], 0x41)
      assert.ok(datagram.length >= 20)
    } finally {
      udp.close()
      await m.close()
      await relay.close()
    }
  })
})
