// Address plans for large simulations. The documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24) hold only
// 768 hosts, so big simulated swarms take IPv4 addresses from 198.18.0.0/15 (RFC 2544, reserved for benchmarking:
// 131,072 addresses, never routed on the internet, and not one of the "local" ranges BEP 42 exempts) and IPv6
// addresses from 2001:db8::/32 (RFC 3849, documentation). Also the one spelling of an address every part keys by.
import { ipFamily } from '../address.js'
import { NetError } from '../errors.js'

/** Hosts available from `simIPv4`. */
export const SIM_IPV4_HOSTS = 131_070

/** The `i`-th simulated IPv4 host address (0-based): 198.18.0.1, 198.18.0.2, … 198.19.255.254. */
export function simIPv4(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= SIM_IPV4_HOSTS) throw new RangeError(`no simulated IPv4 host #${i}`)
  const n = i + 1 // skip 198.18.0.0
  return `198.${18 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`
}

/** The `i`-th simulated IPv6 host address (0-based) in 2001:db8::/32, in canonical form. */
export function simIPv6(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= 2 ** 32 - 1) throw new RangeError(`no simulated IPv6 host #${i}`)
  const n = i + 1
  const hi = Math.floor(n / 65536)
  const lo = n % 65536
  return hi === 0 ? `2001:db8::${lo.toString(16)}` : `2001:db8::${hi.toString(16)}:${lo.toString(16)}`
}

/** Canonical spelling of an IP literal (so `0:0::1` and `::1` are one host); throws `EINVAL` otherwise. */
export function canonicalIp(ip: string): string {
  const fam = typeof ip === 'string' ? ipFamily(ip) : 0
  if (fam === 0 || ip.includes('%')) throw new NetError('EINVAL', `not an IP literal: ${JSON.stringify(ip)}`)
  if (ip === '0.0.0.0' || ip === '::') throw new NetError('EINVAL', 'bind a concrete address in the simulator')
  if (fam === 4) return ip
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
}
