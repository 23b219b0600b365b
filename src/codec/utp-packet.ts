// uTP packets (BEP 29): the 20-byte version-1 header, the extension chain and the selective-ACK extension.
// Pure and allocation-light: decoding fills a caller-owned object and returns views into the input, because every
// datagram of a bulk transfer goes through here.
import { CodecError } from './errors.js'

export const UTP_HEADER_SIZE = 20
export const UTP_VERSION = 1

/** Packet types. */
export const ST_DATA = 0
export const ST_FIN = 1
export const ST_STATE = 2
export const ST_RESET = 3
export const ST_SYN = 4
export type UtpType = 0 | 1 | 2 | 3 | 4

/** Extension ids: 1 = selective ACK; 3 = libtorrent's close reason (2 reserved bytes + u16). */
export const EXT_SACK = 1
export const EXT_CLOSE_REASON = 3

export const UTP_TYPE_NAMES = ['ST_DATA', 'ST_FIN', 'ST_STATE', 'ST_RESET', 'ST_SYN'] as const

/** A decoded packet. `payload` and `sack` are views into the datagram (no copy). */
export interface UtpPacket {
  type: UtpType
  connId: number
  /** Sender's clock, microseconds mod 2^32. */
  timestamp: number
  /** Sender's latest one-way delay sample of our packets, microseconds (0 = none yet). */
  timestampDiff: number
  /** Sender's advertised receive window, bytes. */
  wnd: number
  seq: number
  ack: number
  /** Selective-ACK bitmask (bit i of byte j = ack + 2 + 8j + i), or null. */
  sack: Uint8Array | null
  /** libtorrent's close reason (extension 3), or -1. */
  closeReason: number
  payload: Uint8Array
}

/** Fields of a header to encode. */
export interface UtpHeaderFields {
  type: UtpType
  connId: number
  timestamp: number
  timestampDiff: number
  wnd: number
  seq: number
  ack: number
}

export function emptyPacket(): UtpPacket {
  return {
    type: 0,
    connId: 0,
    timestamp: 0,
    timestampDiff: 0,
    wnd: 0,
    seq: 0,
    ack: 0,
    sack: null,
    closeReason: -1,
    payload: new Uint8Array(0),
  }
}

/**
 * Decodes a uTP packet. Fills `into` when given (the hot path reuses one object) and returns it.
 * Throws `CodecError` on a short header, a version other than 1, a type above 4 or a broken extension chain.
 */
export function decodeUtpPacket(bytes: Uint8Array, into: UtpPacket = emptyPacket()): UtpPacket {
  const n = bytes.length
  if (n < UTP_HEADER_SIZE) throw new CodecError('TRUNCATED', 'uTP packet shorter than its 20-byte header', n)
  const b0 = bytes[0]
  if ((b0 & 15) !== UTP_VERSION) throw new CodecError('BAD_VALUE', `uTP version ${b0 & 15} is not 1`, 0)
  const type = b0 >> 4
  if (type > 4) throw new CodecError('BAD_VALUE', `uTP packet type ${type} is unknown`, 0)
  into.type = type as UtpType
  into.connId = (bytes[2] << 8) | bytes[3]
  into.timestamp = ((bytes[4] << 24) | (bytes[5] << 16) | (bytes[6] << 8) | bytes[7]) >>> 0
  into.timestampDiff = ((bytes[8] << 24) | (bytes[9] << 16) | (bytes[10] << 8) | bytes[11]) >>> 0
  into.wnd = ((bytes[12] << 24) | (bytes[13] << 16) | (bytes[14] << 8) | bytes[15]) >>> 0
  into.seq = (bytes[16] << 8) | bytes[17]
  into.ack = (bytes[18] << 8) | bytes[19]
  into.sack = null
  into.closeReason = -1
  let ext = bytes[1]
  let off = UTP_HEADER_SIZE
  while (ext !== 0) {
    if (off + 2 > n) throw new CodecError('TRUNCATED', 'uTP extension header past the end of the packet', off)
    const next = bytes[off]
    const len = bytes[off + 1]
    const start = off + 2
    if (start + len > n) throw new CodecError('LENGTH_OVERFLOW', `uTP extension ${ext} of ${len} bytes overruns`, off)
    if (ext === EXT_SACK) {
      // BEP 29 says multiples of 4; libtorrent sends ceil(span/8) bytes. Accept any non-empty length.
      if (len === 0) throw new CodecError('BAD_LENGTH', 'uTP selective ACK of length 0', off + 1)
      into.sack = bytes.subarray(start, start + len)
    } else if (ext === EXT_CLOSE_REASON && len >= 4) {
      into.closeReason = (bytes[start + 2] << 8) | bytes[start + 3]
    }
    // Unknown extensions are skipped by their length.
    ext = next
    off = start + len
  }
  into.payload = bytes.subarray(off)
  return into
}

