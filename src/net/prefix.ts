// The network an address belongs to, as the anti-abuse rules count it: its /24 (IPv4) or /64 (IPv6). One attacker
// easily has many addresses, rarely many such networks; stores and admission rules share by prefix, not by address.
import { parseIPv4, parseIPv6 } from '../codec/ip.js'

/**
 * The /24 (IPv4) or /64 (IPv6) of an IP literal as a short key ("203.0.113", "20010db8000000aa"). No range is
 * exempt (unlike the routing table's rule): a store's share is the same for a LAN or loopback source. Not an IP
 * literal: the text itself, so it still counts as one network.
 */
export function networkPrefix(host: string): string {
  const v4 = parseIPv4(host)
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}`
  const v6 = parseIPv6(host)
  if (!v6) return host
  let s = ''
  for (let i = 0; i < 8; i++) s += v6[i] < 16 ? `0${v6[i].toString(16)}` : v6[i].toString(16)
  return s
}
