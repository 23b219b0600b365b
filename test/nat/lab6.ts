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
// torn down by destroy(), by an 'exit'/signal hook if a test forgets (lab-base.ts, shared with lab.ts), and by
// sweepStale() after a crash.
// Addresses are added `nodad` and DAD is off in every namespace: the lab is usable as soon as it is built.
import { Host, type LabLike } from './lab.js'
import { buildLab, checkLabOptions, LabBase } from './lab-base.js'
import { DEFAULT_PREFIX, ipPath, sweepStale, tool } from './netns.js'
import { firewallRuleset, NFT6_TABLE, parseDropCounters } from './nft6.js'
import { mustRun } from './proc.js'

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

export class Lab6 extends LabBase {
  relay!: Host
  a!: FirewalledHost
  b!: FirewalledHost
  fwA!: Firewall
  fwB!: Firewall
  publicHosts: Host[] = []

  constructor(prefix: string) {
    super(prefix, ++labCounter)
  }

  get hosts(): Host[] {
    return [this.relay, ...this.publicHosts, this.fwA, this.fwB, this.a, this.b].filter(Boolean)
  }
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
  const nPublic = opts.publicHosts ?? 0
  checkLabOptions(prefix, nPublic, MAX_PUBLIC_HOSTS)
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

  const layout = {
    publicSide,
    routers: firewalls,
    sysctls: (n: string) => [...SYSCTL_BEFORE_LINKS, ...(firewalls.some((f) => f.ns === n) ? ROUTER_SYSCTL : [])],
  }
  return buildLab(lab, ip, layout, async () => {
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
  })
}
