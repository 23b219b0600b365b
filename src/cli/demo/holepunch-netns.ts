// Chapter "holepunch" with --netns: the same story as on net/sim, across real network namespaces and Linux NAT
// (root only). Each role is a process (lab-peer) in its namespace; we read their JSON lines and tell what happened.
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { ChapterContext } from './chapter.js'
import { DEMO_DHT_IPS, DEMO_RELAY_IP, DEMO_WAN, DemoLab } from './netns.js'

type Ev = Record<string, unknown> & { event: string; at: number }

class Reader {
  readonly events: Ev[] = []
  private waiters: (() => void)[] = []
  constructor(child: ChildProcess, t0: number) {
    if (!child.stdout) throw new Error('no stdout')
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return
      try {
        this.events.push({ ...(JSON.parse(line) as { event: string }), at: Date.now() - t0 })
      } catch {
        return
      }
      for (const w of this.waiters.splice(0)) w()
    })
    child.stderr?.resume()
  }

  async wait(pred: (e: Ev) => boolean, signal: AbortSignal): Promise<Ev> {
    for (;;) {
      const hit = this.events.find(pred)
      if (hit) return hit
      signal.throwIfAborted()
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 200)
      })
    }
  }
}

const INFO_HASH = 'c0ffee00112233445566778899aabbccddeeff00'

export async function runNetns({ out, signal }: ChapterContext): Promise<boolean> {
  if (process.getuid?.() !== 0) {
    out.error('demo --netns needs root (network namespaces and nftables); run it without --netns for the simulation')
    return false
  }
  const t0 = Date.now()
  const lab = new DemoLab()
  await lab.build()
  try {
    const built = Date.now() - t0
    const start = (role: string, args: string[]) => new Reader(lab.spawnPeer(role, ['--port', '6881', ...args]), t0)
    const relayAt = `${DEMO_RELAY_IP}:6881`
    const relay = start('relay', ['--infohash', INFO_HASH, '--pex-interval', '1000', '--announce'])
    await relay.wait((e) => e.event === 'dht_ready', signal)
    const dht = ['d0', 'd1'].map((r) => start(r, ['--bootstrap', relayAt]))
    await Promise.all(dht.map((d) => d.wait((e) => e.event === 'dht_ready', signal)))
    const peer = ['--infohash', INFO_HASH, '--bootstrap', relayAt, '--dht-read-only', '--announce', '--exchange', '4']
    const bob = start('b', [...peer, '--connect', relayAt, '--no-autodial'])
    await bob.wait((e) => e.event === 'connected' && e.host === DEMO_RELAY_IP, signal)
    out.event(
      'world',
      { namespaces: 8, relay: relayAt, dht: DEMO_DHT_IPS, natA: DEMO_WAN.a, natB: DEMO_WAN.b, ms: built },
      `Real network namespaces, built in ${built} ms: a public bridge 198.51.100.0/24 with a relay (${relayAt}) and two\n` +
        `DHT hosts, and two Linux routers doing NAT with nftables (masquerade): Alice 192.0.2.2 behind ${DEMO_WAN.a},\n` +
        `Bob 192.0.2.66 behind ${DEMO_WAN.b}. One process per host. Bob has announced and joined the relay.`,
    )
    const alice = start('a', [...peer, '--discover'])
    const aliceStart = (await alice.wait((e) => e.event === 'listening', signal)).at
    const connected = await alice.wait((e) => e.event === 'hp_connected', signal)
    const [da, db] = await Promise.all([
      alice.wait((e) => e.event === 'data', signal),
      bob.wait((e) => e.event === 'data', signal),
    ])
    const find = (r: Reader, pred: (e: Ev) => boolean) => r.events.find(pred)
    const steps: [Ev | undefined, string][] = [
      [find(alice, (e) => e.event === 'dht_peer' && e.host === DEMO_WAN.b), `the DHT names Bob: ${DEMO_WAN.b}:6881`],
      [find(alice, (e) => e.event === 'dht_peer' && e.host === DEMO_RELAY_IP), `the DHT names the relay: ${relayAt}`],
      [
        find(alice, (e) => e.event === 'connected' && e.host === DEMO_RELAY_IP),
        'connected to the relay (uTP, from UDP port 6881)',
      ],
      [find(alice, (e) => e.event === 'peer' && e.source === 'pex'), "the relay's PEX lists Bob, holepunch-capable"],
      [find(alice, (e) => e.event === 'dial_failed'), 'the direct dial to Bob (uTP, then TCP) fails: his NAT drops it'],
      [find(alice, (e) => e.event === 'hp_rendezvous_sent'), 'rendezvous sent to the relay'],
      [find(alice, (e) => e.event === 'hp_punching'), 'connect arrives; both punch from port 6881'],
      [
        connected,
        `handshakes done over ${connected.transport} with ${connected.host}:${connected.port} (the uTP connection stood ${Number(connected.ms).toFixed(1)} ms after the rendezvous)`,
      ],
    ]
    const lines = steps
      .filter((s): s is [Ev, string] => s[0] !== undefined)
      .sort((x, y) => x[0].at - y[0].at)
      .map(([e, text]) => `${String(e.at - aliceStart).padStart(6)} ms  ${text}`)
    const ok = da.sentSha256 === db.receivedSha256 && db.sentSha256 === da.receivedSha256
    out.event(
      'holepunch',
      { transport: connected.transport, rendezvousToUtpMs: connected.ms, log: lines },
      `\nAlice, from her start:\n  ${lines.join('\n  ')}`,
    )
    out.event(
      'data',
      { bytesEachWay: da.sent, verified: ok, ms: da.ms },
      `\n4 MiB each way through the hole, SHA-256 checked: ${ok ? 'intact' : 'CORRUPT'} (${da.ms} ms).`,
    )
    return ok
  } finally {
    await lab.destroy()
  }
}
