// BEP 33 on the serving side: the `BFsd`/`BFpe` bloom filters of one info hash's stored peers, and adding up the
// filters of the nodes a scrape asked into estimated seed and downloader counts.
import { estimateUnion, ScrapeBloomFilter } from '../codec/bep33.js'
import { normalizeIP } from '../codec/ip.js'
import { sha1 } from './bep44-crypto.js'
import type { StorageTransport } from './storage-client.js'

/** A stored peer as a scrape sees it: its address and whether it announced `seed: 1`. */
export interface ScrapePeer {
  readonly host: string
  readonly seed: boolean
}

/**
 * The two filters of a `get_peers` reply with `scrape`: seeds' IPs in `BFsd`, the others in `BFpe`. BEP 33
 * counts IPs, not endpoints: an IP with several entries is a seed if any of them seeds, and then is not also
 * counted as a downloader. Hosts that are not IP literals are skipped.
 */
export function scrapeFilters(peers: Iterable<ScrapePeer>): { BFsd: Uint8Array; BFpe: Uint8Array } {
  const byIp = new Map<string, boolean>()
  for (const p of peers) {
    const ip = normalizeIP(p.host)
    if (ip === undefined) continue
    byIp.set(ip, (byIp.get(ip) ?? false) || p.seed)
  }
  const sd = new ScrapeBloomFilter()
  const pe = new ScrapeBloomFilter()
  for (const [ip, seed] of byIp) (seed ? sd : pe).insertIP(ip, sha1)
  return { BFsd: sd.bytes, BFpe: pe.bytes }
}

/** Estimated seeds and downloaders from the filters the nodes of a scrape returned (union of each kind). */
export function scrapeEstimate(replies: Iterable<{ BFsd?: Uint8Array; BFpe?: Uint8Array }>): {
  seeds: number
  peers: number
} {
  const sd: Uint8Array[] = []
  const pe: Uint8Array[] = []
  for (const r of replies) {
    if (r.BFsd?.length === 256) sd.push(r.BFsd)
    if (r.BFpe?.length === 256) pe.push(r.BFpe)
  }
  return { seeds: Math.round(estimateUnion(sd)), peers: Math.round(estimateUnion(pe)) }
}

/** BEP 33 scrape: estimated seeds and downloaders of `infoHash` from the filters of the K closest nodes. */
export async function scrape(
  t: Pick<StorageTransport, 'lookup'>,
  infoHash: Uint8Array,
  opts: { signal?: AbortSignal } = {},
): Promise<{ seeds: number; peers: number; nodes: number }> {
  const filters = new Map<string, { BFsd?: Uint8Array; BFpe?: Uint8Array }>()
  const look = await t.lookup({
    target: infoHash,
    method: 'get_peers',
    args: { info_hash: infoHash, scrape: 1 },
    signal: opts.signal,
    onReply: (node, r) => {
      if (r.BFsd instanceof Uint8Array || r.BFpe instanceof Uint8Array) {
        filters.set(`${node.host}|${node.port}`, { BFsd: r.BFsd, BFpe: r.BFpe })
      }
    },
  })
  // The K closest hold the announces; farther nodes' filters are empty or stale, and would only add noise.
  const closest = look.closest.map((n) => filters.get(`${n.host}|${n.port}`)).filter((f) => f !== undefined)
  return { ...scrapeEstimate(closest), nodes: closest.length }
}
