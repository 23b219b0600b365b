// announce() sends announce_peer only to nodes that gave a token, and to at most K of them: the K closest such
// responders. The closest nodes to the info hash here are "full stores" that answer get_peers without a token.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from '../../src/codec/bytes.js'
import type { CompactNode } from '../../src/codec/compact.js'
import { buildFindNodeReply, buildGetPeersReply, buildPingReply, parseKrpc } from '../../src/codec/index.js'
import { compareDistance } from '../../src/codec/node-id.js'
import { DHT } from '../../src/dht/index.js'
import { SeededRandom, SimNetwork, simIPv4 } from '../../src/net/sim/index.js'
import type { DatagramSocket, Endpoint } from '../../src/net/types.js'

const REAL = 40
const TOKENLESS = 4
const K = 8

/** Node i's address: a /24 of its own (no diversity rule merges them). */
const ipOf = (i: number) => simIPv4(i * 256 + 6)

function closestTo(target: Uint8Array, nodes: CompactNode[]): CompactNode[] {
  return [...nodes].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, K)
}

/** A node that answers every query but never hands out a token; it counts what it is asked. */
function tokenless(socket: DatagramSocket, id: Uint8Array, known: () => CompactNode[]) {
  const asked = { get_peers: 0, announce_peer: 0 }
  socket.setReceiver((data: Uint8Array, from: Endpoint) => {
    let m: ReturnType<typeof parseKrpc>
    try {
      m = parseKrpc(data)
    } catch {
      return
    }
    if (m.y !== 'q') return
    if (m.q === 'ping') socket.send(buildPingReply(m.t, id), from)
    else if (m.q === 'find_node')
      socket.send(buildFindNodeReply(m.t, id, closestTo(m.a.target as Uint8Array, known())), from)
    else if (m.q === 'get_peers') {
      asked.get_peers++
      socket.send(
        buildGetPeersReply(m.t, id, undefined, closestTo(m.a.info_hash as Uint8Array, known()), undefined),
        from,
      )
    } else if (m.q === 'announce_peer') {
      // Not reached when the announcer behaves: it has no token from us to send.
      asked.announce_peer++
      socket.send(buildPingReply(m.t, id), from)
    }
  })
  return asked
}

describe('DHT announce targets on net/sim', { timeout: 120_000 }, () => {
  it('announce_peer goes only to token givers, to the K closest of them', async () => {
    const net = new SimNetwork({ random: new SeededRandom(77) })
    const clock = net.clock
    const random = new SeededRandom(78)
    const infoHash = random.bytes(20).slice()
    const nodes: DHT[] = []
    const live: DHT[] = []
    const givers = new Set<string>()
    const raws: { asked: { get_peers: number; announce_peer: number }; socket: DatagramSocket }[] = []
    try {
      // The tokenless nodes are the very closest to the info hash (they differ from it only in the last byte).
      const rawEndpoints: Endpoint[] = []
      for (let j = 0; j < TOKENLESS; j++) {
        const id = infoHash.slice()
        id[19] ^= j + 1
        const host = ipOf(100 + j)
        const socket = net.bind(host, 6881)
        // It answers with the real nodes it knows (the DHT's own list: it is as well connected as anyone).
        const known = () => live.map((d) => ({ id: d.id, ...d.address() }))
        raws.push({ asked: tokenless(socket, id, known), socket })
        rawEndpoints.push({ host, port: 6881 })
      }
      const received = new Map<string, number>()
      for (let i = 0; i < REAL; i++) {
        // Everyone joins through node 0 and an earlier node; every fourth node also knows the tokenless nodes.
        const bootstrap =
          i === 0
            ? []
            : [
                { host: ipOf(0), port: 6881 },
                { host: ipOf(random.int(0, i)), port: 6881 },
              ]
        if (i % 4 === 1) bootstrap.push(...rawEndpoints)
        const socket = net.bind(ipOf(i), 6881)
        if (i === REAL - 1) {
          // The announcer: note who replies to its get_peers with a token.
          const setReceiver = socket.setReceiver.bind(socket)
          socket.setReceiver = (h) =>
            setReceiver(
              h &&
                ((data: Uint8Array, from: Endpoint) => {
                  try {
                    const m = parseKrpc(data)
                    if (m.y === 'r' && m.r.token) givers.add(from.host)
                  } catch {}
                  h(data, from)
                }),
            )
        }
        const d = new DHT({ socket, clock, random, bootstrap })
        d.on('announce', (_peer, ih) => {
          const k = `${toHex(ih)} ${d.address().host}`
          received.set(k, (received.get(k) ?? 0) + 1)
        })
        nodes.push(d)
      }
      for (const d of nodes) {
        await clock.settle(d.listen(), { timeout: 60_000 })
        live.push(d)
        await clock.settle(d.bootstrapped(), { timeout: 60_000 })
      }
      await clock.runFor(60_000)
      const announcer = nodes[REAL - 1]

      const check = async (ih: Uint8Array) => {
        givers.clear()
        const res = await clock.settle(announcer.announce(ih, { port: 7000 }), { timeout: 60_000 })
        const got = [...received.entries()]
          .filter(([k]) => k.startsWith(toHex(ih)))
          .map(([k, n]) => {
            assert.equal(n, 1, `${k}: one announce_peer per node`)
            return k.split(' ')[1]
          })
        // The token givers that replied: the real nodes the lookup asked. Expected: the K closest of them.
        const replied = nodes.filter((d) => givers.has(d.address().host))
        assert.equal(replied.length, givers.size, 'only real nodes give tokens')
        replied.sort((a, b) => compareDistance(ih, a.id, b.id))
        const want = replied.slice(0, K).map((d) => d.address().host)
        assert.deepEqual(new Set(got), new Set(want), 'the K closest token givers that replied')
        assert.equal(res.nodes, want.length)
        return { got: got.length, givers: replied.length }
      }

      // Info hashes far from the tokenless nodes: each time min(K, token givers) get announce_peer, and some
      // lookups hear from more than K token givers (so the cap is exercised).
      let over = 0
      for (let i = 0; i < 6; i++) {
        const plain = await check(random.bytes(20).slice())
        assert.equal(plain.got, Math.min(K, plain.givers))
        if (plain.givers > K) over++
      }
      assert.ok(over >= 1, 'some lookup had more than K token givers')

      // The info hash the tokenless nodes surround: they are asked but never sent announce_peer.
      const before = raws.map((r) => r.asked.get_peers)
      const near = await check(infoHash)
      assert.ok(near.got >= 1 && near.got <= K, `${near.got} announce_peer`)
      assert.ok(
        raws.filter((r, j) => r.asked.get_peers > before[j]).length >= TOKENLESS / 2,
        `tokenless nodes asked: ${JSON.stringify(raws.map((r) => r.asked))}`,
      )
      assert.deepEqual(
        raws.map((r) => r.asked.announce_peer),
        new Array(TOKENLESS).fill(0),
      )
    } finally {
      await Promise.all(nodes.map((n) => n.destroy()))
      await Promise.all(raws.map((r) => r.socket.close()))
    }
  })
})
