// IP addresses as text and as bytes. Strict parsing (what we accept from users and peers is exactly one literal,
// no zone ids, no leading zeros in IPv4), RFC 5952 formatting (so an address has one text form and can be used as
// a map key), v4-mapped handling, and the "local network" classes libtorrent exempts from BEP 42.

import { copyBytes, hexNibble } from './bytes.js'
import { CodecError } from './errors.js'

export type IpFamily = 4 | 6

function parseV4Into(s: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0
  let digits = 0
  let value = 0
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 0x2e // a virtual '.' closes the last part
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return false
      out[at + part++] = value
      digits = 0
      value = 0
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false // leading zero: "01" is octal to some parsers, refuse it
      value = value * 10 + (c - 0x30)
      if (++digits > 3 || value > 255) return false
    } else {
      return false
    }
  }
  return part === 4
}

/** Parses dotted-quad IPv4 ("192.0.2.1"); `undefined` for anything else (leading zeros, short forms, spaces). */
export function parseIPv4(s: string): Uint8Array | undefined {
  if (s.length < 7 || s.length > 15) return undefined
  const out = new Uint8Array(4)
  return parseV4Into(s, 0, s.length, out, 0) ? out : undefined
}

/**
 * Parses IPv6 text (RFC 4291 section 2.2: full, `::`-compressed, or with a trailing dotted IPv4) into 16 bytes.
 * `undefined` for anything else, including zone ids ("fe80::1%eth0") and brackets.
 */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined
  const out = new Uint8Array(16)
  const groups: number[] = []
  let gap = -1 // index in `groups` where "::" sits
  let i = 0
  const n = s.length
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) return undefined
    gap = 0
    i = 2
    if (i === n) return out // "::"
  }
  while (i < n) {
    // One group: 1-4 hex digits, or a dotted IPv4 as the last 32 bits.
    let j = i
    let value = 0
    while (j < n && j - i < 5) {
      const h = hexNibble(s.charCodeAt(j))
      if (h < 0) break
      value = (value << 4) | h
      j++
    }
    if (j < n && s.charCodeAt(j) === 0x2e) {
      if (groups.length > 6) return undefined
      const tmp = new Uint8Array(4)
      if (!parseV4Into(s, i, n, tmp, 0)) return undefined
      groups.push((tmp[0] << 8) | tmp[1], (tmp[2] << 8) | tmp[3])
      break
    }
    if (j === i || j - i > 4) return undefined
    groups.push(value)
    if (j === n) break
    if (s.charCodeAt(j) !== 0x3a) return undefined
    j++
    if (j < n && s.charCodeAt(j) === 0x3a) {
      if (gap >= 0) return undefined // a second "::"
      gap = groups.length
      j++
    } else if (j === n) {
      return undefined // trailing single ':'
    }
    i = j
  }
  if (gap < 0) {
    if (groups.length !== 8) return undefined
  } else if (groups.length > 7) {
    return undefined // "::" must stand for at least one group
  }
  const tail = groups.length - (gap < 0 ? groups.length : gap)
  for (let g = 0; g < groups.length; g++) {
    const slot = gap >= 0 && g >= gap ? 8 - tail + (g - gap) : g
    out[slot * 2] = groups[g] >> 8
    out[slot * 2 + 1] = groups[g] & 0xff
  }
  return out
}

/** Parses IPv4 or IPv6 text into 4 or 16 bytes; `undefined` when it is neither. */
export function tryParseIP(s: string): Uint8Array | undefined {
  return s.includes(':') ? parseIPv6(s) : parseIPv4(s)
}

/** Parses IPv4 or IPv6 text into 4 or 16 bytes; throws `CodecError('BAD_ADDRESS')`. */
export function ipToBytes(s: string): Uint8Array {
  const b = tryParseIP(s)
  if (!b) throw new CodecError('BAD_ADDRESS', `not an IP address: ${JSON.stringify(s.slice(0, 64))}`)
  return b
}

export function isIPv4(s: string): boolean {
  return parseIPv4(s) !== undefined
}

export function isIPv6(s: string): boolean {
  return parseIPv6(s) !== undefined
}

/** 4 or 6 for a valid literal, 0 otherwise (the convention of `node:net` `isIP`). */
export function ipFamily(s: string): IpFamily | 0 {
  if (isIPv4(s)) return 4
  if (isIPv6(s)) return 6
  return 0
}

