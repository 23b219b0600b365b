// Bootstrap nodes as the caller gives them ('host:port', '[v6]:port', names or endpoints) → endpoints of our
// address family. Names are resolved with dns.lookup; a bad or unresolvable entry is a warning, not an error.
import { lookup as dnsLookup } from 'node:dns/promises'
import { normalizeIP } from '../codec/ip.js'
import type { Endpoint } from '../net/types.js'
import { DHTError } from './errors.js'

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
      const { address } = await dnsLookup(hp.host, { family })
      out.push({ host: address, port: hp.port })
    } catch (err) {
      warn(new DHTError('BAD_ADDRESS', `cannot resolve ${hp.host}: ${(err as Error).message}`))
    }
  }
  return out.filter((e) => (e.host.includes(':') ? 6 : 4) === family)
}
