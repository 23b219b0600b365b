// Compact peer and node formats (BEP 5, BEP 32): a peer is IP + big-endian port (6 or 18 bytes); a node is a
// 20-byte id followed by a compact peer (26 or 38 bytes). Lists are plain concatenations, so a list whose length
// is not a whole number of entries is broken, and is rejected rather than read up to the last whole entry.

import { copyBytes } from './bytes.js'
import { CodecError } from './errors.js'
import { formatIPv4, formatIPv6, type IpFamily, tryParseIP, unmapV4 } from './ip.js'
import { NODE_ID_LENGTH } from './node-id.js'

export const COMPACT_PEER_V4_LENGTH = 6
export const COMPACT_PEER_V6_LENGTH = 18
export const COMPACT_NODE_V4_LENGTH = 26
export const COMPACT_NODE_V6_LENGTH = 38

/** A peer's contact: `host` is an IP literal in canonical form (dotted quad or RFC 5952). */
export interface CompactPeer {
  host: string
  port: number
}

/** A DHT node's contact: its 20-byte id and where it listens. */
export interface CompactNode extends CompactPeer {
  id: Uint8Array
}

export function compactPeerLength(family: IpFamily): number {
  return family === 4 ? COMPACT_PEER_V4_LENGTH : COMPACT_PEER_V6_LENGTH
}

export function compactNodeLength(family: IpFamily): number {
  return family === 4 ? COMPACT_NODE_V4_LENGTH : COMPACT_NODE_V6_LENGTH
}

function addressOf(host: string, family: IpFamily | undefined): Uint8Array {
  const raw = tryParseIP(host)
  if (!raw) throw new CodecError('BAD_ADDRESS', `not an IP address: ${JSON.stringify(host.slice(0, 64))}`)
  const b = unmapV4(raw) // a v4-mapped host is an IPv4 peer on the wire
  if (family !== undefined && b.length !== (family === 4 ? 4 : 16)) {
    throw new CodecError('BAD_ADDRESS', `${host} is not an IPv${family} address`)
  }
  return b
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CodecError('BAD_VALUE', `port out of range: ${port}`)
  }
}

function writePeer(out: Uint8Array, at: number, addr: Uint8Array, port: number): number {
  out.set(addr, at)
  at += addr.length
  out[at++] = port >> 8
  out[at++] = port & 0xff
  return at
}

function readPeer(b: Uint8Array, at: number, family: IpFamily): CompactPeer {
  if (family === 4) return { host: formatIPv4(b, at), port: (b[at + 4] << 8) | b[at + 5] }
  return { host: formatIPv6(b, at), port: (b[at + 16] << 8) | b[at + 17] }
}

function familyOfLength(n: number, v4: number, v6: number, what: string): IpFamily {
  if (n === v4) return 4
  if (n === v6) return 6
  throw new CodecError('BAD_LENGTH', `a compact ${what} is ${v4} or ${v6} bytes, got ${n}`)
}

function checkMultiple(n: number, size: number, what: string): void {
  if (n % size !== 0)
    throw new CodecError('BAD_LENGTH', `compact ${what} list of ${n} bytes is not a multiple of ${size}`)
}

/** One peer as 6 (IPv4, including v4-mapped hosts) or 18 (IPv6) bytes. */
export function encodePeer(peer: CompactPeer): Uint8Array {
  const addr = addressOf(peer.host, undefined)
  checkPort(peer.port)
  const out = new Uint8Array(addr.length + 2)
  writePeer(out, 0, addr, peer.port)
  return out
}

/** One peer from exactly 6 or 18 bytes. */
export function decodePeer(b: Uint8Array): CompactPeer {
  return readPeer(b, 0, familyOfLength(b.length, 6, 18, 'peer'))
}

/** Peers of one family, concatenated. A peer of the other family is a `BAD_ADDRESS` error. */
export function encodePeers(peers: readonly CompactPeer[], family: IpFamily): Uint8Array {
  const size = compactPeerLength(family)
  const out = new Uint8Array(peers.length * size)
  let at = 0
  for (const p of peers) {
    const addr = addressOf(p.host, family)
    checkPort(p.port)
    at = writePeer(out, at, addr, p.port)
  }
  return out
}

