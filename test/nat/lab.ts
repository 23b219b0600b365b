// A real NAT lab in Linux network namespaces, for the `nat` test tier (docs/nat-lab.md).
//
//   relay 198.51.100.10   public hosts 198.51.100.20+i
//          \                  /
//   [pub: bridge br0, 198.51.100.0/24]
//          /                  \
//   routerA wan 198.51.100.1   routerB wan 198.51.100.2      (nftables masquerade: port-preserving or symmetric)
//   routerA lan 192.0.2.1/26   routerB lan 192.0.2.65/26
//          |                  |
//   a 192.0.2.2               b 192.0.2.66
//
// Namespace names are global, so each lab gets a unique prefix (`mlnat<pid>x<n>-`), is torn down by destroy(),
// by a process 'exit' hook if a test forgets (lab-base.ts, shared with lab6.ts), and by sweepStale() if the
// process crashed.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { buildLab, checkLabOptions, LabBase } from './lab-base.js'
import { DEFAULT_PREFIX, ipPath, sweepStale, tool } from './netns.js'
import { checkLossPercent, type NatType, NFT_TABLE, routerRuleset, setLossScript } from './nft.js'
import { type ExecOptions, type ExecResult, mustRun, run } from './proc.js'

export { DEFAULT_PREFIX, ipPath, listNamespaces, sweepStale } from './netns.js'
export type { NatType } from './nft.js'

export interface LabOptions {
  /** NAT type of router A. Default: 'port-preserving'. */
  natA?: NatType
  /** NAT type of router B. Default: 'port-preserving'. */
  natB?: NatType
  /** Random loss (percent, integer 0..100) in each direction of both routers' wan links. Default: 0. */
  lossPercent?: number
  /** Extra hosts on the public segment (198.51.100.20 + i), e.g. for a small DHT. Default: 0, at most 100. */
  publicHosts?: number
  /** Namespace name prefix; sweepStale() only removes names with this prefix. Default: 'mlnat'. */
  prefix?: string
}

export const PUBLIC_SUBNET = '198.51.100.0/24'
export const RELAY_IP = '198.51.100.10'
const PUBLIC_HOST_BASE = 20
const MAX_PUBLIC_HOSTS = 100

const PYTHON = '/usr/bin/python3'
const CONNTRACK_PY = fileURLToPath(new URL('conntrack.py', import.meta.url))

export interface ConntrackTuple {
  src: string
  dst: string
  sport: number
  dport: number
}

/**
 * One conntrack entry. For a masqueraded flow `reply.dst:reply.dport` is the NAT mapping (the router's wan
 * address and the external port), `orig` the host's own view.
 */
export interface ConntrackEntry {
  /** IP protocol number: 17 UDP, 6 TCP. */
  proto: number
  orig: ConntrackTuple
  reply: ConntrackTuple
  /** Seconds until the entry expires. */
  timeout: number
  /** True once a packet came back (UDP: 120 s timeout instead of 30 s). */
  seen_reply: boolean
}
/** The tsx loader as a file URL, so `node --import` finds it whatever the working directory. */
export const TSX_IMPORT = import.meta.resolve('tsx')

/** What a Host needs of its lab (Lab here, Lab6 in lab6.ts): refuse to run once it is torn down. */
export interface LabLike {
  assertLive(): void
}

/** A network namespace with one address, and the processes the lab started in it. */
export class Host {
  /** Processes started by spawn*() that have not exited yet; killed by destroy(). */
  readonly children = new Set<ChildProcess>()

  constructor(
    /** Role name: 'relay', 'a', 'b', 'routerA', 'routerB', 'pub0'… */
    readonly name: string,
    /** The network namespace (as listed by `ip netns`). */
    readonly ns: string,
    /** The host's address: public for the relay, public hosts and routers (wan side); private for a and b. */
    readonly ip: string,
    protected readonly lab: LabLike,
  ) {}

  /** Runs a command in the namespace to completion (does not throw on a non-zero exit). */
  async exec(cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    this.lab.assertLive()
    return run(ipPath(), ['netns', 'exec', this.ns, cmd, ...args], opts)
  }

