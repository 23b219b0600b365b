// Small helpers on IP literals shared by the real and the simulated sockets. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) are the one place where a v4 peer can show up on a v6 socket; these helpers turn them back into
// plain v4 so that every layer above sees one spelling per peer.
import { isIP } from 'node:net'
import type { DatagramSocket } from './types.js'

const MAPPED_DOTTED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i
const MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i

/** `::ffff:1.2.3.4` (or `::ffff:102:304`) → `1.2.3.4`; any other host is returned as it is. */
export function unmapV4(host: string): string {
  if (host.length < 9 || (host.charCodeAt(0) !== 0x3a && host.charCodeAt(0) !== 0x30)) return host
  let m = MAPPED_DOTTED.exec(host)
  if (m) return isIP(m[1]) === 4 ? m[1] : host
  m = MAPPED_HEX.exec(host)
  if (m) {
    const hi = Number.parseInt(m[1], 16)
    const lo = Number.parseInt(m[2], 16)
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
  }
  // Fully spelled forms (0:0:0:0:0:ffff:…) are rare; normalise through URL parsing only when the prefix hints.
  if (/^0{1,4}:0{1,4}:0{1,4}:0{1,4}:0{1,4}:ffff:/i.test(host)) {
    const short = host.replace(/^(0{1,4}:){5}/i, '::')
    return unmapV4(short)
  }
  return host
}

/** Family of an IP literal (a `%scope` suffix is allowed on v6), or 0 when `host` is not an IP literal. */
export function ipFamily(host: string): 0 | 4 | 6 {
  const f = isIP(host)
  if (f !== 0) return f as 4 | 6
  const pct = host.indexOf('%')
  if (pct > 0 && isIP(host.slice(0, pct)) === 6) return 6
  return 0
}

/**
 * Whether `socket` can send to `host`: an IPv4 socket reaches IPv4 (and IPv4-mapped) addresses, an IPv6 socket
 * IPv6 ones, and IPv4 too when it is dual stack.
 */
export function canReach(socket: Pick<DatagramSocket, 'family' | 'dualStack'>, host: string): boolean {
  const f = ipFamily(host)
  if (f === 0) return false
  const v4 = f === 4 || unmapV4(host) !== host
  return socket.family === 4 ? v4 : !v4 || socket.dualStack === true
}

/** True for an integer port in 1..65535 (0 is not a valid destination). */
export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 0xffff
}

/** `host:port` with brackets around v6 hosts, for logs and map keys. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
