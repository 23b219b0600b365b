// The IPv6 lab, for the `nat` test tier (docs/nat-lab.md, "IPv6 lab"): no NAT, a stateful firewall in front of
// each peer. Documentation prefix 2001:db8::/32 only.
//
//   relay 2001:db8:100::10   public hosts 2001:db8:100::20+i
//          \                  /
//   [pub: bridge br0, 2001:db8:100::/64]
//          /                  \
//   fwA wan 2001:db8:100::1    fwB wan 2001:db8:100::2       (nftables: established/related in, nothing else)
//   fwA lan 2001:db8:a::1/64   fwB lan 2001:db8:b::1/64
//          |                  |
//   a 2001:db8:a::2            b 2001:db8:b::2
//
// Same conventions as lab.ts: namespaces `<prefix><pid>x<n>-<role>` (n from 6001 so they never meet lab.ts's),
// torn down by destroy(), by an 'exit'/signal hook if a test forgets, and by sweepStale() after a crash.
// Addresses are added `nodad` and DAD is off in every namespace: the lab is usable as soon as it is built.
import { Host, type LabLike } from './lab.js'
import { DEFAULT_PREFIX, ipPath, removeNamespaces, removeNamespacesSync, sweepStale, tool } from './netns.js'
import { firewallRuleset, NFT6_TABLE, parseDropCounters } from './nft6.js'
import { LabError, mustRun } from './proc.js'

export interface Lab6Options {
  /** Extra hosts on the public segment (2001:db8:100::20 + i), e.g. for a small DHT. Default 0, at most 100. */
  publicHosts?: number
  /** Namespace name prefix; sweepStale() only removes names with this prefix. Default: 'mlnat'. */
  prefix?: string
}

export const PUBLIC6_PREFIX = '2001:db8:100::/64'
export const RELAY6_IP = '2001:db8:100::10'
const MAX_PUBLIC_HOSTS = 100

/** A host behind one of the firewalls: its address is global, the same inside and outside. */
export class FirewalledHost extends Host {
  constructor(
    name: string,
    ns: string,
    ip: string,
    lab: LabLike,
    readonly firewall: Firewall,
  ) {
    super(name, ns, ip, lab)
  }
}

/** A router with a stateful firewall: `wan` on the public bridge, `lan` towards its one host. */
export class Firewall extends Host {
  constructor(
    name: string,
    ns: string,
    readonly wanIp: string,
    readonly lanIp: string,
    readonly lanPrefix: string,
    lab: LabLike,
  ) {
    super(name, ns, wanIp, lab)
  }

  /** Inbound UDP and TCP packets from wan dropped so far (the unsolicited ones). */
  async dropped(): Promise<{ udp: number; tcp: number }> {
    const r = await this.mustExec(tool('nft'), ['list', 'chain', 'ip6', NFT6_TABLE, 'forward'])
    return parseDropCounters(r.stdout)
  }

  /** The firewall's nftables table as `nft list table` prints it. */
  async ruleset(): Promise<string> {
    return (await this.mustExec(tool('nft'), ['list', 'table', 'ip6', NFT6_TABLE])).stdout
  }
}

let labCounter = 6000
const liveLabs = new Set<Lab6>()

export class Lab6 implements LabLike {
  readonly id: string
  relay!: Host
  a!: FirewalledHost
  b!: FirewalledHost
  fwA!: Firewall
  fwB!: Firewall
  publicHosts: Host[] = []
  readonly pubNs: string
  readonly namespaces: string[] = []
  private destroyed = false

  constructor(prefix: string) {
    this.id = `${prefix}${process.pid}x${++labCounter}`
    this.pubNs = `${this.id}-pub`
  }

  get hosts(): Host[] {
    return [this.relay, ...this.publicHosts, this.fwA, this.fwB, this.a, this.b].filter(Boolean)
  }

  assertLive(): void {
    if (this.destroyed) throw new LabError('DESTROYED', `lab ${this.id} was destroyed`)
  }

  /** Kills every process started in the lab and deletes its namespaces. Idempotent; never throws. */
  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    liveLabs.delete(this)
    const children = this.hosts.flatMap((h) => [...h.children])
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve()
            const t = setTimeout(resolve, 2000)
            c.once('exit', () => {
              clearTimeout(t)
              resolve()
            })
            c.kill('SIGKILL')
          }),
      ),
    )
    await removeNamespaces(this.namespaces)
  }

  destroySync(): void {
    if (this.destroyed) return
    this.destroyed = true
    liveLabs.delete(this)
    for (const h of this.hosts) for (const c of h.children) c.kill('SIGKILL')
    removeNamespacesSync(this.namespaces)
  }
}

let hooksInstalled = false
function installExitHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', () => {
    for (const lab of [...liveLabs]) lab.destroySync()
  })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const lab of [...liveLabs]) lab.destroySync()
      process.off(sig, onSignal)
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
    }
    process.on(sig, onSignal)
  }
}

/** Written under `ip netns exec` (see lab.ts): /proc/sys/net is the writer's namespace. */
function sysctlScript(settings: readonly string[]): string {
  return settings
    .map((kv) => {
      const [key, value] = kv.split('=')
      return `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`
    })
    .join(' && ')
}

