// BEP 55 `ut_holepunch` payloads, binary as the BEP says:
//   msg_type(1) addr_type(1: 0 = IPv4, 1 = IPv6) addr(4|16) port(2 BE) err_code(4 BE)
// We send the full 12 / 24 bytes (anacrolix/torrent requires them). libtorrent 2.0 writes err_code only in `error`
// messages, so its rendezvous/connect are 8 / 20 bytes: we accept both forms (err_code 0 when absent).
import { CodecError } from './errors.js'
import { formatIPv4, formatIPv6, tryParseIP, unmapV4 } from './ip.js'

export type HolepunchType = 'rendezvous' | 'connect' | 'error'

export const HolepunchMsgType = { rendezvous: 0, connect: 1, error: 2 } as const

/** BEP 55 error codes. */
export const HolepunchError = {
  /** The target endpoint is invalid. */
  NoSuchPeer: 1,
  /** The relaying peer is not connected to the target peer. */
  NotConnected: 2,
  /** The target peer does not support the holepunch extension. */
  NoSupport: 3,
  /** The target endpoint belongs to the relaying peer. */
  NoSelf: 4,
} as const

export type HolepunchErrorName = keyof typeof HolepunchError

/** The BEP 55 name of an error code (`NoSuchPeer` …), or `Unknown(<n>)` for codes the BEP does not define. */
export function holepunchErrorName(code: number): string {
  for (const [name, c] of Object.entries(HolepunchError)) if (c === code) return name
  return `Unknown(${code})`
}

export interface HolepunchMessage {
  type: HolepunchType
  /** IP literal, canonical text. */
  host: string
  port: number
  /** Non-zero only in `error` messages. */
  errorCode: number
}

const TYPES: HolepunchType[] = ['rendezvous', 'connect', 'error']

/** Encodes the full BEP 55 form: 12 bytes for IPv4 (v4-mapped hosts included), 24 for IPv6. */
export function encodeHolepunch(m: HolepunchMessage): Uint8Array {
  const raw = tryParseIP(m.host)
  if (!raw)
    throw new CodecError('BAD_ADDRESS', `ut_holepunch: not an IP address: ${JSON.stringify(m.host.slice(0, 64))}`)
  const addr = unmapV4(raw)
  if (!Number.isInteger(m.port) || m.port < 0 || m.port > 65535) throw new CodecError('BAD_VALUE', 'port: u16')
  const err = m.errorCode
  if (!Number.isInteger(err) || err < 0 || err > 0xffffffff) throw new CodecError('BAD_VALUE', 'err_code: u32')
  const type = HolepunchMsgType[m.type]
  if (type === undefined) throw new CodecError('BAD_VALUE', `ut_holepunch: unknown type ${String(m.type)}`)
  const out = new Uint8Array(2 + addr.length + 2 + 4)
  out[0] = type
  out[1] = addr.length === 4 ? 0 : 1
  out.set(addr, 2)
  const view = new DataView(out.buffer)
  view.setUint16(2 + addr.length, m.port)
  view.setUint32(4 + addr.length, err)
  return out
}

/** Decodes a payload of 12 / 24 bytes, or libtorrent's 8 / 20 (no err_code). Anything else is a `CodecError`. */
export function decodeHolepunch(b: Uint8Array): HolepunchMessage {
  if (b.length < 2) throw new CodecError('TRUNCATED', 'ut_holepunch: shorter than its header', b.length)
  const type = TYPES[b[0]]
  if (type === undefined) throw new CodecError('BAD_VALUE', `ut_holepunch: unknown msg_type ${b[0]}`, 0)
  if (b[1] > 1) throw new CodecError('BAD_VALUE', `ut_holepunch: unknown addr_type ${b[1]}`, 1)
  const alen = b[1] === 0 ? 4 : 16
  const short = 2 + alen + 2
  if (b.length !== short && b.length !== short + 4) {
    throw new CodecError('BAD_LENGTH', `ut_holepunch: ${b.length} bytes, expected ${short} or ${short + 4}`, 0)
  }
  const host = alen === 4 ? formatIPv4(b, 2) : formatIPv6(b, 2)
  const port = (b[2 + alen] << 8) | b[3 + alen]
  const errorCode = b.length === short ? 0 : new DataView(b.buffer, b.byteOffset, b.length).getUint32(short)
  return { type, host, port, errorCode }
}
