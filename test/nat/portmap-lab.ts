// The port-mapping lab: a home router running miniupnpd (NAT-PMP/PCP and UPnP IGD) between a LAN host and the
// "Internet", for test/nat/portmap.test.ts and docs/portmap.md.
//
//   outside 198.51.100.20 (a peer, and the STUN responder miniupnpd checks its WAN address with)
//          |
//   router wan 198.51.100.1 — nftables masquerade + miniupnpd's chains — lan 192.0.2.1/26
//          |
//   host 192.0.2.2 (the node, default route via 192.0.2.1)
//
// Namespaces are named `<prefix><pid>x<n>-…` like lab.ts's, so sweepStale() removes them after a crash.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ipPath, labFile, TSX_IMPORT } from './lab.js'
import { removeNamespaces, removeNamespacesSync, sweepStale, tool } from './netns.js'
import { EventReader, type ExecOptions, findBinary, LabError, mustRun, run } from './proc.js'

export const PREFIX = 'mlpm'
export const WAN_IP = '198.51.100.1'
export const LAN_IP = '192.0.2.1'
export const HOST_IP = '192.0.2.2'
export const OUTSIDE_IP = '198.51.100.20'
export const STUN_PORT = 3478
/** nftables names: our table, and the chains miniupnpd adds its rules to (its config names them). */
export const TABLE = 'mlpm'
export const CHAINS = { forward: 'upnp_forward', prerouting: 'upnp_prerouting', postrouting: 'upnp_postrouting' }

export interface MiniupnpdConfig {
  natpmp: boolean
  upnp: boolean
  /** Permission rules, in order (miniupnpd's `allow|deny ext-ports ip/mask int-ports`). */
  rules: string[]
}

/** The router's ruleset: filtering and masquerade as a home router, with jumps into miniupnpd's chains. */
export function routerRuleset(): string {
  return `table inet ${TABLE} {
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    iifname "lan" accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
    jump ${CHAINS.forward}
  }
  chain ${CHAINS.forward} {
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    jump ${CHAINS.prerouting}
  }
  chain ${CHAINS.prerouting} {
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump ${CHAINS.postrouting}
    oifname "wan" masquerade
  }
  chain ${CHAINS.postrouting} {
  }
}
`
}

export function miniupnpdConf(c: MiniupnpdConfig, dir: string): string {
  return [
    'ext_ifname=wan',
    'listening_ip=lan',
    'http_port=0',
    `enable_natpmp=${c.natpmp ? 'yes' : 'no'}`,
    `enable_upnp=${c.upnp ? 'yes' : 'no'}`,
    // The WAN address is a documentation (reserved) address: miniupnpd maps only after a STUN check passes.
    'ext_perform_stun=yes',
    `ext_stun_host=${OUTSIDE_IP}`,
    `ext_stun_port=${STUN_PORT}`,
    'secure_mode=yes',
    'system_uptime=no',
    'notify_interval=60',
    'clean_ruleset_interval=600',
    `lease_file=${join(dir, 'leases')}`,
    'uuid=6b7c3f1e-0a3e-4d36-9a5e-6d1d9a2f0b11',
    `upnp_table_name=${TABLE}`,
    `upnp_nat_table_name=${TABLE}`,
    `upnp_forward_chain=${CHAINS.forward}`,
    `upnp_nat_chain=${CHAINS.prerouting}`,
    `upnp_nat_postrouting_chain=${CHAINS.postrouting}`,
    ...c.rules,
    '',
  ].join('\n')
}

let counter = 0

export class PortmapLab {
  readonly id: string
  readonly ns: { router: string; host: string; outside: string }
  readonly dir: string
  private readonly children = new Set<ChildProcess>()
  private miniupnpd: EventReader | undefined
  private destroyed = false

  constructor() {
    this.id = `${PREFIX}${process.pid}x${++counter}`
    this.ns = { router: `${this.id}-r`, host: `${this.id}-h`, outside: `${this.id}-o` }
    this.dir = mkdtempSync(join(tmpdir(), 'mlpm-'))
  }

  get namespaces(): string[] {
    return Object.values(this.ns)
  }

