// A local DHT testnet in one process: N nodes on 127.0.0.1 (real UDP, ephemeral ports), node 0 first, every other
// node bootstrapping off node 0. Used by the demo; tests and benchmarks build the same shape.
import { DHT } from '../../dht/index.js'
import type { Endpoint } from '../../net/types.js'

export interface Testnet {
  nodes: DHT[]
  /** Node 0's address, the one every other node bootstrapped from. */
  seed: Endpoint
  /** Milliseconds from the first bind to the last finished bootstrap. */
  ms: number
  close(): Promise<void>
}

export interface TestnetOptions {
  /** Number of nodes, at least 2. */
  size: number
  /** Bind address. Default '127.0.0.1'. */
  host?: string
  /** Nodes bootstrapping at once. Default 25. */
  batch?: number
  /** Called after each batch with the number of nodes up. */
  onProgress?: (up: number) => void
  signal?: AbortSignal
}

export async function startTestnet(opts: TestnetOptions): Promise<Testnet> {
  const host = opts.host ?? '127.0.0.1'
  const batch = opts.batch ?? 25
  const t0 = performance.now()
  const nodes: DHT[] = []
  const close = async () => {
    await Promise.all(nodes.map((n) => n.destroy().catch(() => {})))
  }
  try {
    const first = new DHT({ host, port: 0, bootstrap: [] })
    nodes.push(first)
    const seed = await first.listen()
    for (let i = 1; i < opts.size; i += batch) {
      opts.signal?.throwIfAborted()
      const group: DHT[] = []
      for (let j = i; j < Math.min(opts.size, i + batch); j++) group.push(new DHT({ host, port: 0, bootstrap: [seed] }))
      nodes.push(...group)
      await Promise.all(
        group.map(async (n) => {
          await n.listen()
          await n.bootstrapped()
        }),
      )
      opts.onProgress?.(nodes.length)
    }
    return { nodes, seed, ms: performance.now() - t0, close }
  } catch (err) {
    await close()
    throw err
  }
}
