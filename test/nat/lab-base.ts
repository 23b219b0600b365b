// What the IPv4 lab (lab.ts) and the IPv6 lab (lab6.ts) share: a lab's namespaces and their teardown (destroy(),
// and destroySync() from a process 'exit' / signal hook if a test forgets), the checks of the common options, and
// the first build steps: namespaces, sysctls before any link exists, the public bridge with a veth to every
// public-side namespace.
import type { Host, LabLike } from './lab.js'
import { removeNamespaces, removeNamespacesSync } from './netns.js'
import { LabError, mustRun } from './proc.js'

const liveLabs = new Set<LabBase>()

export abstract class LabBase implements LabLike {
  readonly id: string
  /** The namespace that holds the public bridge. */
  readonly pubNs: string
  /** Every namespace of this lab, in creation order. */
  readonly namespaces: string[] = []
  private destroyed = false

  /** `n` makes the id unique within this process (each lab kind counts its own range). */
  constructor(prefix: string, n: number) {
    this.id = `${prefix}${process.pid}x${n}`
    this.pubNs = `${this.id}-pub`
  }

  /** Every host of the lab. */
  abstract get hosts(): Host[]

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

  /** Synchronous teardown for the process 'exit' hook. */
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
      // Alone, re-raise for the default action (die by the signal); otherwise the app's own handler decides.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
    }
    process.on(sig, onSignal)
  }
}

/** Throws RangeError for a namespace prefix sweepStale() could not match, or a bad number of public hosts. */
export function checkLabOptions(prefix: string, publicHosts: number, maxPublicHosts: number): void {
  if (!/^[a-z][a-z0-9]{0,11}$/.test(prefix)) throw new RangeError(`bad namespace prefix ${JSON.stringify(prefix)}`)
  if (!Number.isInteger(publicHosts) || publicHosts < 0 || publicHosts > maxPublicHosts)
    throw new RangeError(`publicHosts must be an integer 0..${maxPublicHosts}, got ${publicHosts}`)
}

/**
 * Sysctls as a shell command writing /proc/sys directly (/proc/sys/net shows the namespace of the writer, so it
 * runs under `ip netns exec`): no dependency on procps's `sysctl`, which minimal images lack.
 */
export function sysctlScript(settings: readonly string[]): string {
  return settings
    .map((kv) => {
      const [key, value] = kv.split('=')
      return `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`
    })
    .join(' && ')
}

export interface LabLayout {
  /** Hosts on the public segment: a veth `eth0` each from the bridge. */
  publicSide: readonly Host[]
  /** Routers (or firewalls): a veth `wan` each from the bridge. */
  routers: readonly Host[]
  /** The sysctls of a namespace, written before any link exists (links inherit `default` when created). */
  sysctls(ns: string): readonly string[]
}

/**
 * Builds `lab` with `build` after the common first steps (namespaces, sysctls, public bridge). Until it resolves
 * the lab is torn down at process exit; if any step fails, whatever was created is removed and the error thrown.
 */
export async function buildLab<L extends LabBase>(
  lab: L,
  ip: string,
  layout: LabLayout,
  build: () => Promise<void>,
): Promise<L> {
  liveLabs.add(lab)
  installExitHooks()
  try {
    // 1. Namespaces, recorded before creation so a failure half-way still removes them.
    lab.namespaces.push(lab.pubNs, ...lab.hosts.map((h) => h.ns))
    await mustRun(ip, ['-batch', '-'], { input: lab.namespaces.map((n) => `netns add ${n}\n`).join('') })

    // 2. sysctls before any link exists.
    await Promise.all(
      lab.namespaces.map((n) => mustRun(ip, ['netns', 'exec', n, 'sh', '-c', sysctlScript(layout.sysctls(n))])),
    )

    // 3. The public bridge and a veth from it to every public-side namespace (the far end is created in place).
    const { publicSide, routers } = layout
    const pubLines = ['link set lo up', 'link add br0 type bridge', 'link set br0 up']
    for (const h of publicSide) pubLines.push(`link add v-${h.name} type veth peer name eth0 netns ${h.ns}`)
    for (const r of routers) pubLines.push(`link add v-${r.name} type veth peer name wan netns ${r.ns}`)
    for (const h of [...publicSide, ...routers])
      pubLines.push(`link set v-${h.name} master br0`, `link set v-${h.name} up`)
    await mustRun(ip, ['-n', lab.pubNs, '-batch', '-'], { input: pubLines.join('\n') + '\n' })

    await build()
  } catch (e) {
    await lab.destroy()
    throw e
  }
  return lab
}
