// NAT lab bring-up and tear-down time (root only; prints a skip line otherwise).
// ours:   createLab()/destroy() from test/nat/lab.ts (batched `ip -batch`, steps in parallel per namespace).
// anchor: the same topology built the naive way, one `ip`/`sh`/`nft` process per step, in sequence, as a
//         shell recipe would (the NOTES.md measurement: ~0.3–0.45 s up, ~40 ms down).
import { loadavg } from 'node:os'
import { createLab, DEFAULT_PREFIX, ipPath } from '../test/nat/lab.js'
import { routerRuleset } from '../test/nat/nft.js'
import { findBinary, mustRun } from '../test/nat/proc.js'
import { labSupport } from '../test/nat/support.js'
import { note } from './record.js'
import { report } from './report.js'

const ROUNDS = 8

/** Builds the topology step by step; `created` collects namespace names as they appear (for cleanup). */
async function naiveUp(id: string, publicHosts: number, created: string[]): Promise<void> {
  const ip = ipPath()
  const nft = findBinary('nft')!
  const ns = (r: string) => `${id}-${r}`
  const pubSide = [
    { n: 'relay', ip: '198.51.100.10' },
    ...Array.from({ length: publicHosts }, (_, i) => ({ n: `p${i}`, ip: `198.51.100.${20 + i}` })),
  ]
  const routers = [
    { n: 'ra', wan: '198.51.100.1', lan: '192.0.2.1', host: 'a', hostIp: '192.0.2.2' },
    { n: 'rb', wan: '198.51.100.2', lan: '192.0.2.65', host: 'b', hostIp: '192.0.2.66' },
  ]
  const all = ['pub', ...pubSide.map((h) => h.n), ...routers.flatMap((r) => [r.n, r.host])].map(ns)
  const sh = (...args: string[]) => mustRun(ip, args)
  for (const n of all) {
    await sh('netns', 'add', n)
    created.push(n)
  }
  for (const n of all) {
    await sh('netns', 'exec', n, 'sh', '-c', 'echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter')
    await sh('netns', 'exec', n, 'sh', '-c', 'echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter')
    await sh('-n', n, 'link', 'set', 'lo', 'up')
  }
  const pub = ns('pub')
  await sh('-n', pub, 'link', 'add', 'br0', 'type', 'bridge')
  await sh('-n', pub, 'link', 'set', 'br0', 'up')
  for (const h of pubSide) {
    await sh('-n', pub, 'link', 'add', `v-${h.n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(h.n))
    await sh('-n', pub, 'link', 'set', `v-${h.n}`, 'master', 'br0', 'up')
    await sh('-n', ns(h.n), 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0')
    await sh('-n', ns(h.n), 'link', 'set', 'eth0', 'up')
  }
  for (const r of routers) {
    await sh('netns', 'exec', ns(r.n), 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward')
    await sh('-n', pub, 'link', 'add', `v-${r.n}`, 'type', 'veth', 'peer', 'name', 'wan', 'netns', ns(r.n))
    await sh('-n', pub, 'link', 'set', `v-${r.n}`, 'master', 'br0', 'up')
    await sh('-n', ns(r.n), 'addr', 'add', `${r.wan}/24`, 'dev', 'wan')
    await sh('-n', ns(r.n), 'link', 'set', 'wan', 'up')
    await sh('-n', ns(r.n), 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(r.host))
    await sh('-n', ns(r.n), 'addr', 'add', `${r.lan}/26`, 'dev', 'lan')
    await sh('-n', ns(r.n), 'link', 'set', 'lan', 'up')
    await sh('-n', ns(r.host), 'addr', 'add', `${r.hostIp}/26`, 'dev', 'eth0')
    await sh('-n', ns(r.host), 'link', 'set', 'eth0', 'up')
    await sh('-n', ns(r.host), 'route', 'add', 'default', 'via', r.lan)
    await mustRun(ip, ['netns', 'exec', ns(r.n), nft, '-f', '-'], { input: routerRuleset('port-preserving', 0) })
  }
}

async function time(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await f()
  return performance.now() - t
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

export async function run(): Promise<void> {
  note(
    `load average at start (1, 5, 15 min): ${loadavg()
      .map((x) => x.toFixed(1))
      .join(', ')}`,
  )
  const s = await labSupport()
  if (s.mode !== 'root') {
    console.log(`skipped: the NAT lab bench needs root (${s.mode === 'missing' ? s.reason : 'not root'})`)
    return
  }
  const rows = []
  for (const publicHosts of [0, 8]) {
    const up: number[] = []
    const down: number[] = []
    const nUp: number[] = []
    const nDown: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      let lab: Awaited<ReturnType<typeof createLab>> | undefined
      up.push(await time(async () => (lab = await createLab({ publicHosts }))))
      down.push(await time(() => lab!.destroy()))
      const names: string[] = []
      // Named like a lab, so sweepStale() removes it should this process die half-way.
      const id = `${DEFAULT_PREFIX}${process.pid}x${9000 + i}`
      try {
        nUp.push(await time(() => naiveUp(id, publicHosts, names)))
      } finally {
        nDown.push(
          await time(async () => {
            for (const n of names) await mustRun(ipPath(), ['netns', 'del', n])
          }),
        )
      }
    }
    rows.push(
      { key: `natlab.public${publicHosts}.up`, ours: median(up), anchor: median(nUp), unit: 'ms' },
      { key: `natlab.public${publicHosts}.down`, ours: median(down), anchor: median(nDown), unit: 'ms' },
    )
  }
  report(`NAT lab bring-up / tear-down, median of ${ROUNDS}`, 'naive sequential', rows)
}
