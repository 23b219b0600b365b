// BEP 44 items without the crypto: the size rules, the exact bytes an Ed25519 signature covers, and the bytes a
// target is the SHA-1 of. Hashing is passed in (`HashFunction`) so the codec stays free of Node; the DHT layer
// supplies SHA-1 and Ed25519 from node:crypto (src/dht/bep44-crypto.ts).
import { concatBytes, fromLatin1 } from './bytes.js'
import { CodecError } from './errors.js'
import {
  KRPC_ERROR_NAMES,
  KRPC_INVALID_SIGNATURE,
  KRPC_MESSAGE_TOO_BIG,
  KRPC_PROTOCOL_ERROR,
  KRPC_SALT_TOO_BIG,
} from './krpc-types.js'

/** Longest bencoded `v` a node must accept (BEP 44: "MAY reject" longer). */
export const BEP44_MAX_VALUE_LENGTH = 1000
/** Longest salt (BEP 44: "MUST NOT be longer"). */
export const BEP44_MAX_SALT_LENGTH = 64
/** Ed25519 public key `k`. */
export const BEP44_PUBLIC_KEY_LENGTH = 32
/** Ed25519 signature `sig`. */
export const BEP44_SIGNATURE_LENGTH = 64
/** `seq` is a signed 64-bit integer; BEP 44 allows rejecting negative ones (libtorrent does). */
export const BEP44_MAX_SEQ = (1n << 63n) - 1n

/** SHA-1 (20 bytes out), supplied by the caller: the codec has no crypto. */
export type HashFunction = (data: Uint8Array) => Uint8Array

/** Why an item may not be stored: the KRPC error code to answer with and its text. */
export interface Bep44Problem {
  readonly code: number
  readonly message: string
}

const problem = (code: number, message = KRPC_ERROR_NAMES[code]): Bep44Problem => ({ code, message })

/** `seq` as a bigint, checked to be an integer in 0..2^63-1. */
export function toSeq(seq: bigint | number): bigint {
  if (typeof seq === 'number' && !Number.isSafeInteger(seq)) {
    throw new CodecError('BAD_VALUE', `seq must be an integer, got ${seq}`)
  }
  const s = BigInt(seq)
  if (s < 0n || s > BEP44_MAX_SEQ) throw new CodecError('BAD_VALUE', `seq must be 0..2^63-1, got ${s}`)
  return s
}

/**
 * The bytes a mutable item's signature covers: `4:salt<len>:<salt>` (only for a non-empty salt), then
 * `3:seqi<seq>e1:v` and the value's bencoding exactly as stored or received (not re-encoded).
 *
 * @example signatureBuffer(encode('Hello World!'), 1) // "3:seqi1e1:v12:Hello World!"
 */
export function signatureBuffer(v: Uint8Array, seq: bigint | number, salt?: Uint8Array): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new CodecError('NOT_ENCODABLE', 'v must be a Uint8Array (bencoded)')
  const parts: Uint8Array[] = []
  if (salt !== undefined && salt.length > 0) parts.push(fromLatin1(`4:salt${salt.length}:`), salt)
  parts.push(fromLatin1(`3:seqi${toSeq(seq)}e1:v`), v)
  return concatBytes(parts)
}

/** The bytes whose SHA-1 is a mutable item's target: the public key, then the salt (if any). */
export function mutableTargetInput(k: Uint8Array, salt?: Uint8Array): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length !== BEP44_PUBLIC_KEY_LENGTH) {
    throw new CodecError('BAD_LENGTH', `k must be ${BEP44_PUBLIC_KEY_LENGTH} bytes`)
  }
  return salt === undefined || salt.length === 0 ? k : concatBytes([k, salt])
}

/** A mutable item's target: SHA-1(k ‖ salt). */
export function mutableTarget(k: Uint8Array, salt: Uint8Array | undefined, sha1: HashFunction): Uint8Array {
  return sha1(mutableTargetInput(k, salt))
}

/** An immutable item's target: SHA-1 of its bencoded value (the bytes as stored, not re-encoded). */
export function immutableTarget(v: Uint8Array, sha1: HashFunction): Uint8Array {
  return sha1(v)
}

/** 205 when the bencoded value is empty or longer than 1000 bytes. */
export function checkValueSize(v: Uint8Array): Bep44Problem | undefined {
  return v.length === 0 || v.length > BEP44_MAX_VALUE_LENGTH ? problem(KRPC_MESSAGE_TOO_BIG) : undefined
}

/** 207 when the salt is longer than 64 bytes. */
export function checkSaltSize(salt: Uint8Array | undefined): Bep44Problem | undefined {
  return salt !== undefined && salt.length > BEP44_MAX_SALT_LENGTH ? problem(KRPC_SALT_TOO_BIG) : undefined
}

/** The fields of a mutable item that a signature check needs. */
export interface MutableItemFields {
  readonly k: Uint8Array
  readonly sig: Uint8Array
  readonly seq: bigint
  readonly v: Uint8Array
  readonly salt?: Uint8Array
}

/**
 * Everything about a mutable item that can be checked without crypto, in libtorrent's order: 205 (value size),
 * 207 (salt size), 203 (key or signature length, negative `seq`). The signature itself (206) is the caller's.
 */
export function checkMutableItem(item: MutableItemFields): Bep44Problem | undefined {
  const size = checkValueSize(item.v) ?? checkSaltSize(item.salt)
  if (size) return size
  if (item.k.length !== BEP44_PUBLIC_KEY_LENGTH) return problem(KRPC_PROTOCOL_ERROR, "invalid value for 'k'")
  if (item.sig.length !== BEP44_SIGNATURE_LENGTH) return problem(KRPC_PROTOCOL_ERROR, "invalid value for 'sig'")
  if (item.seq < 0n) return problem(KRPC_PROTOCOL_ERROR, 'invalid (negative) sequence number')
  if (item.seq > BEP44_MAX_SEQ) return problem(KRPC_PROTOCOL_ERROR, "invalid value for 'seq'")
  return undefined
}

/** The 206 answer, for callers that verified a signature and found it wrong. */
export const INVALID_SIGNATURE: Bep44Problem = problem(KRPC_INVALID_SIGNATURE)
