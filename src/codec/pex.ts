// BEP 11 peer exchange payloads (`ut_pex`): a bencoded dict of compact peer lists with one flags byte per added
// peer. Receiving follows libtorrent: an `added` list whose `added.f` does not hold exactly one byte per peer is
// ignored (its flags cannot be trusted to line up), and a list whose length is not a whole number of entries is
// ignored. Such problems are reported in `ignored`, so the caller can count them.
import { type BDict, type BValue, decode, encode } from './bencode.js'
import { type CompactPeer, decodePeers, encodePeers } from './compact.js'
import { CodecError } from './errors.js'
import { ipFamily, normalizeIP } from './ip.js'

/** BEP 11 flags, one byte per added peer. */
export const PexFlags = {
  /** Prefers encryption (`e` in its extended handshake). */
  encryption: 0x01,
  /** Seed / upload only. */
  seed: 0x02,
  /** Supports uTP. */
  utp: 0x04,
  /** Advertised `ut_holepunch` in its extended handshake. */
  holepunch: 0x08,
  /** We made an outgoing connection to it: it is reachable. */
  reachable: 0x10,
} as const

export interface PexPeer extends CompactPeer {
  /** BEP 11 flags (`PexFlags`); 0 when the sender gave none. */
  flags: number
}

export interface PexMessage {
  /** IPv4 and IPv6 peers together. */
  added: PexPeer[]
  dropped: CompactPeer[]
}

export interface DecodedPex extends PexMessage {
  /** Keys that were present but unusable (bad length, flags that do not line up), e.g. `"added.f"`. */
  ignored: string[]
}

export interface PexDecodeOptions {
  /** Most entries read per list (`added`, `added6`, `dropped`, `dropped6`); the rest are cut off. Default 1000. */
  maxPeersPerList?: number
}

function isDict(v: BValue): v is BDict {
  return typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v)
}

function list(root: BDict, key: string, family: 4 | 6, max: number, ignored: string[]): CompactPeer[] | undefined {
  const v = root[key]
  if (v === undefined) return undefined
  if (!(v instanceof Uint8Array)) {
    ignored.push(key)
    return undefined
  }
  const size = family === 4 ? 6 : 18
  if (v.length % size !== 0) {
    ignored.push(key)
    return undefined
  }
  return decodePeers(v.subarray(0, Math.min(v.length, max * size)), family)
}

function added(root: BDict, key: string, family: 4 | 6, max: number, ignored: string[], out: PexPeer[]): void {
  const peers = list(root, key, family, max, ignored)
  if (!peers) return
  const f = root[`${key}.f`]
  if (f === undefined) {
    // BEP 11 makes the flags optional; libtorrent always sends them. Without them the peers carry no flags.
    for (const p of peers) out.push({ host: p.host, port: p.port, flags: 0 })
    return
  }
  const total = (root[key] as Uint8Array).length / (family === 4 ? 6 : 18)
  if (!(f instanceof Uint8Array) || f.length !== total) {
    ignored.push(`${key}.f`)
    return
  }
  for (let i = 0; i < peers.length; i++) out.push({ host: peers[i].host, port: peers[i].port, flags: f[i] })
}

/** Decodes a `ut_pex` payload. Throws `CodecError` only when it is not a bencoded dict. */
export function decodePex(payload: Uint8Array, options: PexDecodeOptions = {}): DecodedPex {
  const max = options.maxPeersPerList ?? 1000
  const root = decode(payload, { strict: false, maxDepth: 8, maxItems: 1000 })
  if (!isDict(root)) throw new CodecError('UNEXPECTED_BYTE', 'ut_pex: not a dict', 0)
  const ignored: string[] = []
  const out: DecodedPex = { added: [], dropped: [], ignored }
  added(root, 'added', 4, max, ignored, out.added)
  added(root, 'added6', 6, max, ignored, out.added)
  out.dropped.push(...(list(root, 'dropped', 4, max, ignored) ?? []))
  out.dropped.push(...(list(root, 'dropped6', 6, max, ignored) ?? []))
  return out
}

function family(host: string): 4 | 6 {
  const norm = normalizeIP(host)
  const fam = norm === undefined ? 0 : ipFamily(norm)
  if (fam === 0) throw new CodecError('BAD_ADDRESS', `ut_pex: not an IP address: ${JSON.stringify(host.slice(0, 64))}`)
  return fam
}

/** Encodes a `ut_pex` payload: v4 and v6 peers are split into their lists; flags go in `added.f`/`added6.f`. */
export function encodePex(msg: PexMessage): Uint8Array {
  const a4: PexPeer[] = []
  const a6: PexPeer[] = []
  const d4: CompactPeer[] = []
  const d6: CompactPeer[] = []
  for (const p of msg.added) {
    if (!Number.isInteger(p.flags) || p.flags < 0 || p.flags > 255) throw new CodecError('BAD_VALUE', 'flags: u8')
    ;(family(p.host) === 4 ? a4 : a6).push(p)
  }
  for (const p of msg.dropped) (family(p.host) === 4 ? d4 : d6).push(p)
  return encode({
    added: encodePeers(a4, 4),
    'added.f': Uint8Array.from(a4, (p) => p.flags),
    dropped: encodePeers(d4, 4),
    added6: a6.length ? encodePeers(a6, 6) : undefined,
    'added6.f': a6.length ? Uint8Array.from(a6, (p) => p.flags) : undefined,
    dropped6: d6.length ? encodePeers(d6, 6) : undefined,
  })
}
