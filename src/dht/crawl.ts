// BEP 51 on the asking side: one node's sample (`sampleInfohashes`) and a crawl of the keyspace that walks from
// node to node through the `nodes` of each reply and yields every info hash it has not seen yet. A node is never
// asked again before the `interval` it gave has passed (BEP 51); by default each node is asked once.
import { splitSamples } from '../codec/bep51.js'
import { decodeNodes } from '../codec/compact.js'
import { isUnicastAddress } from '../codec/ip.js'
import type { Clock, Endpoint, Random, Timer } from '../net/types.js'
import { abortError, DHTError } from './errors.js'
import type { StorageTransport } from './storage-client.js'

export interface SampleResult {
  /** The node's id. */
  id: Uint8Array
  /** Seconds before this node may be asked again. */
  interval: number
  /** How many info hashes the node stores. */
  num: number
  /** The sample: 20-byte info hashes. */
  samples: Uint8Array[]
  /** The nodes the reply listed (both families). */
  nodes: Array<Endpoint & { id: Uint8Array }>
}

/** Asks `node` for a sample of the info hashes it stores. `target` steers the nodes it lists (default random). */
export async function sampleInfohashes(
  t: Pick<StorageTransport, 'query'>,
  node: Endpoint,
  target: Uint8Array,
  opts: { signal?: AbortSignal } = {},
): Promise<SampleResult> {
  const { id, r } = await t.query(node, 'sample_infohashes', { target }, opts)
  if (!(r.samples instanceof Uint8Array) || r.samples.length % 20 !== 0) {
    throw new DHTError('BAD_REPLY', 'a sample_infohashes reply without valid samples')
  }
  const interval = typeof r.interval === 'number' && r.interval >= 0 ? Math.min(r.interval, 21600) : 0
  const num = typeof r.num === 'number' && r.num >= 0 ? r.num : 0
  const nodes: SampleResult['nodes'] = []
  for (const [raw, family] of [
    [r.nodes, 4],
    [r.nodes6, 6],
  ] as const) {
    if (!(raw instanceof Uint8Array)) continue
    try {
      for (const n of decodeNodes(raw, family)) if (n.port > 0 && isUnicastAddress(n.host)) nodes.push(n)
    } catch {
      // a malformed list: use the samples, skip the nodes
    }
  }
  return { id: id.slice(), interval, num, samples: splitSamples(r.samples).map((s) => s.slice()), nodes }
}

export interface CrawlOptions {
  signal?: AbortSignal
  /** Queries in flight. Default 8. */
  concurrency?: number
  /** Nodes remembered (asked or to ask) at most. Default 100,000. */
  maxNodes?: number
  /**
   * Ask nodes again once their `interval` has passed when they hold more than they sampled. Default false: the
   * crawl ends once every node it met has been asked.
   */
  revisit?: boolean
}

export interface CrawlDeps {
  transport: Pick<StorageTransport, 'query'>
  clock: Pick<Clock, 'now' | 'setTimeout'>
  random: Random
  /** Where to start: the routing table's nodes. */
  seeds(): Endpoint[]
}

/** Info hashes across the keyspace, each once, as they are found. */
export async function* crawl(deps: CrawlDeps, opts: CrawlOptions = {}): AsyncGenerator<Uint8Array> {
  const concurrency = Math.max(1, opts.concurrency ?? 8)
  const maxNodes = Math.max(1, opts.maxNodes ?? 100_000)
  const signal = opts.signal
  if (signal?.aborted) throw abortError()
  const known = new Map<string, number>() // node → the time it may be asked again (Infinity: never)
  const queue: Endpoint[] = []
  const seen = new Set<string>()
  const found: Uint8Array[] = []
  const timers = new Set<Timer>()
  let inFlight = 0
  let wake: (() => void) | undefined
  const notify = () => wake?.()
  const keyOf = (e: Endpoint) => `${e.host}|${e.port}`
  const meet = (e: Endpoint) => {
    const k = keyOf(e)
    if (known.has(k) || known.size >= maxNodes) return
    known.set(k, 0)
    queue.push({ host: e.host, port: e.port })
  }
  const ask = (node: Endpoint) => {
    inFlight++
    const k = keyOf(node)
    known.set(k, Number.POSITIVE_INFINITY)
    sampleInfohashes(deps.transport, node, deps.random.bytes(20), { signal })
      .then(
        (res) => {
          for (const s of res.samples) {
            let h = ''
            for (let i = 0; i < 20; i++) h += String.fromCharCode(s[i])
            if (seen.has(h)) continue
            seen.add(h)
            found.push(s)
          }
          for (const n of res.nodes) meet(n)
          if (opts.revisit && res.num > res.samples.length) {
            const at = deps.clock.now() + Math.max(1, res.interval) * 1000
            known.set(k, at)
            const tm = deps.clock.setTimeout(() => {
              timers.delete(tm)
              queue.push(node)
              notify()
            }, at - deps.clock.now())
            timers.add(tm)
          }
        },
        () => {},
      )
      .finally(() => {
        inFlight--
        notify()
      })
  }
  for (const s of deps.seeds()) meet(s)
  signal?.addEventListener('abort', notify, { once: true })
  try {
    for (;;) {
      if (signal?.aborted) throw abortError()
      while (found.length > 0) {
        const h = found.shift() as Uint8Array
        yield h
      }
      while (inFlight < concurrency && queue.length > 0) ask(queue.shift() as Endpoint)
      if (inFlight === 0 && queue.length === 0 && timers.size === 0 && found.length === 0) return
      await new Promise<void>((resolve) => {
        wake = resolve
      })
      wake = undefined
    }
  } finally {
    signal?.removeEventListener('abort', notify)
    for (const tm of timers) tm.cancel()
    timers.clear()
  }
}
