// Issue 14: a flood of valid announces (get_peers for a token, then announce_peer) from 4,000 sockets must not
// evict what legitimate peers announced before it — single-peer info hashes nor a 20-peer one. Before the fix the
// store dropped the oldest peer of a full info hash and evicted the info hash with the fewest peers: the flooder's.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from '../../src/codec/bytes.js'
import { decodePeerValues } from '../../src/codec/compact.js'
import { buildAnnouncePeerQuery, buildGetPeersQuery, parseKrpc } from '../../src/codec/index.js'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork, simIPv4 } from '../../src/net/sim/index.js'
import type { DatagramSocket, Endpoint } from '../../src/net/types.js'

const PORT = 6881
/** Host `host` (0..255) of the sim's /24 number `net` (0..500): 198.18.0.0/15 has 512 of them. */
const addr = (net: number, host: number) => simIPv4(net * 256 + host - 1)

interface Announcer {
  socket: DatagramSocket
  /** Announces `infoHash` for `port`: get_peers for the token, then announce_peer. Resolves when answered. */
  announce(infoHash: Uint8Array, port: number): Promise<boolean>
  /** get_peers: the peers (values) in the reply. */
  peers(infoHash: Uint8Array): Promise<Endpoint[]>
}

/** A bare KRPC client on one sim socket: what a flooder (or a legitimate peer) sends, nothing more. */
function announcer(net: SimNetwork, host: string, target: Endpoint, random: SeededRandom): Announcer {
  const socket = net.bind(host, PORT)
  const id = random.bytes(20).slice()
  let next = 0
  const waiting = new Map<number, (m: ReturnType<typeof parseKrpc>) => void>()
  socket.setReceiver((data) => {
    let m: ReturnType<typeof parseKrpc>
    try {
      m = parseKrpc(data)
    } catch {
      return
    }
    const t = (m.t[0] << 8) | m.t[1]
    waiting.get(t)?.(m)
    waiting.delete(t)
  })
  const ask = (build: (t: Uint8Array) => Uint8Array) =>
    new Promise<ReturnType<typeof parseKrpc> | undefined>((resolve) => {
      const t = next++ & 0xffff
      waiting.set(t, resolve)
      net.clock.setTimeout(() => {
        if (waiting.delete(t)) resolve(undefined)
      }, 5000)
      socket.send(build(new Uint8Array([t >> 8, t & 0xff])), target)
    })
  const getPeers = (ih: Uint8Array) => ask((t) => buildGetPeersQuery(t, id, ih))
  return {
    socket,
    async announce(ih, port) {
      const r = await getPeers(ih)
      if (r?.y !== 'r' || !r.r.token) return false
      const token = r.r.token
      const a = await ask((t) => buildAnnouncePeerQuery(t, id, ih, token, port))
      return a?.y === 'r'
    },
    async peers(ih) {
      const r = await getPeers(ih)
      return r?.y === 'r' && r.r.values ? decodePeerValues(r.r.values, 4) : []
    },
  }
}

const hash = (tag: number, i: number) => {
  const h = new Uint8Array(20).fill(tag)
  h[0] = i >> 8
  h[1] = i & 0xff
  return h
}

/**
 * One run: legitimate announces, then 4,000 flooding sockets in `floodNets` networks send ~25,000 announces (each
 * one to the 20-peer info hash and five to a pool of 3,000 info hashes, more than the store's 2,000), then a fresh
 * peer asks for every legitimate info hash.
 */
async function flood(floodNets: number) {
  const net = new SimNetwork({ random: new SeededRandom(14) })
  const random = new SeededRandom(15)
  const clock = net.clock
  const target = { host: addr(1, 1), port: PORT }
  const dht = new DHT({ socket: net.bind(target.host, PORT), clock, random })
  const sockets: DatagramSocket[] = []
  const make = (host: string) => {
    const a = announcer(net, host, target, random)
    sockets.push(a.socket)
    return a
  }
  try {
    await clock.settle(dht.listen())
    // Legitimate: five single-peer info hashes and one with 20 peers, each peer in a network of its own.
    const singles = Array.from({ length: 5 }, (_, i) => hash(0xaa, i))
    const big = hash(0xbb, 0)
    const legit: { ih: Uint8Array; peer: Endpoint }[] = []
    for (let i = 0; i < 5; i++) legit.push({ ih: singles[i], peer: { host: addr(2 + i, 7), port: 7000 + i } })
    for (let i = 0; i < 20; i++) legit.push({ ih: big, peer: { host: addr(10 + i, 7), port: 7100 + i } })
    for (const l of legit) assert.ok(await clock.settle(make(l.peer.host).announce(l.ih, l.peer.port)))

    // The flood: 4,000 sockets, one address each, in `floodNets` networks (/24s from 198.18.100.0 up).
    const flooders = Array.from({ length: 4000 }, (_, i) =>
      make(addr(100 + (i % floodNets), 1 + Math.floor(i / floodNets))),
    )
    let accepted = 0
    let sent = 0
    const runs = flooders.map(async (f, i) => {
      // Spread over 40 s of virtual time: each socket sends its six announces one after another.
      await new Promise<void>((r) => clock.setTimeout(r, i * 10))
      const ihs = [big, ...Array.from({ length: 5 }, (_, k) => hash(0xcc, (i * 5 + k) % 3000))]
      for (const ih of ihs) {
        sent++
        if (await f.announce(ih, 20_000 + (i % 40_000))) accepted++
      }
    })
    await clock.settle(Promise.all(runs), { timeout: 600_000 })
    assert.ok(sent >= 24_000, `${sent} flood announces`)
    assert.ok(accepted > 2000, `the flood was answered (${accepted})`)
    assert.ok(dht.stats().peersStored <= 20_000, 'the peer store stays within its default cap (maxPeers)')

    // A fresh peer asks: every legitimate announce is still served.
    const asker = make(addr(50, 9))
    for (let i = 0; i < 5; i++) {
      const got = await clock.settle(asker.peers(singles[i]))
      assert.deepEqual(got, [legit[i].peer], `single-peer info hash ${toHex(singles[i])}`)
    }
    // The 20-peer info hash is full of flood peers too; a reply carries a random window of them: ask until every
    // legitimate peer was seen (a peer that was evicted never shows up).
    const seen = new Set<string>()
    for (let q = 0; q < 40 && seen.size < 20; q++) {
      for (const p of await clock.settle(asker.peers(big))) if (p.port >= 7100 && p.port < 7120) seen.add(p.host)
    }
    assert.equal(seen.size, 20, `legitimate peers of the 20-peer info hash still served: ${seen.size}`)
    return dht.stats()
  } finally {
    for (const s of sockets) s.close()
    await dht.destroy()
  }
}

describe('peer store under an announce flood (net/sim)', { timeout: 300_000 }, () => {
  it('4,000 sockets in 16 networks (one attacker, many addresses): legitimate announces survive', async () => {
    const stats = await flood(16)
    assert.ok((stats.drops.store_full ?? 0) > 0, 'announces the store could not take fairly are counted')
  })

  it('4,000 sockets in 400 networks: legitimate announces survive', async () => {
    await flood(400)
  })
})