  /** Like exec(), but throws a LabError when the exit code is not 0. */
  async mustExec(cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    this.lab.assertLive()
    return mustRun(ipPath(), ['netns', 'exec', this.ns, cmd, ...args], opts)
  }

  /**
   * Starts a process in the namespace (`ip netns exec` execs it directly, so `child.pid` is the process itself).
   * stdio defaults to ['ignore', 'pipe', 'pipe']: read both pipes (an EventReader does) or pass 'ignore', or a
   * chatty process blocks once a pipe buffer fills. The process is killed when the lab is destroyed.
   */
  spawn(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    this.lab.assertLive()
    const child = spawn(ipPath(), ['netns', 'exec', this.ns, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...opts,
    })
    this.children.add(child)
    child.on('exit', () => this.children.delete(child))
    child.on('error', () => this.children.delete(child))
    return child
  }

  /** Runs a TypeScript (or JavaScript) file with this Node and tsx: `node --import tsx script ...args`. */
  spawnNode(script: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return this.spawn(process.execPath, ['--import', TSX_IMPORT, script, ...args], opts)
  }

  /** Runs a Python file with the system Python (/usr/bin/python3, where Debian's libtorrent binding lives). */
  spawnPython(script: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return this.spawn(PYTHON, ['-u', script, ...args], opts)
  }
}

/** A host on a private LAN behind one of the routers. */
export class NatHost extends Host {
  constructor(
    name: string,
    ns: string,
    ip: string,
    lab: Lab,
    readonly router: Router,
  ) {
    super(name, ns, ip, lab)
  }
  /** The address the public segment sees this host's traffic from (its router's wan address). */
  get publicIp(): string {
    return this.router.wanIp
  }
}

/** A NAT router: `wan` on the public bridge, `lan` towards its one host. */
export class Router extends Host {
  constructor(
    name: string,
    ns: string,
    readonly wanIp: string,
    readonly lanIp: string,
    readonly lanCidr: string,
    readonly nat: NatType,
    private loss: number,
    lab: Lab,
  ) {
    super(name, ns, wanIp, lab)
  }

  get lossPercent(): number {
    return this.loss
  }

  /** Replaces the random-loss rules on the wan link (both directions), atomically. */
  async setLoss(percent: number): Promise<void> {
    await this.mustExec(tool('nft'), ['-f', '-'], { input: setLossScript(checkLossPercent(percent)) })
    this.loss = percent
  }

  /** Empties the router's conntrack table (every NAT mapping and hole), over ctnetlink. */
  async flushConntrack(): Promise<void> {
    await this.mustExec(PYTHON, [CONNTRACK_PY, 'flush'])
  }

  /** The router's IPv4 conntrack entries, over ctnetlink (no `conntrack` tool or procfs needed). */
  async conntrack(): Promise<ConntrackEntry[]> {
    const r = await this.mustExec(PYTHON, [CONNTRACK_PY, 'list'])
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ConntrackEntry)
  }

  /** The router's nftables ruleset as `nft list table` prints it. */
  async ruleset(): Promise<string> {
    return (await this.mustExec(tool('nft'), ['list', 'table', 'ip', NFT_TABLE])).stdout
  }
}

let labCounter = 0

export class Lab extends LabBase {
  relay!: Host
  a!: NatHost
  b!: NatHost
  routerA!: Router
  routerB!: Router
  publicHosts: Host[] = []

  constructor(prefix: string) {
    super(prefix, ++labCounter)
  }

  /** Every host (relay, public hosts, routers, a, b). */
  get hosts(): Host[] {
    return [this.relay, ...this.publicHosts, this.routerA, this.routerB, this.a, this.b].filter(Boolean)
  }

  /** Flushes the conntrack tables of both routers (between scenarios sharing one lab). */
  async flushConntrack(): Promise<void> {
    await Promise.all([this.routerA.flushConntrack(), this.routerB.flushConntrack()])
  }
}

