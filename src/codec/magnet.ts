// Magnet URIs (BEP 9 `xt=urn:btih:`, BEP 52 `xt=urn:btmh:`, BEP 53 `so`). Parsing is strict about what it
// understands (an infohash of the wrong length is an error, not a link to nothing) and keeps every parameter it
// does not, so a link passed through `parseMagnet` → `formatMagnet` loses nothing a client might need.
import { fromHex, toHex } from './bytes.js'
import { CodecError, type CodecErrorCode } from './errors.js'
import { formatIPv6, parseIPv4, parseIPv6 } from './ip.js'

/** A peer address from `x.pe`: an IP literal (IPv6 without brackets) and a port. */
export interface MagnetPeer {
  host: string
  port: number
}

export interface MagnetLink {
  /** v1 infohash (SHA-1 of the info dictionary), 20 bytes: from `urn:btih:`. */
  infoHash?: Uint8Array
  /** v2 infohash (SHA-256 of the info dictionary), 32 bytes: from `urn:btmh:1220…`. */
  infoHashV2?: Uint8Array
  /** `dn`: display name. */
  name?: string
  /** `tr`: tracker URLs, in order. */
  trackers: string[]
  /** `x.pe`: peers to try directly. */
  peers: MagnetPeer[]
  /** `ws`: web seeds. */
  webSeeds: string[]
  /** `so` (BEP 53): selected file indices as inclusive ranges `[first, last]`. */
  select?: Array<[number, number]>
  /** Parameters not understood here (including extra `xt`s of other namespaces), decoded, in order. */
  extra: Array<[string, string]>
}

export type MagnetErrorCode = Extract<CodecErrorCode, 'BAD_VALUE' | 'BAD_LENGTH' | 'BAD_ADDRESS' | 'MISSING_KEY'>

/** A malformed magnet link. `param` names the parameter at fault, when there is one. */
export class MagnetError extends CodecError {
  override readonly name: string = 'MagnetError'
  readonly param: string | undefined
  constructor(code: MagnetErrorCode, message: string, param?: string) {
    super(code, `magnet: ${message}`)
    this.param = param
  }
}

/** Longest link accepted: links travel in URLs and clipboards; nothing legitimate is near this. */
export const MAGNET_MAX_LENGTH = 64 * 1024
const MAX_SELECT_INDEX = 1 << 24

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 without padding, case-insensitive; `undefined` when a character is outside the alphabet. */
export function fromBase32(s: string): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor((s.length * 5) / 8))
  let acc = 0
  let bits = 0
  let o = 0
  for (let i = 0; i < s.length; i++) {
    const v = B32.indexOf(s[i].toUpperCase())
    if (v < 0) return undefined
    acc = ((acc << 5) | v) & 0xffff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  return out
}

export function toBase32(b: Uint8Array): string {
  let s = ''
  let acc = 0
  let bits = 0
  for (const x of b) {
    acc = ((acc << 8) | x) & 0xffff
    bits += 8
    while (bits >= 5) {
      bits -= 5
      s += B32[(acc >> bits) & 31]
    }
  }
  if (bits > 0) s += B32[(acc << (5 - bits)) & 31]
  return s
}

function percentDecode(s: string, param: string): string {
  // `+` is a space in query strings (links pasted from web forms use it in `dn`).
  const t = s.replace(/\+/g, ' ')
  try {
    return decodeURIComponent(t)
  } catch {
    throw new MagnetError('BAD_VALUE', `bad percent-encoding in ${param}`, param)
  }
}

/** Percent-encodes everything outside RFC 3986 unreserved characters (plus `:` and `/`, common in `tr` URLs). */
function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

function parsePeer(v: string): MagnetPeer {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(v) ?? /^([^:[\]]+):(\d{1,5})$/.exec(v)
  const port = m ? Number(m[2]) : 0
  if (!m || port < 1 || port > 65535)
    throw new MagnetError('BAD_ADDRESS', `x.pe ${JSON.stringify(v)} is not ip:port`, 'x.pe')
  const bracketed = v.startsWith('[')
  if (bracketed) {
    const b = parseIPv6(m[1])
    if (!b) throw new MagnetError('BAD_ADDRESS', `x.pe ${JSON.stringify(v)}: bad IPv6 address`, 'x.pe')
    return { host: formatIPv6(b), port }
  }
  if (!parseIPv4(m[1])) throw new MagnetError('BAD_ADDRESS', `x.pe ${JSON.stringify(v)}: not an IPv4 address`, 'x.pe')
  return { host: m[1], port }
}

function parseSelect(v: string): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (const part of v.split(',')) {
    const m = /^(\d{1,8})(?:-(\d{1,8}))?$/.exec(part)
    if (!m) throw new MagnetError('BAD_VALUE', `so ${JSON.stringify(v)}: expected indices and ranges like 0,2-4`, 'so')
    const a = Number(m[1])
    const b = m[2] === undefined ? a : Number(m[2])
    if (b < a || b > MAX_SELECT_INDEX)
      throw new MagnetError('BAD_VALUE', `so range ${part} is empty or too large`, 'so')
    out.push([a, b])
  }
  return out
}

