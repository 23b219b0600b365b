// Peer wire protocol (BEP 3) frames, the Fast extension's messages (BEP 6) and the extended-message envelope
// (BEP 10, id 20). Every frame is <u32 BE length><id><payload>; the length is read UNSIGNED and bounded, and every
// message's size is checked against its definition (a 1-byte `have` is an error, never a zero).
import { CodecError } from './errors.js'

export const PROTOCOL_NAME = 'BitTorrent protocol'
/** pstrlen(1) + pstr(19) + reserved(8) + info hash(20) + peer id(20). */
export const HANDSHAKE_LENGTH = 68
/** Default largest frame (length prefix value) accepted: 1 MiB covers a 16 KiB piece and an 8M-piece bitfield. */
export const DEFAULT_MAX_FRAME = 1 << 20

const PSTR = new Uint8Array([...PROTOCOL_NAME].map((c) => c.charCodeAt(0)))

/** Message ids. 13–17 are BEP 6 (Fast extension); 20 is BEP 10 (extension protocol). */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  not_interested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 13,
  have_all: 14,
  have_none: 15,
  reject: 16,
  allowed_fast: 17,
  extended: 20,
} as const

export interface Handshake {
  /** The 8 reserved bytes, as sent. Use `reservedFlags` to read the known bits. */
  reserved: Uint8Array
  infoHash: Uint8Array
  peerId: Uint8Array
}

/** The reserved bits we know. Byte and mask are as BEP 10 (extension), BEP 5 (DHT) and BEP 6 (Fast) define. */
export interface ReservedFlags {
  /** BEP 10 extension protocol: byte 5, 0x10. */
  extension: boolean
  /** BEP 5 DHT (the peer accepts a `port` message): byte 7, 0x01. */
  dht: boolean
  /** BEP 6 Fast extension: byte 7, 0x04. */
  fast: boolean
}

export function makeReserved(flags: Partial<ReservedFlags>): Uint8Array {
  const r = new Uint8Array(8)
  if (flags.extension) r[5] |= 0x10
  if (flags.dht) r[7] |= 0x01
  if (flags.fast) r[7] |= 0x04
  return r
}

export function reservedFlags(reserved: Uint8Array): ReservedFlags {
  return {
    extension: (reserved[5] & 0x10) !== 0,
    dht: (reserved[7] & 0x01) !== 0,
    fast: (reserved[7] & 0x04) !== 0,
  }
}

export function encodeHandshake(h: Handshake): Uint8Array {
  if (h.reserved.length !== 8) throw new CodecError('BAD_LENGTH', 'handshake: reserved must be 8 bytes')
  if (h.infoHash.length !== 20) throw new CodecError('BAD_LENGTH', 'handshake: info hash must be 20 bytes')
  if (h.peerId.length !== 20) throw new CodecError('BAD_LENGTH', 'handshake: peer id must be 20 bytes')
  const out = new Uint8Array(HANDSHAKE_LENGTH)
  out[0] = 19
  out.set(PSTR, 1)
  out.set(h.reserved, 20)
  out.set(h.infoHash, 28)
  out.set(h.peerId, 48)
  return out
}

/** Checks the 20-byte protocol prefix at `start`; throws `UNEXPECTED_BYTE` at the first wrong byte. */
export function checkProtocolPrefix(buf: Uint8Array, start = 0, end = buf.length): void {
  const n = Math.min(end - start, 20)
  if (n > 0 && buf[start] !== 19) throw new CodecError('UNEXPECTED_BYTE', 'handshake: protocol length is not 19', 0)
  for (let i = 1; i < n; i++) {
    if (buf[start + i] !== PSTR[i - 1]) {
      throw new CodecError('UNEXPECTED_BYTE', 'handshake: protocol string is not "BitTorrent protocol"', i)
    }
  }
}

/** Decodes a 68-byte handshake. The fields are copies, so `buf` may be reused. */
export function decodeHandshake(buf: Uint8Array): Handshake {
  if (buf.length < HANDSHAKE_LENGTH) throw new CodecError('TRUNCATED', 'handshake: fewer than 68 bytes', buf.length)
  if (buf.length > HANDSHAKE_LENGTH) throw new CodecError('TRAILING_BYTES', 'handshake: more than 68 bytes', 68)
  checkProtocolPrefix(buf)
  return { reserved: buf.slice(20, 28), infoHash: buf.slice(28, 48), peerId: buf.slice(48, 68) }
}

export type PeerMessage =
  | { type: 'keep_alive' }
  | { type: 'choke' }
  | { type: 'unchoke' }
  | { type: 'interested' }
  | { type: 'not_interested' }
  | { type: 'have'; index: number }
  | { type: 'bitfield'; bitfield: Uint8Array }
  | { type: 'request'; index: number; begin: number; length: number }
  | { type: 'piece'; index: number; begin: number; block: Uint8Array }
  | { type: 'cancel'; index: number; begin: number; length: number }
  | { type: 'port'; port: number }
  | { type: 'suggest'; index: number }
  | { type: 'have_all' }
  | { type: 'have_none' }
  | { type: 'reject'; index: number; begin: number; length: number }
  | { type: 'allowed_fast'; index: number }
  | { type: 'extended'; id: number; payload: Uint8Array }
  /** A message id we do not know (BEP 52 hash messages, future BEPs): passed up, never an error. */
  | { type: 'unknown'; id: number; payload: Uint8Array }

