// One BEP 44 benchmark run of one implementation, in its own process:
//   node --import tsx bench/dht-storage/child.ts <ours|anchor> <N> <k|-> <concurrency|-> [settleMs] [ops]
// Starts N nodes on 127.0.0.1 (node 0 first, the others joining off node 0 twenty at a time), lets them settle,
// then runs `ops` rounds of: an immutable put from one node and a get of it from another, and a mutable put (with
// salt, seq = round) and a get of it from another. Datagrams and bytes are counted at the putting / getting node's
// socket (src/net/counting.ts for both). Prints one JSON line.
import { randomBytes } from 'node:crypto'
import { mean, median } from '../dht/metrics.js'
import { anchorStorage, oursStorage, type StorageNode } from './impls.js'

const [which, nArg, kArg, cArg, settleArg, opsArg] = process.argv.slice(2)
const N = Number(nArg)
const settings = {
  k: kArg && kArg !== '-' ? Number(kArg) : undefined,
  concurrency: cArg && cArg !== '-' ? Number(cArg) : undefined,
}
const SETTLE_MS = Number(settleArg ?? 30_000)
const OPS = Number(opsArg ?? 20)
const BATCH = 20

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface OpFigures {
  datagrams: number[]
  bytes: number[]
  ms: number[]
  ok: number
  stored: number[]
}

const figures = (): OpFigures => ({ datagrams: [], bytes: [], ms: [], ok: 0, stored: [] })

function summarize(f: OpFigures) {
  return {
    ops: f.ms.length,
    ok: f.ok,
    datagrams_per_op: mean(f.datagrams),
    bytes_per_op: mean(f.bytes),
    ms_median: median(f.ms),
    ms_mean: mean(f.ms),
    stored_mean: f.stored.length ? mean(f.stored) : undefined,
  }
}

/** Runs `op` on `node`, adding what crossed its socket and the time to `f`. */
async function measure<T>(f: OpFigures, node: StorageNode, op: () => Promise<T>): Promise<T> {
  const c0 = node.counter.snapshot()
  const t0 = performance.now()
  const r = await op()
  f.ms.push(performance.now() - t0)
  const c1 = node.counter.snapshot()
  f.datagrams.push(c1.datagramsSent - c0.datagramsSent)
  f.bytes.push(c1.bytesSent - c0.bytesSent + c1.bytesReceived - c0.bytesReceived)
  return r
}

async function main(): Promise<void> {
  const impl = which === 'ours' ? await oursStorage(settings) : await anchorStorage(settings)
  const nodes: StorageNode[] = []
  const t0 = performance.now()
  nodes[0] = await impl.create(null)
  const seed = { host: '127.0.0.1', port: nodes[0].port }
  for (let i = 1; i < N; i += BATCH) {
    const batch = []
    for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(impl.create(seed).then((n) => (nodes[j] = n)))
    await Promise.all(batch)
  }
  const bootMs = performance.now() - t0
  await sleep(SETTLE_MS)

  const fig = { immPut: figures(), immGet: figures(), mutPut: figures(), mutGet: figures() }
  const pick = (k: number, salt: number) => (k * 7919 + salt) % N
  for (let k = 0; k < OPS; k++) {
    const putter = nodes[pick(k, 3)]
    const getter = nodes[pick(k, 503)]
    const text = randomBytes(50).toString('hex') // 100 bytes
    const put = await measure(fig.immPut, putter, () => putter.putImmutable(text))
    fig.immPut.stored.push(put.stored)
    if (put.stored > 0) fig.immPut.ok++
    const got = await measure(fig.immGet, getter, () => getter.getImmutable(put.target))
    if (got === text) fig.immGet.ok++

    const salt = `salt-${k}`
    const mput = await measure(fig.mutPut, putter, () => putter.putMutable(text, salt, k))
    fig.mutPut.stored.push(mput.stored)
    if (mput.stored > 0) fig.mutPut.ok++
    const mgot = await measure(fig.mutGet, getter, () => getter.getMutable(mput.publicKey, salt))
    if (mgot?.value === text && mgot.seq === k) fig.mutGet.ok++
  }

  process.stdout.write(
    `${JSON.stringify({
      impl: impl.name,
      settings,
      n: N,
      bootMs,
      settleMs: SETTLE_MS,
      immutable_put: summarize(fig.immPut),
      immutable_get: summarize(fig.immGet),
      mutable_put: summarize(fig.mutPut),
      mutable_get: summarize(fig.mutGet),
    })}\n`,
  )
  await Promise.all(nodes.map((n) => n.destroy().catch(() => {})))
  process.exit(0)
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