export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`
}

/** True for ::ffff:a.b.c.d (16 bytes starting at `at`). */
export function isV4Mapped(b: Uint8Array, at = 0): boolean {
  if (b.length - at < 16) return false
  for (let i = 0; i < 10; i++) if (b[at + i] !== 0) return false
  return b[at + 10] === 0xff && b[at + 11] === 0xff
}

/**
 * RFC 5952 text: lowercase, no leading zeros, the longest run (first on a tie) of two or more zero groups as
 * "::", and v4-mapped addresses as "::ffff:a.b.c.d".
 */
export function formatIPv6(b: Uint8Array, at = 0): string {
  if (isV4Mapped(b, at)) return `::ffff:${formatIPv4(b, at + 12)}`
  let bestStart = -1
  let bestLen = 1
  let runStart = -1
  for (let g = 0; g <= 8; g++) {
    const zero = g < 8 && b[at + 2 * g] === 0 && b[at + 2 * g + 1] === 0
    if (zero) {
      if (runStart < 0) runStart = g
    } else if (runStart >= 0) {
      if (g - runStart > bestLen) {
        bestStart = runStart
        bestLen = g - runStart
      }
      runStart = -1
    }
  }
  let s = ''
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += '::'
      g += bestLen - 1
      continue
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':'
    s += ((b[at + 2 * g] << 8) | b[at + 2 * g + 1]).toString(16)
  }
  return s
}

/** Formats 4 or 16 bytes as text; throws `CodecError('BAD_LENGTH')` for any other length. */
export function ipToString(b: Uint8Array): string {
  if (b.length === 4) return formatIPv4(b)
  if (b.length === 16) return formatIPv6(b)
  throw new CodecError('BAD_LENGTH', `an IP address is 4 or 16 bytes, got ${b.length}`)
}

/** The 16-byte v4-mapped form of a 4-byte address (16-byte input is returned as is). */
export function mapV4(b: Uint8Array): Uint8Array {
  if (b.length === 16) return b
  if (b.length !== 4) throw new CodecError('BAD_LENGTH', `an IPv4 address is 4 bytes, got ${b.length}`)
  const out = new Uint8Array(16)
  out[10] = 0xff
  out[11] = 0xff
  out.set(b, 12)
  return out
}

/** The 4-byte address inside a v4-mapped one; any other address is returned as is. */
export function unmapV4(b: Uint8Array): Uint8Array {
  return b.length === 16 && isV4Mapped(b) ? copyBytes(b, 12) : b
}

/**
 * Canonical text for an address given as text: "::FFFF:1.2.3.4" → "1.2.3.4", "2001:DB8::0:1" → "2001:db8::1".
 * `undefined` when it is not an IP literal.
 */
export function normalizeIP(s: string): string | undefined {
  const b = tryParseIP(s)
  return b ? ipToString(unmapV4(b)) : undefined
}

// ---- classification ------------------------------------------------------------------------------------------

function asBytes(ip: Uint8Array | string): Uint8Array | undefined {
  const b = typeof ip === 'string' ? tryParseIP(ip) : ip
  if (!b || (b.length !== 4 && b.length !== 16)) return undefined
  return unmapV4(b)
}

/** 127.0.0.0/8 or ::1 (v4-mapped addresses are classified by their IPv4 part). */
export function isLoopback(ip: Uint8Array | string): boolean {
  const b = asBytes(ip)
  if (!b) return false
  if (b.length === 4) return b[0] === 127
  for (let i = 0; i < 15; i++) if (b[i] !== 0) return false
  return b[15] === 1
}

/** RFC 1918 (10/8, 172.16/12, 192.168/16), carrier-grade NAT 100.64/10, and IPv6 unique local fc00::/7. */
export function isPrivate(ip: Uint8Array | string): boolean {
  const b = asBytes(ip)
  if (!b) return false
  if (b.length === 4) {
    return (
      b[0] === 10 ||
      (b[0] === 172 && (b[1] & 0xf0) === 16) ||
      (b[0] === 192 && b[1] === 168) ||
      (b[0] === 100 && (b[1] & 0xc0) === 64)
    )
  }
  return (b[0] & 0xfe) === 0xfc
}

/** 169.254/16, fe80::/10 (link-local) and the deprecated fec0::/10 (site-local). */
export function isLinkLocal(ip: Uint8Array | string): boolean {
  const b = asBytes(ip)
  if (!b) return false
  if (b.length === 4) return b[0] === 169 && b[1] === 254
  return b[0] === 0xfe && ((b[1] & 0xc0) === 0x80 || (b[1] & 0xc0) === 0xc0)
}

/**
 * True for an address a peer or node can be at: not unspecified or "this network" (0/8, a source-only range),
 * broadcast, multicast or reserved (240/4, ff00::/8). Anything that is not an IP address is not.
 */
export function isUnicastAddress(ip: string): boolean {
  const host = normalizeIP(ip)
  if (host === undefined || host === '::' || host === '255.255.255.255') return false
  if (host.includes(':')) return !host.startsWith('ff')
  const first = Number(host.split('.')[0])
  return first !== 0 && first < 224
}

/**
 * True for addresses libtorrent treats as "local network" (`is_local` + loopback), which BEP 42 exempts from the
 * node-id check: 10/8, 172.16/12, 192.168/16, 169.254/16, 127/8, 100.64/10; ::1, fe80::/10, fec0::/10, fc00::/7.
 * Anything that is not an IP address is not local.
 */
export function isLocalNetwork(ip: Uint8Array | string): boolean {
  return isLoopback(ip) || isPrivate(ip) || isLinkLocal(ip)
}
