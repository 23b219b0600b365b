// Three mainline peers on 127.0.0.1 over real TCP: A asks relay R for a rendezvous with B; both get `connect`.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import type { Endpoint } from '../../src/net/types.js'
import { Swarm } from '../../src/swarm/swarm.js'
import type { PeerConnection } from '../../src/wire/peer-connection.js'
import { until } from '../helpers/until.js'

const INFO_HASH = new Uint8Array(20).fill(0x5a)

function once<T extends unknown[]>(
  emitter: { once(e: string, f: (...a: T) => void): unknown },
  event: string,
  ms = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms)
    emitter.once(event, (...a: T) => {
      clearTimeout(t)
      resolve(a)
    })
  })
}

describe('holepunch relay between three mainline peers (TCP, 127.0.0.1)', () => {
  const swarms: Swarm[] = []
  after(async () => {
    await Promise.all(swarms.map((s) => s.close()))
  })
  const make = async () => {
    const s = new Swarm({ infoHash: INFO_HASH, host: '127.0.0.1', connection: { pex: { interval: 200 } } })
    swarms.push(s)
    await s.listen()
    return s
  }

  it('A → R rendezvous for B: A and B each receive connect with the other endpoint', async () => {
    const [r, a, b] = [await make(), await make(), await make()]
    const ra: PeerConnection = await a.connect(r.address as Endpoint)
    const rb: PeerConnection = await b.connect(r.address as Endpoint)
    // Wait for R to have seen both extended handshakes (it needs B's ut_holepunch and p).
    await until(() => r.connections.length >= 2 && r.connections.every((c) => c.remoteExtended), {
      within: 10_000,
      what: 'R has both extended handshakes',
    })
    await until(() => !!ra.remoteExtended && !!rb.remoteExtended, {
      within: 10_000,
      what: "R's extended handshake at A and B",
    })

    // The seed's example, as written in TypeScript:
    const hp = ra.holepunch
    const gotA = new Promise<[string, number]>((resolve) => {
      hp.on('hp_connect', (ip, port) => {
        resolve([ip, port])
      })
    })
    const gotB = once<[string, number]>(rb.holepunch, 'hp_connect')
    const relayed = once<[PeerConnection, PeerConnection]>(r, 'hp_relayed')
    const seenAtRelay = once<[PeerConnection, Endpoint, Uint8Array | undefined]>(r, 'hp_rendezvous')
    // Name B by its listen endpoint here; the next test names it by peer id.
    hp.sendHpRendezvous(b.address as Endpoint)
    assert.deepEqual(await gotA, [b.address?.host, b.address?.port])
    assert.deepEqual(await gotB, [a.address?.host, a.address?.port])
    const [from, to] = await relayed
    assert.deepEqual(from.remotePeerId, a.peerId)
    assert.deepEqual(to.remotePeerId, b.peerId)
    const [, target, id] = await seenAtRelay
    assert.deepEqual(target, b.address)
    assert.deepEqual(id, b.peerId, 'the relay names the target peer')
  })

  it('a peer id target resolves through the swarm; errors come back typed', async () => {
    const [r, a, b] = [await make(), await make(), await make()]
    const ra = await a.connect(r.address as Endpoint)
    await b.connect(r.address as Endpoint)
    // A learns B only through a handshake: connect A to B once, then drop it.
    const ab = await a.connect(b.address as Endpoint)
    ab.close()
    await until(
      () => r.connections.length >= 2 && r.connections.every((c) => c.remoteExtended) && !!ra.remoteExtended,
      {
        within: 10_000,
        what: 'extended handshakes at R and A',
      },
    )
    assert.deepEqual(a.resolvePeerId(b.peerId), b.address)
    const gotA = once<[string, number]>(ra.holepunch, 'hp_connect')
    ra.holepunch.sendHpRendezvous(b.peerId)
    assert.deepEqual(await gotA, [b.address?.host, b.address?.port])

    const err = once<[number, Endpoint]>(ra.holepunch, 'hp_error')
    ra.holepunch.sendHpRendezvous({ host: '127.0.0.1', port: 9 })
    assert.deepEqual(await err, [2, { host: '127.0.0.1', port: 9 }])
    assert.throws(() => ra.holepunch.sendHpRendezvous(new Uint8Array(20)), /no known endpoint/)
  })

  it('PEX: A learns B from R, and auto-dials it when asked to', async () => {
    const r = await make()
    const b = await make()
    const a = new Swarm({
      infoHash: INFO_HASH,
      host: '127.0.0.1',
      autoDial: true,
      connection: { pex: { interval: 200 } },
    })
    swarms.push(a)
    await a.listen()
    await b.connect(r.address as Endpoint)
    const learnt = once<[{ host: string; port: number; flags: number }]>(a, 'peer')
    const connected = new Promise<PeerConnection>((resolve) =>
      a.on('connected', (c) => {
        if (c.remotePeerId && Buffer.from(c.remotePeerId).equals(Buffer.from(b.peerId))) resolve(c)
      }),
    )
    await a.connect(r.address as Endpoint)
    const [peer] = await learnt
    assert.equal(peer.host, '127.0.0.1')
    assert.equal(peer.port, b.address?.port)
    assert.equal(peer.flags & 0x08, 0x08, 'B advertised ut_holepunch, so R flags it')
    const c = await connected
    assert.equal(c.direction, 'outgoing')
  })
})
