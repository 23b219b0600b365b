// BEP 9 `ut_metadata` messages: the payload of a BEP 10 extended message carrying pieces of the info dictionary.
// A bencoded dictionary, and for `data` the piece's bytes right after it. Every size is checked against the
// `metadata_size` the peer announced, so a piece out of range or of the wrong length never reaches the assembler.
import { type BDict, decodePrefix, encode } from './bencode.js'
import { concatBytes } from './bytes.js'
import { CodecError } from './errors.js'

/** Metadata travels in 16 KiB pieces; only the last may be shorter. */
export const METADATA_PIECE_SIZE = 16 * 1024
/** Largest `metadata_size` the codec accepts at all (callers usually set a lower limit). */
export const METADATA_MAX_SIZE = 256 * 1024 * 1024

export type UtMetadataMessage =
  | { type: 'request'; piece: number }
  | { type: 'data'; piece: number; totalSize: number; data: Uint8Array }
  | { type: 'reject'; piece: number }

export interface UtMetadataContext {
  /** The `metadata_size` from the extended handshake (ours when we serve, the peer's when we fetch). */
  metadataSize?: number
}

const TYPE_CODE = { request: 0, data: 1, reject: 2 } as const

/** Number of 16 KiB pieces for `size` bytes of metadata. */
export function metadataPieceCount(size: number): number {
  return Math.ceil(size / METADATA_PIECE_SIZE)
}

/** Exact length of piece `piece` of `size` bytes of metadata. */
export function metadataPieceLength(size: number, piece: number): number {
  return Math.min(METADATA_PIECE_SIZE, size - piece * METADATA_PIECE_SIZE)
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 1 || size > METADATA_MAX_SIZE)
    throw new CodecError('BAD_VALUE', `ut_metadata: metadata size ${size} out of range`)
}

function checkPiece(piece: number, size: number | undefined, at: number): void {
  if (!Number.isSafeInteger(piece) || piece < 0 || piece >= metadataPieceCount(size ?? METADATA_MAX_SIZE))
    throw new CodecError('BAD_VALUE', `ut_metadata: piece ${piece} out of range`, at)
}

/** Encodes a message. `data` must be the exact piece (checked against `totalSize`). */
export function encodeUtMetadata(msg: UtMetadataMessage): Uint8Array {
  if (msg.type === 'data') {
    checkSize(msg.totalSize)
    checkPiece(msg.piece, msg.totalSize, -1)
    if (msg.data.length !== metadataPieceLength(msg.totalSize, msg.piece))
      throw new CodecError(
        'BAD_LENGTH',
        `ut_metadata: piece ${msg.piece} must be ${metadataPieceLength(msg.totalSize, msg.piece)} bytes`,
      )
    return concatBytes([encode({ msg_type: 1, piece: msg.piece, total_size: msg.totalSize }), msg.data])
  }
  checkPiece(msg.piece, undefined, -1)
  return encode({ msg_type: TYPE_CODE[msg.type], piece: msg.piece })
}

/**
 * Decodes a `ut_metadata` payload. With `ctx.metadataSize` the piece index and a data piece's length and
 * `total_size` must agree with it. Unknown `msg_type`s are an error (BEP 9: ignore them; the caller decides).
 * The returned `data` is a view into `payload`.
 */
export function decodeUtMetadata(payload: Uint8Array, ctx: UtMetadataContext = {}): UtMetadataMessage {
  // The dictionary is tiny; bounding depth and items keeps a hostile one from costing anything.
  const { value, end } = decodePrefix(payload, 0, { strict: false, maxDepth: 4, maxItems: 64 })
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array || Array.isArray(value))
    throw new CodecError('BAD_TYPE', 'ut_metadata: message is not a dictionary', 0)
  const d = value as BDict
  const type = d.msg_type
  const piece = d.piece
  if (typeof type !== 'number') throw new CodecError('MISSING_KEY', 'ut_metadata: no integer msg_type', 0)
  if (typeof piece !== 'number') throw new CodecError('MISSING_KEY', 'ut_metadata: no integer piece', 0)
  const size = ctx.metadataSize
  if (size !== undefined) checkSize(size)
  checkPiece(piece, size, 0)
  if (type === 1) {
    const total = d.total_size
    if (typeof total !== 'number') throw new CodecError('MISSING_KEY', 'ut_metadata: data without total_size', 0)
    checkSize(total)
    if (size !== undefined && total !== size)
      throw new CodecError('BAD_VALUE', `ut_metadata: total_size ${total} differs from metadata_size ${size}`, 0)
    checkPiece(piece, total, 0)
    const data = payload.subarray(end)
    if (data.length !== metadataPieceLength(total, piece))
      throw new CodecError(
        'BAD_LENGTH',
        `ut_metadata: piece ${piece} is ${data.length} bytes, expected ${metadataPieceLength(total, piece)}`,
        end,
      )
    return { type: 'data', piece, totalSize: total, data }
  }
  if (end !== payload.length)
    throw new CodecError('TRAILING_BYTES', 'ut_metadata: bytes after a request or reject', end)
  if (type === 0) return { type: 'request', piece }
  if (type === 2) return { type: 'reject', piece }
  throw new CodecError('BAD_VALUE', `ut_metadata: unknown msg_type ${type}`, 0)
}