function parseXt(v: string, link: MagnetLink): boolean {
  const lower = v.toLowerCase()
  if (lower.startsWith('urn:btih:')) {
    const h = v.slice(9)
    const bytes = h.length === 40 ? fromHex(h) : h.length === 32 ? fromBase32(h) : undefined
    if (bytes?.length !== 20)
      throw new MagnetError('BAD_LENGTH', `btih must be 40 hex or 32 base32 characters, got ${JSON.stringify(h)}`, 'xt')
    if (link.infoHash) throw new MagnetError('BAD_VALUE', 'more than one urn:btih', 'xt')
    link.infoHash = bytes
    return true
  }
  if (lower.startsWith('urn:btmh:')) {
    const mh = fromHex(v.slice(9))
    // Multihash: 0x12 = sha2-256, 0x20 = 32-byte digest. BEP 52 defines no other.
    if (mh?.length !== 34 || mh[0] !== 0x12 || mh[1] !== 0x20)
      throw new MagnetError('BAD_LENGTH', 'btmh must be a sha2-256 multihash (1220 + 64 hex)', 'xt')
    if (link.infoHashV2) throw new MagnetError('BAD_VALUE', 'more than one urn:btmh', 'xt')
    link.infoHashV2 = mh.slice(2)
    return true
  }
  return false
}

/** Parses a magnet URI. Throws `MagnetError` when it is malformed or names no BitTorrent infohash. */
export function parseMagnet(uri: string): MagnetLink {
  if (uri.length > MAGNET_MAX_LENGTH) throw new MagnetError('BAD_LENGTH', `link longer than ${MAGNET_MAX_LENGTH}`)
  if (!/^magnet:\?/i.test(uri)) throw new MagnetError('BAD_VALUE', 'not a magnet link (expected "magnet:?")')
  const link: MagnetLink = { trackers: [], peers: [], webSeeds: [], extra: [] }
  const query = uri.slice(8).replace(/#.*$/, '')
  for (const pair of query.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const rawKey = eq < 0 ? pair : pair.slice(0, eq)
    const key = percentDecode(rawKey, rawKey)
    const value = eq < 0 ? '' : percentDecode(pair.slice(eq + 1), key)
    // Numbered forms (`xt.1`, `tr.2`) are the same parameter (as in the magnet-uri draft).
    const base = /^(xt|tr|dn|ws)\.\d+$/.test(key) ? key.slice(0, key.indexOf('.')) : key
    switch (base) {
      case 'xt':
        if (!parseXt(value, link)) link.extra.push([key, value])
        break
      case 'dn':
        link.name = value
        break
      case 'tr':
        link.trackers.push(value)
        break
      case 'ws':
        link.webSeeds.push(value)
        break
      case 'x.pe':
        link.peers.push(parsePeer(value))
        break
      case 'so':
        link.select = [...(link.select ?? []), ...parseSelect(value)]
        break
      default:
        link.extra.push([key, value])
    }
  }
  if (!link.infoHash && !link.infoHashV2) throw new MagnetError('MISSING_KEY', 'no urn:btih or urn:btmh infohash', 'xt')
  return link
}

function formatPeer(p: MagnetPeer): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`
}

/** Formats a magnet URI: infohashes first (hex), then dn, tr, ws, x.pe, so and the extra parameters in order. */
export function formatMagnet(link: Partial<MagnetLink>): string {
  const parts: string[] = []
  if (link.infoHash) {
    if (link.infoHash.length !== 20) throw new MagnetError('BAD_LENGTH', 'v1 infohash must be 20 bytes')
    parts.push(`xt=urn:btih:${toHex(link.infoHash)}`)
  }
  if (link.infoHashV2) {
    if (link.infoHashV2.length !== 32) throw new MagnetError('BAD_LENGTH', 'v2 infohash must be 32 bytes')
    parts.push(`xt=urn:btmh:1220${toHex(link.infoHashV2)}`)
  }
  if (parts.length === 0) throw new MagnetError('MISSING_KEY', 'a magnet link needs an infohash', 'xt')
  if (link.name !== undefined) parts.push(`dn=${percentEncode(link.name)}`)
  for (const t of link.trackers ?? []) parts.push(`tr=${percentEncode(t)}`)
  for (const w of link.webSeeds ?? []) parts.push(`ws=${percentEncode(w)}`)
  // Raw `[v6]:port`: libtorrent 2.0.8 does not percent-decode x.pe and drops an escaped IPv6 peer.
  for (const p of link.peers ?? []) parts.push(`x.pe=${formatPeer(p)}`)
  if (link.select && link.select.length > 0)
    parts.push(`so=${link.select.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`)
  for (const [k, v] of link.extra ?? []) parts.push(`${percentEncode(k)}=${percentEncode(v)}`)
  return `magnet:?${parts.join('&')}`
}

/** Whether file `index` is selected by a BEP 53 `so` list (no list: every file is). */
export function magnetSelects(select: MagnetLink['select'], index: number): boolean {
  return !select || select.some(([a, b]) => index >= a && index <= b)
}