  /** Starts a process in a namespace; killed by destroy(). */
  spawn(ns: string, cmd: string, args: readonly string[]): ChildProcess {
    if (this.destroyed) throw new LabError('DESTROYED', `lab ${this.id} was destroyed`)
    const child = spawn(ipPath(), ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.children.add(child)
    child.on('exit', () => this.children.delete(child))
    return child
  }

  /** `mainline …` from source in a namespace, its JSON lines read by an EventReader. */
  cli(ns: string, args: readonly string[]): EventReader {
    return new EventReader(this.spawn(ns, process.execPath, ['--import', TSX_IMPORT, MAIN, ...args]))
  }

  exec(ns: string, cmd: string, args: readonly string[], opts: ExecOptions = {}) {
    return run(ipPath(), ['netns', 'exec', ns, cmd, ...args], opts)
  }

  /** (Re)starts miniupnpd in the router with this configuration; resolves once it listens. */
  async startMiniupnpd(c: MiniupnpdConfig): Promise<EventReader> {
    await this.stopMiniupnpd()
    const bin = findBinary('miniupnpd')
    if (!bin) throw new LabError('MISSING_TOOL', 'miniupnpd not found (install miniupnpd-nftables)')
    const conf = join(this.dir, 'miniupnpd.conf')
    writeFileSync(conf, miniupnpdConf(c, this.dir))
    const child = this.spawn(this.ns.router, bin, ['-f', conf, '-d', '-P', join(this.dir, 'miniupnpd.pid')])
    const r = new EventReader(child)
    // -d logs to stderr; "Listening for NAT-PMP" or "HTTP listening" means it is serving.
    const ready = c.natpmp ? 'Listening for NAT-PMP/PCP traffic' : 'HTTP listening on port'
    const t0 = Date.now()
    while (!r.stderr.includes(ready)) {
      if (r.code !== undefined) throw new LabError('COMMAND_FAILED', `miniupnpd exited: ${r.stderr}`)
      if (Date.now() - t0 > 10_000) throw new LabError('TIMEOUT', `miniupnpd did not start: ${r.stderr}`)
      await new Promise((res) => setTimeout(res, 50))
    }
    if (r.stderr.includes('Port forwarding is now disabled') || r.stderr.includes('Port forwarding is impossible'))
      throw new LabError('COMMAND_FAILED', `miniupnpd will not forward: ${r.stderr}`)
    this.miniupnpd = r
    return r
  }

  async stopMiniupnpd(): Promise<void> {
    const r = this.miniupnpd
    this.miniupnpd = undefined
    if (!r || r.code !== undefined) return
    r.child.kill('SIGTERM')
    await r.exit(5000)
  }

  /** miniupnpd's DNAT rules (the port forwards it holds), as `nft list chain` prints them. */
  async forwards(): Promise<string> {
    const r = await mustRun(ipPath(), [
      'netns',
      'exec',
      this.ns.router,
      tool('nft'),
      'list',
      'chain',
      'inet',
      TABLE,
      CHAINS.prerouting,
    ])
    return r.stdout
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    live.delete(this)
    for (const c of this.children) c.kill('SIGKILL')
    await Promise.all(
      [...this.children].map((c) => new Promise((res) => (c.exitCode !== null ? res(null) : c.once('exit', res)))),
    )
    await removeNamespaces(this.namespaces)
    rmSync(this.dir, { recursive: true, force: true })
  }

  destroySync(): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const c of this.children) c.kill('SIGKILL')
    removeNamespacesSync(this.namespaces)
    rmSync(this.dir, { recursive: true, force: true })
  }
}

const MAIN = labFile('../../src/cli/main.ts')
const live = new Set<PortmapLab>()
let hooked = false

/** Builds the three namespaces, the router's ruleset and the STUN responder. */
export async function createPortmapLab(): Promise<PortmapLab> {
  await sweepStale(PREFIX)
  const lab = new PortmapLab()
  live.add(lab)
  if (!hooked) {
    hooked = true
    process.on('exit', () => {
      for (const l of live) l.destroySync()
    })
  }
  const ip = ipPath()
  const { router, host, outside } = lab.ns
  try {
    await mustRun(ip, ['-batch', '-'], { input: lab.namespaces.map((n) => `netns add ${n}\n`).join('') })
    const sysctl = (ns: string, extra = '') =>
      mustRun(ip, [
        'netns',
        'exec',
        ns,
        'sh',
        '-c',
        `echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6${extra}`,
      ])
    await Promise.all([sysctl(router, ' && echo 1 > /proc/sys/net/ipv4/ip_forward'), sysctl(host), sysctl(outside)])
    const batch = (ns: string, lines: string[]) =>
      mustRun(ip, ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` })
    await batch(router, [
      'link set lo up',
      `link add wan type veth peer name eth0 netns ${outside}`,
      `link add lan type veth peer name eth0 netns ${host}`,
      `addr add ${WAN_IP}/24 dev wan`,
      `addr add ${LAN_IP}/26 dev lan`,
      'link set wan up',
      'link set lan up',
    ])
    await batch(outside, ['link set lo up', `addr add ${OUTSIDE_IP}/24 dev eth0`, 'link set eth0 up'])
    await batch(host, [
      'link set lo up',
      `addr add ${HOST_IP}/26 dev eth0`,
      'link set eth0 up',
      `route add default via ${LAN_IP}`,
    ])
    await mustRun(ip, ['netns', 'exec', router, tool('nft'), '-f', '-'], { input: routerRuleset() })
    const stun = new EventReader(
      lab.spawn(outside, '/usr/bin/python3', ['-u', labFile('stun-responder.py'), OUTSIDE_IP, String(STUN_PORT)]),
    )
    await stun.waitFor((e) => e.event === 'ready', 10_000)
  } catch (e) {
    await lab.destroy()
    throw e
  }
  return lab
}
