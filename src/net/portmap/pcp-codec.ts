// PCP (RFC 6887) MAP requests and replies, pure. Only what a client behind one NAT needs: the 24-byte common header
// and the 36-byte MAP opcode body, no options. Addresses travel as 16 bytes (IPv4 as ::ffff:a.b.c.d).
import { formatIPv4, formatIPv6, ipToBytes, isV4Mapped, mapV4 } from '../../codec/ip.js'
import { PortMapError } from './errors.js'
import type { TransportProtocol } from './natpmp-codec.js'

const VERSION = 2
const OP_MAP = 1
const HEADER = 24
const MAP_BODY = 36
/** RFC 6887 §7: a PCP message is at most 1100 bytes. */
const MAX_MESSAGE = 1100

/** RFC 6887 §7.4 result codes. */
export const PcpResult = {
  SUCCESS: 0,
  UNSUPP_VERSION: 1,
  NOT_AUTHORIZED: 2,
  MALFORMED_REQUEST: 3,
  UNSUPP_OPCODE: 4,
  UNSUPP_OPTION: 5,
  MALFORMED_OPTION: 6,
  NETWORK_FAILURE: 7,
  NO_RESOURCES: 8,
  UNSUPP_PROTOCOL: 9,
  USER_EX_QUOTA: 10,
  CANNOT_PROVIDE_EXTERNAL: 11,
  ADDRESS_MISMATCH: 12,
  EXCESSIVE_REMOTE_PEERS: 13,
} as const

export const PCP_RESULT_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(PcpResult).map(([k, v]) => [v, k]),
)

const IPPROTO: Record<TransportProtocol, number> = { udp: 17, tcp: 6 }

export interface PcpMapRequest {
  /** The client's own address as the server sees it (the request's source address). */
  clientAddress: string
  /** Seconds; 0 deletes the mapping. */
  lifetime: number
  /** 12 random bytes; a renewal or delete must repeat the nonce of the mapping. */
  nonce: Uint8Array
  protocol: TransportProtocol
  internalPort: number
  /** Suggested external port; 0 lets the server choose. */
  externalPort: number
  /** Suggested external address. Default: none (all zeros, "any IPv4": ::ffff:0.0.0.0). */
  externalAddress?: string
}

export interface PcpResponse {
  /** 2 for PCP. 0 when a NAT-PMP-only server answered (its "unsupported version" reply): only `result` is set. */
  version: number
  opcode: number
  result: number
  lifetime: number
  epoch: number
  /** The MAP body of a version-2 MAP reply. */
  map?: {
    nonce: Uint8Array
    protocol: number
    internalPort: number
    externalPort: number
    externalAddress: string
  }
}

function addr16(ip: string): Uint8Array {
  const b = ipToBytes(ip)
  return b.length === 4 ? mapV4(b) : b
}

function formatAddr16(b: Uint8Array, at: number): string {
  return isV4Mapped(b, at) ? formatIPv4(b, at + 12) : formatIPv6(b, at)
}

export function encodePcpMapRequest(r: PcpMapRequest): Uint8Array {
  if (r.nonce.length !== 12) throw new RangeError('PCP nonce must be 12 bytes')
  if (!Number.isInteger(r.internalPort) || r.internalPort < 1 || r.internalPort > 65535)
    throw new RangeError(`internalPort must be 1..65535, got ${r.internalPort}`)
  if (!Number.isInteger(r.externalPort) || r.externalPort < 0 || r.externalPort > 65535)
    throw new RangeError(`externalPort must be 0..65535, got ${r.externalPort}`)
  if (!Number.isInteger(r.lifetime) || r.lifetime < 0 || r.lifetime > 0xffffffff)
    throw new RangeError(`lifetime must be 0..2^32-1, got ${r.lifetime}`)
  const b = new Uint8Array(HEADER + MAP_BODY)
  const v = new DataView(b.buffer)
  b[0] = VERSION
  b[1] = OP_MAP
  v.setUint32(4, r.lifetime)
  b.set(addr16(r.clientAddress), 8)
  b.set(r.nonce, 24)
  b[36] = IPPROTO[r.protocol]
  v.setUint16(40, r.internalPort)
  v.setUint16(42, r.externalPort)
  b.set(addr16(r.externalAddress ?? '0.0.0.0'), 44)
  return b
}

/** Decodes a reply. Throws PortMapError MALFORMED; a non-zero result code is returned, not thrown. */
export function decodePcpResponse(b: Uint8Array): PcpResponse {
  const bad = (why: string) => new PortMapError('MALFORMED', `PCP reply: ${why}`, 'pcp')
  if (b.length < 4) throw bad(`${b.length} bytes`)
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  // RFC 6887 §9: a NAT-PMP server answers a PCP request with its own version 0 and "unsupported version".
  if (b[0] === 0) {
    if ((b[1] & 0x80) === 0) throw bad('version 0 request')
    return { version: 0, opcode: b[1] & 0x7f, result: v.getUint16(2), lifetime: 0, epoch: 0 }
  }
  if (b[0] !== VERSION) throw bad(`version ${b[0]}`)
  if (b.length < HEADER || b.length > MAX_MESSAGE || b.length % 4 !== 0) throw bad(`${b.length} bytes`)
  if ((b[1] & 0x80) === 0) throw bad('a request, not a reply')
  const res: PcpResponse = {
    version: VERSION,
    opcode: b[1] & 0x7f,
    result: b[3],
    lifetime: v.getUint32(4),
    epoch: v.getUint32(8),
  }
  if (res.opcode === OP_MAP && b.length >= HEADER + MAP_BODY) {
    res.map = {
      nonce: b.slice(24, 36),
      protocol: b[36],
      internalPort: v.getUint16(40),
      externalPort: v.getUint16(42),
      externalAddress: formatAddr16(b, 44),
    }
  } else if (res.opcode === OP_MAP && res.result === PcpResult.SUCCESS) {
    throw bad('MAP success without its body')
  }
  return res
}

export function pcpProtocolNumber(p: TransportProtocol): number {
  return IPPROTO[p]
}
