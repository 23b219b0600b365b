// `mainline nat`: what kind of NAT are we behind? Starts a node, joins the DHT, and reports the mapping kind the
// DHT nodes' BEP 42 reports show (src/swarm/reachability.ts), the external endpoint, and whether a router port
// mapping is active.
import type { Endpoint } from '../net/types.js'
import { SwarmNode } from '../swarm/node.js'
import type { Reachability } from '../swarm/reachability.js'
import type { CommandGroup } from './command.js'
import { bootstrapList, parse, portOption, timeoutMs } from './dht-args.js'
import { type Output, parseHostPort } from './output.js'

const HELP = `mainline nat: the NAT in front of this host, as DHT nodes see it.

Usage:
  mainline nat [--port P] [--host H] [--bootstrap H:P]... [--timeout S] [--json]
      Start a node on one UDP port (default 0.0.0.0, a free one), join the DHT through --bootstrap (repeatable
      or comma-separated; default the public routers) and collect how the nodes that answer see us (BEP 42's
      "ip" in their replies). Reports the mapping kind as soon as it is known (or what is known at the timeout,
      default 30 s):
        public      no NAT: the nodes see our own address and port
        consistent  one external port for every destination (endpoint-independent mapping): plain hole
                    punching works
        random      a new external port per destination (a symmetric NAT): only the birthday strategy gets
                    through, and only when the other side is not random too
        unknown     fewer than two nodes at different addresses answered
      Events: listening {host, port}, reachability {kind, external, learnt, reporters, portMapping} on each
      change, and nat {kind, external, learnt, reporters, portMapping} at the end. portMapping is true when a
      router mapping (PCP, NAT-PMP, UPnP IGD) is active, false when none is (the router refused or did not
      answer, or it is still being asked), null when port mapping is off (a loopback --host).
      Exit 0 with a kind, 1 when it stays unknown.`

function fields(r: Reachability): Record<string, unknown> {
  return {
    kind: r.kind,
    external: r.external.map((e: Endpoint) => `${e.host}:${e.port}`),
    learnt: r.learnt,
    reporters: r.reporters,
    portMapping: r.portMapping ?? null,
  }
}

async function nat(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv)
  const bootstrap = bootstrapList(values).map((s) => parseHostPort(s, { names: true }))
  const ms = timeoutMs(values, 30) ?? 30_000
  const node = new SwarmNode({
    host: (values.host as string | undefined) ?? '0.0.0.0',
    port: portOption(values.port, '--port', 0),
    tcp: false,
    // A short-lived node that only reads how others see it: read-only (no one stores or routes through it), and
    // without the one-node-per-/24 rules, which would leave it one reporter where nodes share a prefix (the lab).
    dht: { bootstrap, readOnly: true, restrictIps: false, restrictSearchIps: false },
  })
  const where = await node.listen()
  out.event('listening', { host: where.host, port: where.port })
  let timer: NodeJS.Timeout | undefined
  try {
    const known = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
      node.on('reachability', (r) => {
        out.event('reachability', fields(r))
        // Two reporters decide; the answers of a moment more make it sturdier (a liar is outvoted).
        if (r.kind !== 'unknown') setTimeout(resolve, Math.min(2000, ms))
      })
    })
    // The bootstrap alone may hear from one node: ask the nodes we know (one per address) until the kind is known.
    const dht = node.dht
    let asking = true
    void known.then(() => {
      asking = false
    })
    void (async () => {
      await dht?.bootstrapped().catch(() => {})
      while (asking && dht) {
        const byIp = new Map<string, Endpoint>()
        for (const n of [...bootstrap, ...dht.nodes()]) if (!byIp.has(n.host)) byIp.set(n.host, n)
        await Promise.allSettled([...byIp.values()].slice(0, 16).map((n) => dht.ping(n)))
        await new Promise((r) => setTimeout(r, 1000))
      }
    })()
    await known
    const r = node.reachability
    out.event('nat', fields(r))
    return r.kind === 'unknown' ? 1 : 0
  } finally {
    clearTimeout(timer)
    await node.close()
  }
}

export const group: CommandGroup = {
  summary: 'the NAT in front of this host: mapping kind and external endpoint (from DHT nodes)',
  help: HELP,
  run: nat,
  runsWithoutArgs: true,
}