/** Concatenated peers of one family; a length that is not a multiple of 6 (or 18) is a `BAD_LENGTH` error. */
export function decodePeers(b: Uint8Array, family: IpFamily): CompactPeer[] {
  const size = compactPeerLength(family)
  checkMultiple(b.length, size, 'peer')
  const out: CompactPeer[] = []
  for (let at = 0; at < b.length; at += size) out.push(readPeer(b, at, family))
  return out
}

/**
 * A get_peers `values` list: one compact peer per entry, 6 or 18 bytes by its length. Entries of any other length
 * are skipped (libtorrent does the same), so one odd entry does not cost the others.
 *
 * Some old clients put every peer into ONE string. libtorrent reads a one-entry list on an IPv4 node that way; so do
 * we, given the `family` the reply came over: a single entry longer than one peer whose length is a multiple of 6
 * (IPv4) or 18 (IPv6) is read as concatenated peers. Without `family`, an 18-byte entry is one IPv6 peer.
 */
export function decodePeerValues(values: readonly Uint8Array[], family?: IpFamily): CompactPeer[] {
  if (values.length === 1 && family !== undefined) {
    const one = values[0]
    const size = compactPeerLength(family)
    if (one.length > size && one.length % size === 0) return decodePeers(one, family)
  }
  const out: CompactPeer[] = []
  for (const v of values) {
    if (v.length === 6) out.push(readPeer(v, 0, 4))
    else if (v.length === 18) out.push(readPeer(v, 0, 6))
  }
  return out
}

/** A get_peers `values` list from peers (each entry 6 or 18 bytes by the peer's family). */
export function encodePeerValues(peers: readonly CompactPeer[]): Uint8Array[] {
  return peers.map(encodePeer)
}

function checkId(id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length !== NODE_ID_LENGTH) {
    throw new CodecError('BAD_LENGTH', `a node id is ${NODE_ID_LENGTH} bytes, got ${id?.length}`)
  }
}

/** One node as 26 (IPv4) or 38 (IPv6) bytes. */
export function encodeNode(node: CompactNode): Uint8Array {
  checkId(node.id)
  const addr = addressOf(node.host, undefined)
  checkPort(node.port)
  const out = new Uint8Array(NODE_ID_LENGTH + addr.length + 2)
  out.set(node.id, 0)
  writePeer(out, NODE_ID_LENGTH, addr, node.port)
  return out
}

/** One node from exactly 26 or 38 bytes. The id is a copy, so it outlives the packet buffer. */
export function decodeNode(b: Uint8Array): CompactNode {
  const family = familyOfLength(b.length, 26, 38, 'node')
  return { id: copyBytes(b, 0, NODE_ID_LENGTH), ...readPeer(b, NODE_ID_LENGTH, family) }
}

/** Nodes of one family, concatenated (the `nodes` / `nodes6` value). */
export function encodeNodes(nodes: readonly CompactNode[], family: IpFamily): Uint8Array {
  const size = compactNodeLength(family)
  const out = new Uint8Array(nodes.length * size)
  let at = 0
  for (const n of nodes) {
    checkId(n.id)
    const addr = addressOf(n.host, family)
    checkPort(n.port)
    out.set(n.id, at)
    at = writePeer(out, at + NODE_ID_LENGTH, addr, n.port)
  }
  return out
}

/** Concatenated nodes of one family; a length that is not a multiple of 26 (or 38) is a `BAD_LENGTH` error. */
export function decodeNodes(b: Uint8Array, family: IpFamily): CompactNode[] {
  const size = compactNodeLength(family)
  checkMultiple(b.length, size, 'node')
  const out: CompactNode[] = []
  for (let at = 0; at < b.length; at += size) {
    const peer = readPeer(b, at + NODE_ID_LENGTH, family)
    out.push({ id: copyBytes(b, at, at + NODE_ID_LENGTH), host: peer.host, port: peer.port })
  }
  return out
}
