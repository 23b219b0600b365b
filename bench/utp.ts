// uTP throughput and CPU: one connection, a bulk one-way transfer on 127.0.0.1 between two processes.
// Ours against utp-native (libutp, 4 MiB socket buffers), with Node TCP and raw UDP as ceilings.
// Env: UTP_BENCH_MIB (transfer size per run, default 256).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { report } from './report.js'

const MIB = Number(process.env.UTP_BENCH_MIB ?? 256)
const BYTES = MIB * 1024 * 1024
const PEER = join(import.meta.dirname, 'utp', 'peer.ts')

interface Side {
  bytes: number
  seconds: number
  cpu: number
}
interface Result {
  mbps: number
  cpuPerGiB: number
}

function startPeer(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const next = (prefix: string) =>
    new Promise<string[]>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${args.join(' ')}: no ${prefix} line`)), 120_000)
      lines.on('line', (l) => {
        if (l.startsWith(prefix)) {
          clearTimeout(t)
          resolve(l.split(' ').slice(1))
        }
      })
      child.once('exit', (code) => code !== 0 && reject(new Error(`${args.join(' ')} exited with ${code}`)))
    })
  return { child, next }
}

async function transfer(kind: string): Promise<Result> {
  const recv = startPeer(['recv', kind])
  const recvDone = recv.next('DONE')
  const [port] = await recv.next('PORT')
  const send = startPeer(['send', kind, port, String(BYTES)])
  const sendDone = send.next('DONE')
  try {
    const [r, s] = await Promise.all([recvDone, sendDone])
    const rs: Side = { bytes: Number(r[0]), seconds: Number(r[1]), cpu: Number(r[2]) }
    const ss: Side = { bytes: Number(s[0]), seconds: Number(s[1]), cpu: Number(s[2]) }
    const mbps = rs.bytes / rs.seconds / 1e6
    const cpuPerGiB = (rs.cpu + ss.cpu) / (rs.bytes / 2 ** 30)
    return { mbps, cpuPerGiB }
  } finally {
    for (const c of [recv.child, send.child]) {
      if (c.exitCode === null) {
        c.kill()
        await once(c, 'exit')
      }
    }
  }
}

/** Best of `n` runs (by throughput): the machine is shared, the best run is the least disturbed. */
async function best(kind: string, n: number): Promise<Result> {
  let b: Result | undefined
  for (let i = 0; i < n; i++) {
    const r = await transfer(kind)
    console.log(`  ${kind.padEnd(6)} run ${i + 1}: ${r.mbps.toFixed(1)} MB/s, ${r.cpuPerGiB.toFixed(2)} CPU s/GiB`)
    if (!b || r.mbps > b.mbps) b = r
  }
  return b!
}

export async function run(): Promise<void> {
  const runs = Number(process.env.UTP_BENCH_RUNS ?? 2)
  console.log(`uTP bulk transfer, ${MIB} MiB per run, best of ${runs}, 127.0.0.1, two processes`)
  const ours = await best('ours', runs)
  const native = await best('native', runs)
  const tcp = await best('tcp', 1)
  const udp = await best('udp', runs)
  console.log(`  ceilings: node TCP ${tcp.mbps.toFixed(1)} MB/s, raw UDP ${udp.mbps.toFixed(1)} MB/s`)
  report('uTP one connection, bulk one-way (127.0.0.1)', 'utp-native', [
    { key: 'utp.throughput_mbps', ours: ours.mbps, anchor: native.mbps, unit: 'MB/s' },
    { key: 'utp.cpu_s_per_gib', ours: ours.cpuPerGiB, anchor: native.cpuPerGiB, unit: 'CPU s/GiB (both sides)' },
  ])
  report('uTP against the raw-UDP ceiling', 'raw UDP', [
    { key: 'utp.throughput_vs_udp', ours: ours.mbps, anchor: udp.mbps, unit: 'MB/s' },
  ])
}
