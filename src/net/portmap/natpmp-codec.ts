// NAT-PMP (RFC 6886) messages, pure: the public-address request and the UDP/TCP mapping request, and their replies.
// Every request is version 0 to the gateway's UDP port 5351; a reply's opcode is the request's plus 128.
import { PortMapError } from './errors.js'

export const PORTMAP_SERVER_PORT = 5351
export type TransportProtocol = 'udp' | 'tcp'

const OP_ADDRESS = 0
const OP_MAP_UDP = 1
const OP_MAP_TCP = 2

/** RFC 6886 §3.5 result codes. */
export const NatPmpResult = {
  SUCCESS: 0,
  UNSUPPORTED_VERSION: 1,
  NOT_AUTHORIZED: 2,
  NETWORK_FAILURE: 3,
  OUT_OF_RESOURCES: 4,
  UNSUPPORTED_OPCODE: 5,
} as const

export interface NatPmpMapRequest {
  protocol: TransportProtocol
  internalPort: number
  /** Suggested external port; 0 lets the gateway choose. Always 0 in a delete. */
  externalPort: number
  /** Seconds; 0 deletes the mapping. */
  lifetime: number
}

export type NatPmpResponse =
  | { op: 'address'; result: number; epoch: number; address: string }
  | {
      op: 'map'
      protocol: TransportProtocol
      result: number
      epoch: number
      internalPort: number
      externalPort: number
      lifetime: number
    }

function checkPort(p: number, name: string, min = 0): void {
  if (!Number.isInteger(p) || p < min || p > 65535) throw new RangeError(`${name} must be ${min}..65535, got ${p}`)
}

export function encodeNatPmpAddressRequest(): Uint8Array {
  return new Uint8Array([0, OP_ADDRESS])
}

export function encodeNatPmpMapRequest(r: NatPmpMapRequest): Uint8Array {
  checkPort(r.internalPort, 'internalPort', 1)
  checkPort(r.externalPort, 'externalPort')
  if (!Number.isInteger(r.lifetime) || r.lifetime < 0 || r.lifetime > 0xffffffff)
    throw new RangeError(`lifetime must be 0..2^32-1, got ${r.lifetime}`)
  const b = new Uint8Array(12)
  const v = new DataView(b.buffer)
  b[1] = r.protocol === 'udp' ? OP_MAP_UDP : OP_MAP_TCP
  v.setUint16(4, r.internalPort)
  v.setUint16(6, r.externalPort)
  v.setUint32(8, r.lifetime)
  return b
}

/**
 * Decodes a NAT-PMP reply. Throws PortMapError MALFORMED for anything that is not a version-0 reply of the right
 * size. A non-zero result code is returned, not thrown: the caller decides what it means for its request.
 */
export function decodeNatPmpResponse(b: Uint8Array): NatPmpResponse {
  if (b.length < 8) throw new PortMapError('MALFORMED', `NAT-PMP reply of ${b.length} bytes`, 'natpmp')
  if (b[0] !== 0) throw new PortMapError('MALFORMED', `NAT-PMP reply version ${b[0]}`, 'natpmp')
  const op = b[1]
  if ((op & 0x80) === 0) throw new PortMapError('MALFORMED', 'a NAT-PMP request, not a reply', 'natpmp')
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const result = v.getUint16(2)
  const epoch = v.getUint32(4)
  switch (op & 0x7f) {
    case OP_ADDRESS: {
      // An error reply may stop after the epoch (RFC 6886 §3.5: "…the remaining fields are undefined").
      if (b.length < 12) {
        if (result !== 0) return { op: 'address', result, epoch, address: '' }
        throw new PortMapError('MALFORMED', `NAT-PMP address reply of ${b.length} bytes`, 'natpmp')
      }
      return { op: 'address', result, epoch, address: `${b[8]}.${b[9]}.${b[10]}.${b[11]}` }
    }
    case OP_MAP_UDP:
    case OP_MAP_TCP: {
      const protocol = (op & 0x7f) === OP_MAP_UDP ? 'udp' : 'tcp'
      if (b.length < 16) {
        if (result !== 0) return { op: 'map', protocol, result, epoch, internalPort: 0, externalPort: 0, lifetime: 0 }
        throw new PortMapError('MALFORMED', `NAT-PMP map reply of ${b.length} bytes`, 'natpmp')
      }
      return {
        op: 'map',
        protocol,
        result,
        epoch,
        internalPort: v.getUint16(8),
        externalPort: v.getUint16(10),
        lifetime: v.getUint32(12),
      }
    }
    default:
      throw new PortMapError('MALFORMED', `NAT-PMP reply opcode ${op}`, 'natpmp')
  }
}