function hostBatch(dev: string, cidr: string, gateway?: string): string {
  return [
    'link set lo up',
    `addr add ${cidr} dev ${dev}`,
    `link set ${dev} up`,
    ...(gateway ? [`route add default via ${gateway}`] : []),
    '',
  ].join('\n')
}

const SYSCTL_BEFORE_LINKS = [
  // Links inherit `default` when created: rp_filter must be off before they exist (asymmetric NAT paths).
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  // IPv4-only lab: no link-local addresses, DAD or router solicitations on the veths.
  'net.ipv6.conf.all.disable_ipv6=1',
  'net.ipv6.conf.default.disable_ipv6=1',
]

/** Builds the lab. Rejects (after removing whatever was created) if any step fails. */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const prefix = opts.prefix ?? DEFAULT_PREFIX
  const nPublic = opts.publicHosts ?? 0
  checkLabOptions(prefix, nPublic, MAX_PUBLIC_HOSTS)
  const loss = checkLossPercent(opts.lossPercent ?? 0)
  const ip = ipPath()
  const nft = tool('nft')
  await sweepStale(prefix)

  const lab = new Lab(prefix)
  const ns = (role: string) => `${lab.id}-${role}`
  lab.relay = new Host('relay', ns('relay'), RELAY_IP, lab)
  for (let i = 0; i < nPublic; i++)
    lab.publicHosts.push(new Host(`pub${i}`, ns(`p${i}`), `198.51.100.${PUBLIC_HOST_BASE + i}`, lab))
  const natA = opts.natA ?? 'port-preserving'
  const natB = opts.natB ?? 'port-preserving'
  lab.routerA = new Router('routerA', ns('ra'), '198.51.100.1', '192.0.2.1', '192.0.2.0/26', natA, loss, lab)
  lab.routerB = new Router('routerB', ns('rb'), '198.51.100.2', '192.0.2.65', '192.0.2.64/26', natB, loss, lab)
  lab.a = new NatHost('a', ns('a'), '192.0.2.2', lab, lab.routerA)
  lab.b = new NatHost('b', ns('b'), '192.0.2.66', lab, lab.routerB)
  const publicSide = [lab.relay, ...lab.publicHosts]
  const routers = [lab.routerA, lab.routerB]
  const natHosts = [lab.a, lab.b]

  const layout = {
    publicSide,
    routers,
    sysctls: (n: string) => [
      ...SYSCTL_BEFORE_LINKS,
      ...(routers.some((r) => r.ns === n) ? ['net.ipv4.ip_forward=1'] : []),
    ],
  }
  return buildLab(lab, ip, layout, async () => {
    // 4. Routers: wan address, lan veth to their host.
    await Promise.all(
      routers.map((r, i) => {
        const host = natHosts[i]
        const lines = [
          hostBatch('wan', `${r.wanIp}/24`),
          `link add lan type veth peer name eth0 netns ${host.ns}`,
          `addr add ${r.lanIp}/26 dev lan`,
          'link set lan up',
          '',
        ]
        return mustRun(ip, ['-n', r.ns, '-batch', '-'], { input: lines.join('\n') })
      }),
    )

    // 5. Hosts: addresses and, behind NAT, the default route via the router.
    await Promise.all([
      ...publicSide.map((h) => mustRun(ip, ['-n', h.ns, '-batch', '-'], { input: hostBatch('eth0', `${h.ip}/24`) })),
      ...natHosts.map((h) =>
        mustRun(ip, ['-n', h.ns, '-batch', '-'], { input: hostBatch('eth0', `${h.ip}/26`, h.router.lanIp) }),
      ),
    ])

    // 6. NAT and filtering.
    await Promise.all(
      routers.map((r, i) =>
        mustRun(ip, ['netns', 'exec', r.ns, nft, '-f', '-'], {
          input: routerRuleset(r.nat, r.lossPercent, natHosts[i].ip),
        }),
      ),
    )
  })
}

/** Absolute path of a file next to this one (for probe scripts run in namespaces). */
export function labFile(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url))
}