const SYSCTL_BEFORE_LINKS = [
  // Links inherit `default` when created. No duplicate address detection (addresses usable at once), no router
  // advertisements acted on (every address and route is static).
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.accept_ra=0',
  'net.ipv6.conf.default.accept_ra=0',
]
const ROUTER_SYSCTL = ['net.ipv6.conf.all.forwarding=1', 'net.ipv6.conf.default.forwarding=1']

function hostBatch(dev: string, cidr: string, routes: readonly string[]): string {
  return [
    'link set lo up',
    `addr add ${cidr} dev ${dev} nodad`,
    `link set ${dev} up`,
    ...routes.map((r) => `route add ${r}`),
    '',
  ].join('\n')
}

/** Builds the IPv6 lab. Rejects (after removing whatever was created) if any step fails. */
export async function createLab6(opts: Lab6Options = {}): Promise<Lab6> {
  const prefix = opts.prefix ?? DEFAULT_PREFIX
  if (!/^[a-z][a-z0-9]{0,11}$/.test(prefix)) throw new RangeError(`bad namespace prefix ${JSON.stringify(prefix)}`)
  const nPublic = opts.publicHosts ?? 0
  if (!Number.isInteger(nPublic) || nPublic < 0 || nPublic > MAX_PUBLIC_HOSTS)
    throw new RangeError(`publicHosts must be an integer 0..${MAX_PUBLIC_HOSTS}, got ${nPublic}`)
  const ip = ipPath()
  const nft = tool('nft')
  await sweepStale(prefix)

  const lab = new Lab6(prefix)
  const ns = (role: string) => `${lab.id}-${role}`
  lab.relay = new Host('relay', ns('relay'), RELAY6_IP, lab)
  for (let i = 0; i < nPublic; i++)
    lab.publicHosts.push(new Host(`pub${i}`, ns(`p${i}`), `2001:db8:100::${(0x20 + i).toString(16)}`, lab))
  lab.fwA = new Firewall('fwA', ns('fa'), '2001:db8:100::1', '2001:db8:a::1', '2001:db8:a::/64', lab)
  lab.fwB = new Firewall('fwB', ns('fb'), '2001:db8:100::2', '2001:db8:b::1', '2001:db8:b::/64', lab)
  lab.a = new FirewalledHost('a', ns('a'), '2001:db8:a::2', lab, lab.fwA)
  lab.b = new FirewalledHost('b', ns('b'), '2001:db8:b::2', lab, lab.fwB)
  const publicSide = [lab.relay, ...lab.publicHosts]
  const firewalls = [lab.fwA, lab.fwB]
  const inside = [lab.a, lab.b]
  // Every host on the public segment reaches each LAN through its firewall; each firewall the other's LAN too.
  const lanRoutes = firewalls.map((f) => `${f.lanPrefix} via ${f.wanIp}`)

  liveLabs.add(lab)
  installExitHooks()
  try {
    lab.namespaces.push(lab.pubNs, ...lab.hosts.map((h) => h.ns))
    await mustRun(ip, ['-batch', '-'], { input: lab.namespaces.map((n) => `netns add ${n}\n`).join('') })

    await Promise.all(
      lab.namespaces.map((n) => {
        const extra = firewalls.some((f) => f.ns === n) ? ROUTER_SYSCTL : []
        return mustRun(ip, ['netns', 'exec', n, 'sh', '-c', sysctlScript([...SYSCTL_BEFORE_LINKS, ...extra])])
      }),
    )

    const pubLines = ['link set lo up', 'link add br0 type bridge', 'link set br0 up']
    for (const h of publicSide) pubLines.push(`link add v-${h.name} type veth peer name eth0 netns ${h.ns}`)
    for (const f of firewalls) pubLines.push(`link add v-${f.name} type veth peer name wan netns ${f.ns}`)
    for (const h of [...publicSide, ...firewalls])
      pubLines.push(`link set v-${h.name} master br0`, `link set v-${h.name} up`)
    await mustRun(ip, ['-n', lab.pubNs, '-batch', '-'], { input: pubLines.join('\n') + '\n' })

    await Promise.all(
      firewalls.map((f, i) => {
        const host = inside[i]
        const other = firewalls[1 - i]
        const lines = [
          hostBatch('wan', `${f.wanIp}/64`, [`${other.lanPrefix} via ${other.wanIp}`]),
          `link add lan type veth peer name eth0 netns ${host.ns}`,
          `addr add ${f.lanIp}/64 dev lan nodad`,
          'link set lan up',
          '',
        ]
        return mustRun(ip, ['-n', f.ns, '-batch', '-'], { input: lines.join('\n') })
      }),
    )

    await Promise.all([
      ...publicSide.map((h) =>
        mustRun(ip, ['-n', h.ns, '-batch', '-'], { input: hostBatch('eth0', `${h.ip}/64`, lanRoutes) }),
      ),
      ...inside.map((h) =>
        mustRun(ip, ['-n', h.ns, '-batch', '-'], {
          input: hostBatch('eth0', `${h.ip}/64`, [`::/0 via ${h.firewall.lanIp}`]),
        }),
      ),
    ])

    await Promise.all(
      firewalls.map((f) => mustRun(ip, ['netns', 'exec', f.ns, nft, '-f', '-'], { input: firewallRuleset() })),
    )
  } catch (e) {
    await lab.destroy()
    throw e
  }
  return lab
}
