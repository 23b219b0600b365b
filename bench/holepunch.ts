// Holepunch latency through real NATs (root only; prints a skip line otherwise): scenario 1 of test/nat (two
// port-preserving NATs, a mainline relay), 20 runs. Each run is a fresh initiator process (`mainline holepunch connect`)
// on a new UDP port, so both NATs start without a mapping between the two peers. Measured: from sending
// `rendezvous` to the uTP connection being established, as the initiator reports it. No delay is added on the
// links. anchor: the 100 ms target.
import { fileURLToPath } from 'node:url'
import { createLab, labFile, RELAY_IP } from '../test/nat/lab.js'
import { EventReader } from '../test/nat/proc.js'
import { labSupport } from '../test/nat/support.js'
import { report } from './report.js'

const RUNS = 20
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const INFO_HASH = 'c0ffee00112233445566778899aabbccddeeff00'

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

export async function run(): Promise<void> {
  const s = await labSupport()
  if (s.mode !== 'root') {
    console.log(`skipped: the holepunch bench needs root (${s.mode === 'missing' ? s.reason : 'not root'})`)
    return
  }
  const lab = await createLab({ natA: 'port-preserving', natB: 'port-preserving' })
  try {
    const peer = labFile('hp-peer.ts')
    const relay = new EventReader(lab.relay.spawnNode(peer, ['--port', '6881', '--infohash', INFO_HASH, '--no-dht']))
    await relay.waitFor((e) => e.event === 'listening')
    const boot = `${RELAY_IP}:6881`
    const b = new EventReader(
      lab.b.spawnNode(peer, [
        '--port',
        '6881',
        '--infohash',
        INFO_HASH,
        '--no-dht',
        '--no-autodial',
        '--connect',
        boot,
        '--connect-limit',
        '100',
      ]),
    )
    await b.waitFor((e) => e.event === 'connected' && e.host === RELAY_IP, 20_000)
    const ms: number[] = []
    let failures = 0
    for (let i = 0; i < RUNS; i++) {
      const args = ['--relay', boot, '--infohash', INFO_HASH, '--target', `${lab.routerB.wanIp}:6881`]
      const cli = ['holepunch', 'connect', ...args, '--port', String(7000 + i), '--json']
      const a = new EventReader(lab.a.spawnNode(MAIN, cli))
      await a.exit(30_000)
      const c = a.named('connected')[0]
      if (c && typeof c.ms === 'number') ms.push(c.ms)
      else {
        failures++
        console.log(`run ${i}: ${JSON.stringify(a.named('hp_failed')[0] ?? a.describe())}`)
      }
    }
    console.log(`B ignored: ${JSON.stringify(b.named('hp_ignored').map((e) => e.reason))}`)
    if (ms.length === 0) throw new Error(`no run connected (${failures} failures)`)
    console.log(`runs: ${ms.length} connected, ${failures} failed; ms: ${ms.map((x) => x.toFixed(1)).join(' ')}`)
    report(`Holepunch through two port-preserving NATs: rendezvous → uTP established, ${RUNS} runs`, 'target', [
      { key: 'holepunch.rendezvous_to_utp.median', ours: quantile(ms, 0.5), anchor: 100, unit: 'ms' },
      { key: 'holepunch.rendezvous_to_utp.p90', ours: quantile(ms, 0.9), anchor: 100, unit: 'ms' },
    ])
  } finally {
    await lab.destroy()
  }
}
