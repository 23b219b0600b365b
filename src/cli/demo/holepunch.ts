// Chapter "holepunch": two peers behind NATs meet. On net/sim (offline, virtual time, 20 ms ± 5 ms links):
// a public DHT, a relay, Alice and Bob each behind a home NAT. Bob announces; Alice finds him on the DHT, fails
// to dial him directly (his NAT drops it), finds the relay, asks it for a rendezvous, and both punch a uTP
// connection from their shared UDP port; then data flows both ways.
import { createHash } from 'node:crypto'
import { toHex } from '../../codec/bytes.js'
import type { Endpoint } from '../../net/types.js'
import type { HolepunchSuccess } from '../../swarm/initiator.js'
import type { PeerConnection } from '../../wire/peer-connection.js'
import type { Chapter, ChapterContext } from './chapter.js'
import { runNetns } from './holepunch-netns.js'
import { buildNatWorld, RELAY_AT } from './nat-world.js'

const INFO_HASH = new Uint8Array(createHash('sha1').update('mainline demo: a file Bob shares').digest())
const at = (e: Endpoint) => `${e.host}:${e.port}`

async function run(ctx: ChapterContext): Promise<boolean> {
  if (ctx.netns) return runNetns(ctx)
  const { out, signal, nodes } = ctx
  const say = (event: string, fields: Record<string, unknown>, human: string) => out.event(event, fields, human)
  const t0 = performance.now()
  out.progress(`building a simulated internet with ${nodes} DHT nodes…`)
  const w = await buildNatWorld({ nodes, signal })
  const clock = w.net.clock
  try {
    say(
      'world',
      { dhtNodes: nodes, relay: RELAY_AT, alice: '192.0.2.2 behind 198.51.100.1', bob: '192.0.2.2 behind 203.0.113.1' },
      `A simulated internet (in memory, virtual time, 20 ms links): ${nodes} public DHT nodes, a relay at\n` +
        `${at(RELAY_AT)}, Alice at 192.0.2.2 behind NAT 198.51.100.1 and Bob at 192.0.2.2 behind NAT 203.0.113.1\n` +
        `(both NATs port-preserving, like Linux masquerade). Built in ${Math.round(performance.now() - t0)} ms of real time.`,
    )
    for (const n of [w.relay, w.alice, w.bob]) n.add(INFO_HASH)
    await w.relay.announce(INFO_HASH)
    await w.bob.announce(INFO_HASH)
    await w.bob.discover(INFO_HASH, { signal }) // Bob finds the relay (and connects: it is public)
    const bobRelay = await waitFor(() => w.bob.get(INFO_HASH)?.connections.find((c) => c.remote.host === RELAY_AT.host))
    say(
      'bob_ready',
      { announced: true, relay: bobRelay.remote },
      `\nBob announces the torrent on the DHT (his NAT's address, 203.0.113.1:6881) and connects to the relay\n` +
        `he found there, over uTP from his one UDP port.`,
    )

    const events: string[] = []
    let failedDial: Endpoint | undefined
    const natDropsBefore = w.natB.stats().droppedFiltered + w.natB.stats().droppedNoMapping
    const tStart = clock.now()
    const done = new Promise<HolepunchSuccess>((resolve) => w.alice.once('hp_connected', (r) => resolve(r)))
    w.alice.on('hp_rendezvous_sent', (r, t) => {
      events.push(`${ms(clock.now() - tStart)}  rendezvous for ${at(t)} sent to the relay ${at(r.remote)}`)
    })
    w.bob.on('hp_punching', (_r, t) => {
      events.push(`${ms(clock.now() - tStart)}  Bob gets connect(${at(t)}) and punches towards Alice`)
    })
    w.alice.on('hp_punching', (_r, t) => {
      events.push(`${ms(clock.now() - tStart)}  Alice gets connect(${at(t)}) and punches towards Bob`)
    })
    w.alice.on('dial_failed', (p) => {
      failedDial = p
      events.push(`${ms(clock.now() - tStart)}  her direct dial to ${at(p)} fails (uTP SYNs dropped by Bob's NAT)`)
    })
    const aSwarm = w.alice.get(INFO_HASH)
    aSwarm?.on('peer', (p) => {
      if (p.host === '203.0.113.1')
        events.push(
          `${ms(clock.now() - tStart)}  the relay's PEX lists Bob, flags 0x${p.flags.toString(16)} (holepunch)`,
        )
    })
    const found = await w.alice.discover(INFO_HASH, { signal })
    events.unshift(`${ms(clock.now() - tStart)}  Alice's DHT lookup finds ${found.map(at).join(' and ')}`)
    await waitFor(() => aSwarm?.connections.some((c) => c.remote.host === RELAY_AT.host) || undefined)
    const result = await done
    const droppedAtB = w.natB.stats().droppedFiltered + w.natB.stats().droppedNoMapping - natDropsBefore
    say(
      'holepunch',
      {
        target: result.target,
        transport: result.conn.transport,
        direction: result.direction,
        rendezvousToUtpMs: round(result.ms),
        punchMs: round(result.punchMs),
        droppedAtBobsNat: droppedAtB,
        directDialFailed: failedDial ?? null,
        log: events,
      },
      `\nAlice, virtual time from her lookup:\n  ${events.join('\n  ')}\n` +
        `  Bob's NAT dropped ${droppedAtB} unsolicited packets on the way (Alice's direct SYNs, and her first punch).\n` +
        `  → connected over ${result.conn.transport}, ${round(result.ms)} ms after the rendezvous (${round(result.punchMs)} ms after the punch began);\n` +
        `    kept the connection ${result.direction === 'incoming' ? 'Bob' : 'Alice'} initiated (the greater peer id's), the crossing one was closed.`,
    )

    const bobConn = await waitFor(() => w.bob.get(INFO_HASH)?.connections.find((c) => c.remote.host === '198.51.100.1'))
    const size = 1 << 20
    const tData = clock.now()
    const [ab, ba] = await Promise.all([transfer(result.conn, bobConn, size), transfer(bobConn, result.conn, size)])
    const ok = ab && ba
    say(
      'data',
      { bytesEachWay: size, verified: ok, virtualMs: round(clock.now() - tData) },
      `\nThrough the hole: 1 MiB each way over that uTP connection, SHA-256 checked on arrival: ${ok ? 'intact' : 'CORRUPT'}\n` +
        `(${round(clock.now() - tData)} ms of virtual time).`,
    )
    return ok && failedDial !== undefined
  } finally {
    await w.close()
  }
}

/** Sends `size` bytes from `from` to `to` as 16 KiB pieces; resolves with whether the hashes match. */
function transfer(from: PeerConnection, to: PeerConnection, size: number): Promise<boolean> {
  const sent = createHash('sha256')
  const got = createHash('sha256')
  return new Promise((resolve) => {
    let received = 0
    to.on('piece', (m) => {
      got.update(m.block)
      received += m.block.length
      if (received >= size) resolve(toHex(sent.digest()) === toHex(got.digest()))
    })
    for (let off = 0; off < size; off += 16384) {
      const block = new Uint8Array(16384).map((_, i) => (off + i * 7) & 255)
      sent.update(block)
      from.send({ type: 'piece', index: 0, begin: off, block })
    }
  })
}

async function waitFor<T>(f: () => T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error('the demo got stuck')
    await new Promise((r) => setTimeout(r, 5))
  }
}

const round = (x: number) => Math.round(x * 10) / 10
const ms = (x: number) => `${round(x).toFixed(1).padStart(7)} ms`

export const holepunchChapter: Chapter = {
  name: 'holepunch',
  title: 'Two peers behind NATs meet: DHT, PEX, a relay, a BEP 55 rendezvous and a uTP hole punch',
  run,
}
