// BEP 42 (DHT security extension): a node id's top 21 bits are tied to its external IP through CRC-32C, so one
// IP cannot pick ids at will. The id's last byte carries the random `r` (its low 3 bits enter the CRC).
// libtorrent exempts local-network addresses from the check; so do we (`isLocalNetwork`).
import { crc32c } from './crc32c.js'
import { CodecError } from './errors.js'
import { isLocalNetwork, tryParseIP, unmapV4 } from './ip.js'
import { type ByteSource, isNodeId, NODE_ID_LENGTH, randomBytesFrom } from './node-id.js'

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff]
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff]

function ipBytes(ip: Uint8Array | string): Uint8Array {
  const raw = typeof ip === 'string' ? tryParseIP(ip) : ip
  if (!raw || (raw.length !== 4 && raw.length !== 16)) {
    throw new CodecError('BAD_ADDRESS', `BEP 42 needs an IPv4 or IPv6 address, got ${String(ip).slice(0, 64)}`)
  }
  return unmapV4(raw) // a v4-mapped address is an IPv4 node
}

/**
 * The CRC-32C that fixes the id prefix for `ip` and random `r` (only its low 3 bits count): the masked IPv4
 * address, or the masked high 64 bits of an IPv6 one, with `r` in the top 3 bits.
 */
export function bep42Crc(ip: Uint8Array | string, r: number): number {
  const b = ipBytes(ip)
  const mask = b.length === 4 ? V4_MASK : V6_MASK
  const buf = new Uint8Array(mask.length)
  for (let i = 0; i < mask.length; i++) buf[i] = b[i] & mask[i]
  buf[0] |= (r & 7) << 5
  return crc32c(buf)
}

/**
 * A node id valid for external address `ip` under BEP 42. Random bytes (id[2]'s low 3 bits, id[3..18] and `r`)
 * come from `source`; pass `r` (0..255) to fix the last byte, as the BEP's test vectors do.
 */
export function nodeIdForIp(ip: Uint8Array | string, source: ByteSource, r?: number): Uint8Array {
  const rand = randomBytesFrom(source, NODE_ID_LENGTH)
  const id = rand.slice()
  const last = r === undefined ? rand[19] : r
  if (!Number.isInteger(last) || last < 0 || last > 255) throw new CodecError('BAD_VALUE', `r must be 0..255, got ${r}`)
  const crc = bep42Crc(ip, last)
  id[0] = crc >>> 24
  id[1] = (crc >>> 16) & 0xff
  id[2] = ((crc >>> 8) & 0xf8) | (rand[2] & 7)
  id[19] = last
  return id
}

/** True when `ip` is exempt from BEP 42 (local network, loopback, link-local: libtorrent's list). */
export function isBep42Exempt(ip: Uint8Array | string): boolean {
  return isLocalNetwork(ip)
}

/**
 * Whether `id` is a valid BEP 42 id for a node seen at `ip`: compares id[0], id[1] and id[2] & 0xf8 with the CRC
 * computed with r = id[19] & 7. Local-network addresses are exempt (always true). A malformed id is never valid.
 */
export function isValidNodeIdForIp(id: Uint8Array, ip: Uint8Array | string): boolean {
  if (!isNodeId(id)) return false
  if (isBep42Exempt(ip)) return true
  const crc = bep42Crc(ip, id[19] & 7)
  return id[0] === crc >>> 24 && id[1] === ((crc >>> 16) & 0xff) && (id[2] & 0xf8) === ((crc >>> 8) & 0xf8)
}
