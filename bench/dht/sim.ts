// Our DHT at scale on net/sim (virtual time, 20 ms links), in its own process:
//   node --expose-gc --import tsx bench/dht/sim.ts <N> [batch]
// N nodes joining off node 0 (in batches), two minutes of settling, then the routing graph (unseen, in-degree) and
// 40 lookups + 10 announces of random targets (true 8 closest queried / storing, datagrams at the socket). One JSON
// line.
import { buildWorld, convergence, destroyWorld, health, summary } from '../../test/sim/dht-world.js'

const N = Number(process.argv[2] ?? 10_000)
const BATCH = Number(process.argv[3] ?? 1000)

async function main(): Promise<void> {
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const w = await buildWorld({ n: N, seed: 42, batch: BATCH })
  await w.net.clock.runFor(120_000)
  const h = health(w)
  const c = summary(await convergence(w, 40, 10))
  const cpu = process.cpuUsage(cpu0)
  const out = {
    n: N,
    batch: BATCH,
    unseen: h.unseen,
    in_degree: h.inDegree,
    ...c,
    wall_s: (performance.now() - t0) / 1000,
    cpu_s: (cpu.user + cpu.system) / 1e6,
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
  await destroyWorld(w)
  process.exit(0)
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
