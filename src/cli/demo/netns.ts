// The network-namespace world of `mainline demo --netns` (Linux, root): a public bridge 198.51.100.0/24 with a
// relay (.10) and two DHT hosts (.20, .21), and two home routers doing NAT with nftables (wan .1 and .2), each
// with one host behind it (192.0.2.2/26, 192.0.2.66/26). The same topology as the test lab (test/nat), built
// here with plain `ip` and `nft` commands so the installed CLI needs nothing from the repository's tests.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'

const PATHS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin']

function bin(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...PATHS]) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`
  }
  throw new Error(`${name} not found (install iproute2 and nftables)`)
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

function ruleset(symmetric: boolean): string {
  return `table ip mainline_demo {
  chain input { type filter hook input priority filter; policy drop; iif "lo" accept; ct state established,related accept; iifname "lan" accept; }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "lan" oifname "wan" accept; }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "wan" masquerade${symmetric ? ' fully-random' : ''}; }
}
`
}

export const DEMO_RELAY_IP = '198.51.100.10'
export const DEMO_DHT_IPS = ['198.51.100.20', '198.51.100.21']
export const DEMO_WAN = { a: '198.51.100.1', b: '198.51.100.2' }

export class DemoLab {
  readonly id = `mldemo${process.pid}x${Date.now() % 100000}`
  readonly children = new Set<ChildProcess>()
  private readonly made: string[] = []
  private readonly ip = bin('ip')
  private readonly onExit = () => this.destroySync()

  ns(role: string): string {
    return `${this.id}-${role}`
  }

  /** Builds the topology; on failure everything made so far is removed. */
  async build(): Promise<void> {
    process.once('exit', this.onExit)
    const ip = this.ip
    const nft = bin('nft')
    const roles = ['pub', 'relay', 'd0', 'd1', 'ra', 'rb', 'a', 'b']
    try {
      for (const r of roles) {
        await run(ip, ['netns', 'add', this.ns(r)])
        this.made.push(this.ns(r))
        // rp_filter off before links exist (they copy `default`); no IPv6 chatter.
        await run(ip, [
          'netns',
          'exec',
          this.ns(r),
          'sh',
          '-c',
          'for k in ipv4/conf/all/rp_filter ipv4/conf/default/rp_filter; do echo 0 > /proc/sys/net/$k; done; ' +
            'for k in ipv6/conf/all/disable_ipv6 ipv6/conf/default/disable_ipv6; do echo 1 > /proc/sys/net/$k; done',
        ])
        await run(ip, ['-n', this.ns(r), 'link', 'set', 'lo', 'up'])
      }
      const pub = this.ns('pub')
      await run(ip, ['-n', pub, 'link', 'add', 'br0', 'type', 'bridge'])
      await run(ip, ['-n', pub, 'link', 'set', 'br0', 'up'])
      const attach = async (role: string, dev: string, addr: string) => {
        await run(ip, [
          '-n',
          pub,
          'link',
          'add',
          `v-${role}`,
          'type',
          'veth',
          'peer',
          'name',
          dev,
          'netns',
          this.ns(role),
        ])
        await run(ip, ['-n', pub, 'link', 'set', `v-${role}`, 'master', 'br0', 'up'])
        await run(ip, ['-n', this.ns(role), 'addr', 'add', addr, 'dev', dev])
        await run(ip, ['-n', this.ns(role), 'link', 'set', dev, 'up'])
      }
      await attach('relay', 'eth0', `${DEMO_RELAY_IP}/24`)
      await attach('d0', 'eth0', `${DEMO_DHT_IPS[0]}/24`)
      await attach('d1', 'eth0', `${DEMO_DHT_IPS[1]}/24`)
      for (const [router, host, wan, lan, hostIp] of [
        ['ra', 'a', DEMO_WAN.a, '192.0.2.1', '192.0.2.2'],
        ['rb', 'b', DEMO_WAN.b, '192.0.2.65', '192.0.2.66'],
      ]) {
        await attach(router, 'wan', `${wan}/24`)
        await run(ip, ['netns', 'exec', this.ns(router), 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'])
        await run(ip, [
          '-n',
          this.ns(router),
          'link',
          'add',
          'lan',
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          this.ns(host),
        ])
        await run(ip, ['-n', this.ns(router), 'addr', 'add', `${lan}/26`, 'dev', 'lan'])
        await run(ip, ['-n', this.ns(router), 'link', 'set', 'lan', 'up'])
        await run(ip, ['-n', this.ns(host), 'addr', 'add', `${hostIp}/26`, 'dev', 'eth0'])
        await run(ip, ['-n', this.ns(host), 'link', 'set', 'eth0', 'up'])
        await run(ip, ['-n', this.ns(host), 'route', 'add', 'default', 'via', lan])
        await run(ip, ['netns', 'exec', this.ns(router), nft, '-f', '-'], ruleset(false))
      }
    } catch (err) {
      await this.destroy()
      throw err
    }
  }

  /** Runs the demo's peer process (lab-peer) in a namespace, stdout piped. */
  spawnPeer(role: string, args: string[]): ChildProcess {
    const ts = import.meta.url.endsWith('.ts')
    const script = new URL(`./lab-peer.${ts ? 'ts' : 'js'}`, import.meta.url).pathname
    const node = ts ? ['--import', import.meta.resolve('tsx'), script] : [script]
    const child = spawn(this.ip, ['netns', 'exec', this.ns(role), process.execPath, ...node, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.children.add(child)
    child.on('exit', () => this.children.delete(child))
    return child
  }

  /** Kills the processes and deletes the namespaces. */
  async destroy(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL')
    await Promise.all(
      [...this.children].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    )
    for (const n of this.made.splice(0).reverse()) await run(this.ip, ['netns', 'del', n]).catch(() => {})
    process.off('exit', this.onExit)
  }

  private destroySync(): void {
    for (const c of this.children) c.kill('SIGKILL')
    for (const n of this.made.splice(0).reverse()) {
      try {
        execFileSync(this.ip, ['netns', 'del', n], { stdio: 'ignore' })
      } catch {}
    }
  }
}
