// Link delay for the NAT lab. The kernels we run on have no sch_netem (`tc qdisc … netem` fails with "Specified
// qdisc kind is unknown") and no nft `queue`, so the delay is a userspace delay line (delay.py) in the public
// namespace: the host's veth leaves the bridge, a new veth pair takes its place, and the delay line copies frames
// between the two after `ms` in each direction.
//
//   host ─ v-<host> ══ delay.py (ms each way) ══ dx-<host> ─ dy-<host> ─ br0
import { Host, type Lab, labFile } from './lab.js'
import { ipPath } from './netns.js'
import { EventReader, mustRun } from './proc.js'

const DELAY_PY = labFile('delay.py')

/**
 * Delays every frame to and from each of `hosts` (public-side hosts: relay, public hosts, routers' wan links) by
 * `ms` in each direction. The delay line runs until the lab is destroyed (it lives in the lab's public namespace,
 * whose processes destroy() kills). Call once per lab.
 */
export async function addLinkDelay(lab: Lab, hosts: readonly Host[], ms: number): Promise<void> {
  if (!(ms > 0 && ms <= 10_000)) throw new RangeError(`delay must be in (0, 10000] ms, got ${ms}`)
  if (hosts.length === 0) return
  const lines: string[] = []
  for (const h of hosts) {
    const v = `v-${h.name}`
    lines.push(
      `link set ${v} nomaster`,
      `link set ${v} promisc on`,
      `link add dx-${h.name} type veth peer name dy-${h.name}`,
      `link set dx-${h.name} promisc on`,
      `link set dx-${h.name} up`,
      `link set dy-${h.name} master br0`,
      `link set dy-${h.name} up`,
    )
  }
  await mustRun(ipPath(), ['-n', lab.pubNs, '-batch', '-'], { input: `${lines.join('\n')}\n` })
  const pub = new Host('pub', lab.pubNs, '', lab)
  const pairs = hosts.flatMap((h) => ['--pair', `v-${h.name}:dx-${h.name}`])
  const line = new EventReader(pub.spawnPython(DELAY_PY, [...pairs, '--ms', String(ms)]))
  await line.waitFor((e) => e.event === 'ready', 10_000)
}
