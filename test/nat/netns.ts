// Network-namespace plumbing for the NAT lab: tool paths, listing, removal (killing what is still inside) and
// the sweep of namespaces left behind by crashed runs.
import { execFileSync } from 'node:child_process'
import { readdirSync, readlinkSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { findBinary, LabError, mustRun, run } from './proc.js'

export const DEFAULT_PREFIX = 'mlnat'

/** Absolute path of a required tool; throws LabError MISSING_TOOL naming the Debian package. */
export function tool(name: string): string {
  const p = findBinary(name)
  if (!p) throw new LabError('MISSING_TOOL', `${name} not found (install ${name === 'nft' ? 'nftables' : 'iproute2'})`)
  return p
}
let ipBin: string | undefined
/** Absolute path of `ip` (resolved once). */
export function ipPath(): string {
  ipBin ??= tool('ip')
  return ipBin
}

// Where `ip netns add` bind-mounts each namespace (iproute2's NETNS_RUN_DIR).
const NETNS_DIR = '/var/run/netns'

/**
 * Pids of the processes inside the named namespaces, found as `ip netns pids` does (a process's /proc/PID/ns/net
 * names the namespace inode), in one /proc scan instead of one `ip` process per namespace.
 */
function pidsInNamespaces(names: readonly string[]): number[] {
  const inodes = new Set<number>()
  for (const n of names) {
    try {
      inodes.add(statSync(join(NETNS_DIR, n)).ino)
    } catch {}
  }
  const pids: number[] = []
  if (inodes.size === 0) return pids
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${e}/ns/net`))
      if (m && inodes.has(Number(m[1]))) pids.push(Number(e))
    } catch {} // exited meanwhile, or not ours to read
  }
  return pids
}

/** A deleted namespace lives on while a process is inside it: kill the stragglers not started by spawn(). */
function killPidsIn(names: readonly string[]): void {
  for (const pid of pidsInNamespaces(names)) {
    if (pid === process.pid) continue
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
}

const deleteScript = (names: readonly string[]) => names.map((n) => `netns del ${n}\n`).join('')

export async function removeNamespaces(names: readonly string[]): Promise<void> {
  if (names.length === 0) return
  killPidsIn(names)
  await run(ipPath(), ['-force', '-batch', '-'], { input: deleteScript(names) })
}

export function removeNamespacesSync(names: readonly string[]): void {
  if (names.length === 0) return
  killPidsIn(names)
  try {
    execFileSync(ipPath(), ['-force', '-batch', '-'], {
      input: deleteScript(names),
      stdio: ['pipe', 'ignore', 'ignore'],
    })
  } catch {}
}

/** Namespace names currently present (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const r = await mustRun(ipPath(), ['netns', 'list'])
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes namespaces left behind by crashed runs: names `<prefix><pid>x<n>-…` whose pid is not a live process.
 * Returns the names removed. createLab() calls it first.
 */
export async function sweepStale(prefix = DEFAULT_PREFIX): Promise<string[]> {
  const re = new RegExp(`^${prefix}(\\d+)x\\d+-`)
  const stale = (await listNamespaces()).filter((n) => {
    const m = re.exec(n)
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]))
  })
  await removeNamespaces(stale)
  return stale
}
