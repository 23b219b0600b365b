// Bootstrap nodes as the caller gives them ('host:port', '[v6]:port', names or endpoints) → endpoints of our
// address family. Names go to the resolver the DHT was given (net/resolve.ts: node:dns by default); a bad or
// unresolvable entry is a warning, not an error.
import { normalizeIP } from '../codec/ip.js'
import type { Resolver } from '../net/resolve.js'
import type { Endpoint } from '../net/types.js'
import { DHTError } from './errors.js'

/**
 * The well-known public routers of the Mainline DHT. A `DHT` bootstraps from nothing unless told to
 * (`bootstrap: PUBLIC_BOOTSTRAP`), so that tests and private networks never reach the Internet by accident.
 */
export const PUBLIC_BOOTSTRAP: readonly string[] = Object.freeze([
  'router.bittorrent.com:6881',
  'router.utorrent.com:6881',
  'dht.transmissionbt.com:6881',
  'dht.libtorrent.org:25401',
])

/** 'host:port' or '[v6]:port' → parts; undefined if malformed. */
export function splitHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s)
  if (!m) return undefined
  const port = Number(m[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined
  return { host: normalizeIP(m[1]) ?? m[1], port }
}

export async function resolveBootstrap(
  list: ReadonlyArray<string | Endpoint>,
  family: 4 | 6,
  warn: (err: Error) => void,
  resolve: Resolver,
): Promise<Endpoint[]> {
  const out: Endpoint[] = []
  for (const b of list) {
    if (typeof b !== 'string') {
      out.push({ host: normalizeIP(b.host) ?? b.host, port: b.port })
      continue
    }
    const hp = splitHostPort(b)
    if (!hp) {
      warn(new DHTError('BAD_ADDRESS', `bad bootstrap node ${JSON.stringify(b)}`))
      continue
    }
    try {
      // An IP literal needs no resolver (and a name must not come back as something that is not an IP).
      const literal = normalizeIP(hp.host)
      const address = literal ?? normalizeIP(await resolve(hp.host, family))
      if (address === undefined) throw new Error('the resolver returned no IP address')
      out.push({ host: address, port: hp.port })
    } catch (err) {
      warn(new DHTError('BAD_ADDRESS', `cannot resolve ${hp.host}: ${(err as Error).message}`))
    }
  }
  return out.filter((e) => (e.host.includes(':') ? 6 : 4) === family)
}