export type PeerMessageType = PeerMessage['type']

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new CodecError('BAD_VALUE', `${what} must be a u32`)
  return v
}

function frame(id: number, payloadLength: number): { out: Uint8Array; view: DataView } {
  const out = new Uint8Array(5 + payloadLength)
  const view = new DataView(out.buffer)
  view.setUint32(0, 1 + payloadLength)
  out[4] = id
  return { out, view }
}

function triple(id: number, a: number, b: number, c: number): Uint8Array {
  const { out, view } = frame(id, 12)
  view.setUint32(5, u32(a, 'index'))
  view.setUint32(9, u32(b, 'begin'))
  view.setUint32(13, u32(c, 'length'))
  return out
}

function single(id: number, v: number): Uint8Array {
  const { out, view } = frame(id, 4)
  view.setUint32(5, u32(v, 'index'))
  return out
}

/** Encodes one message as a whole frame, length prefix included. */
export function encodeMessage(m: PeerMessage): Uint8Array {
  switch (m.type) {
    case 'keep_alive':
      return new Uint8Array(4)
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'not_interested':
    case 'have_all':
    case 'have_none':
      return frame(MessageId[m.type], 0).out
    case 'have':
    case 'suggest':
    case 'allowed_fast':
      return single(MessageId[m.type], m.index)
    case 'bitfield': {
      const { out } = frame(MessageId.bitfield, m.bitfield.length)
      out.set(m.bitfield, 5)
      return out
    }
    case 'request':
    case 'cancel':
    case 'reject':
      return triple(MessageId[m.type], m.index, m.begin, m.length)
    case 'piece': {
      const { out, view } = frame(MessageId.piece, 8 + m.block.length)
      view.setUint32(5, u32(m.index, 'index'))
      view.setUint32(9, u32(m.begin, 'begin'))
      out.set(m.block, 13)
      return out
    }
    case 'port': {
      if (!Number.isInteger(m.port) || m.port < 0 || m.port > 0xffff) throw new CodecError('BAD_VALUE', 'port: u16')
      const { out, view } = frame(MessageId.port, 2)
      view.setUint16(5, m.port)
      return out
    }
    case 'extended': {
      if (!Number.isInteger(m.id) || m.id < 0 || m.id > 255) throw new CodecError('BAD_VALUE', 'extended id: u8')
      const { out } = frame(MessageId.extended, 1 + m.payload.length)
      out[5] = m.id
      out.set(m.payload, 6)
      return out
    }
    case 'unknown': {
      if (!Number.isInteger(m.id) || m.id < 0 || m.id > 255) throw new CodecError('BAD_VALUE', 'message id: u8')
      const { out } = frame(m.id, m.payload.length)
      out.set(m.payload, 5)
      return out
    }
  }
}

/** Encodes a BEP 10 extended message: <len><20><sub-id><payload>. */
export function encodeExtendedMessage(id: number, payload: Uint8Array): Uint8Array {
  return encodeMessage({ type: 'extended', id, payload })
}

const FIXED_SIZE: Record<number, number> = {
  0: 0,
  1: 0,
  2: 0,
  3: 0,
  4: 4,
  6: 12,
  8: 12,
  9: 2,
  13: 4,
  14: 0,
  15: 0,
  16: 12,
  17: 4,
}

const NAMES: Record<number, PeerMessageType> = {
  0: 'choke',
  1: 'unchoke',
  2: 'interested',
  3: 'not_interested',
  14: 'have_all',
  15: 'have_none',
}

/**
 * Decodes one message body: the bytes after the length prefix (`body[0]` is the id). An empty body is a keep-alive.
 * Byte fields (`bitfield`, `block`, `payload`) are views into `body`, not copies.
 */
export function decodeMessage(body: Uint8Array): PeerMessage {
  if (body.length === 0) return { type: 'keep_alive' }
  const id = body[0]
  const n = body.length - 1
  const fixed = FIXED_SIZE[id]
  if (fixed !== undefined && n !== fixed) {
    throw new CodecError('BAD_LENGTH', `message id ${id}: payload is ${n} bytes, expected ${fixed}`, 0)
  }
  const view = new DataView(body.buffer, body.byteOffset, body.length)
  switch (id) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 14:
    case 15:
      return { type: NAMES[id] } as PeerMessage
    case 4:
      return { type: 'have', index: view.getUint32(1) }
    case 13:
      return { type: 'suggest', index: view.getUint32(1) }
    case 17:
      return { type: 'allowed_fast', index: view.getUint32(1) }
    case 5:
      return { type: 'bitfield', bitfield: body.subarray(1) }
    case 6:
    case 8:
    case 16:
      return {
        type: id === 6 ? 'request' : id === 8 ? 'cancel' : 'reject',
        index: view.getUint32(1),
        begin: view.getUint32(5),
        length: view.getUint32(9),
      }
    case 7:
      if (n < 8) throw new CodecError('BAD_LENGTH', `piece: payload is ${n} bytes, expected at least 8`, 0)
      return { type: 'piece', index: view.getUint32(1), begin: view.getUint32(5), block: body.subarray(9) }
    case 9:
      return { type: 'port', port: view.getUint16(1) }
    case 20:
      if (n < 1) throw new CodecError('BAD_LENGTH', 'extended: missing sub-id', 1)
      return { type: 'extended', id: body[1], payload: body.subarray(2) }
    default:
      return { type: 'unknown', id, payload: body.subarray(1) }
  }
}
