// Brings the NAT lab up by hand and keeps it until Ctrl-C (docs/nat-lab.md, "Running the lab by hand"):
//   sudo node --import tsx test/nat/lab-up.ts [--nat-a port-preserving|symmetric] [--nat-b ...] [--loss N]
//                                             [--public-hosts N]
// Prints every host's namespace and address; then `ip netns exec <ns> <command>` works from another shell.
import { parseArgs } from 'node:util'
import { createLab, type NatType } from './lab.js'

const { values } = parseArgs({
  options: {
    'nat-a': { type: 'string', default: 'port-preserving' },
    'nat-b': { type: 'string', default: 'port-preserving' },
    loss: { type: 'string', default: '0' },
    'public-hosts': { type: 'string', default: '0' },
  },
})

function natType(s: string | undefined): NatType {
  if (s === 'port-preserving' || s === 'symmetric') return s
  throw new Error(`NAT type must be port-preserving or symmetric, got ${s}`)
}

const t0 = performance.now()
const lab = await createLab({
  natA: natType(values['nat-a']),
  natB: natType(values['nat-b']),
  lossPercent: Number(values.loss),
  publicHosts: Number(values['public-hosts']),
})
const ms = (performance.now() - t0).toFixed(0)
console.log(`lab ${lab.id} up in ${ms} ms; bridge in namespace ${lab.pubNs}`)
for (const h of lab.hosts) {
  const extra =
    h === lab.routerA || h === lab.routerB ? ` lan ${h === lab.routerA ? lab.routerA.lanIp : lab.routerB.lanIp}` : ''
  console.log(`  ${h.name.padEnd(8)} ${h.ns.padEnd(24)} ${h.ip}${extra}`)
}
console.log(
  `NAT: A ${lab.routerA.nat}, B ${lab.routerB.nat}; loss ${lab.routerA.lossPercent}% per direction on each wan`,
)
console.log(`try: ip netns exec ${lab.a.ns} bash   |   ip netns exec ${lab.routerA.ns} nft list ruleset`)
console.log('Ctrl-C tears it down.')
const keepAlive = setInterval(() => {}, 60_000) // signal listeners alone do not keep Node running
await new Promise<void>((resolve) => {
  process.once('SIGINT', resolve)
  process.once('SIGTERM', resolve)
})
clearInterval(keepAlive)
await lab.destroy()
console.log('torn down')
