// BEP 10 extended handshake: the bencoded dict sent as extended message 0. Decoding is lenient in what other
// clients send (non-canonical bencode, bad values in optional keys are dropped), strict in the container: the
// payload must be one bencoded dict. Unknown keys are kept in `extra` so nothing is lost on the way through.
import { type BDict, type BEncodable, type BValue, decode, encode } from './bencode.js'
import { latin1, tryUtf8 } from './bytes.js'
import { CodecError } from './errors.js'
import { ipToBytes, ipToString, unmapV4 } from './ip.js'

/** Extended message id 0 is the handshake; other sub-ids are the receiver's numbers from its `m`. */
export const EXTENDED_HANDSHAKE_ID = 0

export interface ExtendedHandshake {
  /** Extension name → the sender's message id for it. 0 means "disabled" (BEP 10: `m` is additive). */
  m: Record<string, number>
  /** The sender's TCP listen port. */
  p?: number
  /** Client name and version, e.g. "libtorrent/2.0.8.0". */
  v?: string
  /** The address the sender sees us at, canonical text ("1.2.3.4", "2001:db8::1"; v4-mapped is unmapped). */
  yourip?: string
  /** Outstanding requests the sender accepts. */
  reqq?: number
  /** The sender's own addresses, canonical text. */
  ipv4?: string
  ipv6?: string
  /** BEP 9: size of the info dict. */
  metadataSize?: number
  /** Every other key, as decoded. */
  extra: BDict
}

const KNOWN = new Set(['m', 'p', 'v', 'yourip', 'reqq', 'ipv4', 'ipv6', 'metadata_size'])

/** Most keys in `m` we read; a larger `m` keeps its first entries (a 1-byte id space has 255 usable ids). */
const MAX_M_ENTRIES = 255

function isDict(v: BValue | undefined): v is BDict {
  return v !== undefined && typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v)
}

function intIn(v: BValue | undefined, lo: number, hi: number): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : undefined
}

function ipFrom(v: BValue | undefined, family?: 4 | 6): string | undefined {
  if (!(v instanceof Uint8Array)) return undefined
  if (v.length !== 4 && v.length !== 16) return undefined
  if (family === 4 && v.length !== 4) return undefined
  if (family === 6 && v.length !== 16) return undefined
  return ipToString(family === 6 ? v : unmapV4(v))
}

/** Decodes an extended handshake payload. Throws `CodecError` only when the payload is not a bencoded dict. */
export function decodeExtendedHandshake(payload: Uint8Array): ExtendedHandshake {
  const root = decode(payload, { strict: false, maxDepth: 16, maxItems: 10_000 })
  if (!isDict(root)) throw new CodecError('UNEXPECTED_BYTE', 'extended handshake: not a dict', 0)
  // Null prototype: a key named "__proto__" is just a name.
  const m: Record<string, number> = Object.create(null)
  const rawM = root.m
  if (isDict(rawM)) {
    let n = 0
    for (const key of Object.keys(rawM)) {
      if (n++ >= MAX_M_ENTRIES) break
      const id = intIn(rawM[key], 0, 255)
      if (id !== undefined) m[key] = id
    }
  }
  const out: ExtendedHandshake = { m, extra: Object.create(null) as BDict }
  const p = intIn(root.p, 1, 65535)
  if (p !== undefined) out.p = p
  if (root.v instanceof Uint8Array) out.v = tryUtf8(root.v) ?? latin1(root.v)
  const yourip = ipFrom(root.yourip)
  if (yourip !== undefined) out.yourip = yourip
  const reqq = intIn(root.reqq, 0, 0x7fffffff)
  if (reqq !== undefined) out.reqq = reqq
  const ipv4 = ipFrom(root.ipv4, 4)
  if (ipv4 !== undefined) out.ipv4 = ipv4
  const ipv6 = ipFrom(root.ipv6, 6)
  if (ipv6 !== undefined) out.ipv6 = ipv6
  const ms = intIn(root.metadata_size, 0, Number.MAX_SAFE_INTEGER)
  if (ms !== undefined) out.metadataSize = ms
  for (const key of Object.keys(root)) if (!KNOWN.has(key)) out.extra[key] = root[key]
  return out
}

export interface ExtendedHandshakeInit {
  m: Record<string, number>
  p?: number
  v?: string
  yourip?: string
  reqq?: number
  ipv4?: string
  ipv6?: string
  metadataSize?: number
  /** Extra keys to send as they are (a known key here is overridden by the field above). */
  extra?: Record<string, BEncodable>
}

/** Encodes an extended handshake payload (bencoded dict, canonical). */
export function encodeExtendedHandshake(h: ExtendedHandshakeInit): Uint8Array {
  const m: Record<string, number> = Object.create(null)
  for (const [k, id] of Object.entries(h.m)) {
    if (!Number.isInteger(id) || id < 0 || id > 255) throw new CodecError('BAD_VALUE', `m.${k}: id must be 0..255`)
    m[k] = id
  }
  const dict: Record<string, BEncodable | undefined> = { ...(h.extra ?? {}) }
  dict.m = m
  if (h.p !== undefined) dict.p = h.p
  if (h.v !== undefined) dict.v = h.v
  if (h.yourip !== undefined) dict.yourip = unmapV4(ipToBytes(h.yourip))
  if (h.reqq !== undefined) dict.reqq = h.reqq
  if (h.ipv4 !== undefined) {
    const b = unmapV4(ipToBytes(h.ipv4))
    if (b.length !== 4) throw new CodecError('BAD_ADDRESS', 'ipv4: not an IPv4 address')
    dict.ipv4 = b
  }
  if (h.ipv6 !== undefined) {
    const b = ipToBytes(h.ipv6)
    if (b.length !== 16) throw new CodecError('BAD_ADDRESS', 'ipv6: not an IPv6 address')
    dict.ipv6 = b
  }
  if (h.metadataSize !== undefined) dict.metadata_size = h.metadataSize
  return encode(dict)
}