/**
 * Whether a datagram looks like uTP: a full 20-byte header, version 1, type ≤ 4 and an extension chain that fits.
 * The multiplexer offers datagrams to uTP first, so this must be cheap and must reject bencoded KRPC ("d1:…"):
 * 'd' is 0x64, i.e. version 4.
 */
export function isUtpPacket(bytes: Uint8Array): boolean {
  const n = bytes.length
  if (n < UTP_HEADER_SIZE) return false
  const b0 = bytes[0]
  if ((b0 & 15) !== UTP_VERSION || b0 >> 4 > 4) return false
  let ext = bytes[1]
  let off = UTP_HEADER_SIZE
  while (ext !== 0) {
    if (off + 2 > n) return false
    const len = bytes[off + 1]
    if (ext === EXT_SACK && len === 0) return false
    ext = bytes[off]
    off += 2 + len
    if (off > n) return false
  }
  return true
}

/** Writes the 20-byte header at `offset` of `out`. `ext` is the id of the first extension (0 = none). */
export function writeUtpHeader(out: Uint8Array, h: UtpHeaderFields, ext = 0, offset = 0): void {
  out[offset] = (h.type << 4) | UTP_VERSION
  out[offset + 1] = ext
  out[offset + 2] = (h.connId >> 8) & 255
  out[offset + 3] = h.connId & 255
  writeU32(out, offset + 4, h.timestamp)
  writeU32(out, offset + 8, h.timestampDiff)
  writeU32(out, offset + 12, h.wnd)
  out[offset + 16] = (h.seq >> 8) & 255
  out[offset + 17] = h.seq & 255
  out[offset + 18] = (h.ack >> 8) & 255
  out[offset + 19] = h.ack & 255
}

/** Writes a big-endian u32 (used to restamp a packet's timestamp and window when it is re-sent). */
export function writeU32(out: Uint8Array, offset: number, v: number): void {
  out[offset] = (v >>> 24) & 255
  out[offset + 1] = (v >>> 16) & 255
  out[offset + 2] = (v >>> 8) & 255
  out[offset + 3] = v & 255
}

/** Everything `encodeUtpPacket` needs: header fields plus optional SACK bitmask and payload. */
export interface UtpPacketInit extends UtpHeaderFields {
  sack?: Uint8Array | null
  payload?: Uint8Array
}

/** Encodes a whole packet into a new array. The SACK bitmask must be 1..255 bytes (we send multiples of 4). */
export function encodeUtpPacket(p: UtpPacketInit): Uint8Array {
  const sack = p.sack ?? null
  if (sack && (sack.length === 0 || sack.length > 255))
    throw new CodecError('BAD_LENGTH', `uTP selective ACK of ${sack.length} bytes`)
  const payload = p.payload ?? EMPTY
  const extLen = sack ? 2 + sack.length : 0
  const out = new Uint8Array(UTP_HEADER_SIZE + extLen + payload.length)
  writeUtpHeader(out, p, sack ? EXT_SACK : 0)
  let off = UTP_HEADER_SIZE
  if (sack) {
    out[off] = 0
    out[off + 1] = sack.length
    out.set(sack, off + 2)
    off += 2 + sack.length
  }
  out.set(payload, off)
  return out
}

const EMPTY = new Uint8Array(0)
