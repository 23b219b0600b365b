// The default IPv4 gateway, from Linux's /proc/net/route (pure parser + a reader). Elsewhere, or when the route
// table is unreadable, the caller passes the gateway itself (PortMapperOptions.gateway).
import { readFile } from 'node:fs/promises'

const RTF_UP = 0x1
const RTF_GATEWAY = 0x2

export interface DefaultRoute {
  gateway: string
  iface: string
  metric: number
}

/** `/proc/net/route` holds addresses as host-order (little-endian on the machines we run on) hex words. */
function hexToIPv4(h: string): string | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(h)) return undefined
  const n = Number.parseInt(h, 16)
  return `${n & 0xff}.${(n >>> 8) & 0xff}.${(n >>> 16) & 0xff}.${n >>> 24}`
}

/** The default route with the lowest metric, or undefined. */
export function parseProcNetRoute(text: string): DefaultRoute | undefined {
  let best: DefaultRoute | undefined
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 8) continue
    const [iface, dest, gw, flagsHex, , , metricText, mask] = f
    const flags = Number.parseInt(flagsHex, 16)
    if (dest !== '00000000' || mask !== '00000000' || !(flags & RTF_UP) || !(flags & RTF_GATEWAY)) continue
    const gateway = hexToIPv4(gw)
    const metric = Number(metricText)
    if (!gateway || gateway === '0.0.0.0' || !Number.isFinite(metric)) continue
    if (!best || metric < best.metric) best = { gateway, iface, metric }
  }
  return best
}

/** The default gateway of this network namespace, or undefined (no default route, not Linux). */
export async function readDefaultGateway(path = '/proc/net/route'): Promise<string | undefined> {
  try {
    return parseProcNetRoute(await readFile(path, 'utf8'))?.gateway
  } catch {
    return undefined
  }
}
