// BEP 44 with node:crypto: SHA-1 targets and Ed25519 keys, signatures and verification. Signing goes through a
// `Signer` function, so a key can live outside the process (an agent, an HSM); `generateKeypair` gives one that
// holds its 32-byte seed here.
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto'
import {
  type HashFunction,
  immutableTarget,
  type MutableItemFields,
  mutableTarget,
  signatureBuffer,
} from '../codec/bep44.js'
import type { Random } from '../net/types.js'

/** SHA-1, as the codec's `HashFunction`. */
export const sha1: HashFunction = (data) => new Uint8Array(createHash('sha1').update(data).digest())

/** Signs BEP 44 signature buffers with an Ed25519 key: 64 bytes out. May be asynchronous (a remote key). */
export type Signer = (message: Uint8Array) => Uint8Array | Promise<Uint8Array>

/** A public key and a way to sign with its private half. */
export interface Keypair {
  /** Ed25519 public key, 32 bytes (BEP 44 `k`). */
  readonly publicKey: Uint8Array
  readonly sign: Signer
}

/** A keypair whose private key is here: its 32-byte seed (RFC 8032's private key). */
export interface LocalKeypair extends Keypair {
  readonly seed: Uint8Array
}

// DER framing of a raw Ed25519 key (RFC 8410): node:crypto imports keys as PKCS#8 / SPKI.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 2, 1, 0, 0x30, 5, 6, 3, 0x2b, 0x65, 0x70, 4, 0x22, 4, 0x20])
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 5, 6, 3, 0x2b, 0x65, 0x70, 3, 0x21, 0])

function der(prefix: Uint8Array, key: Uint8Array): Buffer {
  return Buffer.concat([prefix, key])
}

/**
 * An Ed25519 keypair from a 32-byte seed (the same seed always gives the same key), or from 32 random bytes.
 * `random` defaults to node:crypto.
 */
export function generateKeypair(seed?: Uint8Array, random?: Random): LocalKeypair {
  const s = seed ?? random?.bytes(32) ?? new Uint8Array(randomBytes(32))
  if (!(s instanceof Uint8Array) || s.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes')
  const privateKey = createPrivateKey({ key: der(PKCS8_PREFIX, s), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32))
  return {
    seed: s.slice(),
    publicKey,
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  }
}

/** Whether `signature` (64 bytes) is `publicKey`'s Ed25519 signature of `message`. Never throws. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    const key = createPublicKey({ key: der(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' })
    return verify(null, message, key, signature)
  } catch {
    return false // not a point on the curve
  }
}

/**
 * The 64-byte "expanded" secret key of the ref10 / orlp ed25519 code that libtorrent uses (its Python bindings'
 * `dht_put_mutable_item` takes this form): SHA-512 of the seed, the first half clamped as RFC 8032 says. The
 * way back is impossible; keep the seed.
 */
export function expandSecretKey(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes')
  const h = new Uint8Array(createHash('sha512').update(seed).digest())
  h[0] &= 248
  h[31] &= 63
  h[31] |= 64
  return h
}

/** A mutable item to sign: `v` is the bencoded value. */
export interface ItemToSign {
  readonly v: Uint8Array
  readonly seq: bigint | number
  readonly salt?: Uint8Array
}

/** The item's signature (`sig`) by `signer`. */
export async function signMutableItem(item: ItemToSign, signer: Signer): Promise<Uint8Array> {
  const sig = await signer(signatureBuffer(item.v, item.seq, item.salt))
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new RangeError('a signer must return 64 bytes')
  return sig
}

/** Whether a mutable item's `sig` is `k`'s signature of its value, `seq` and salt. */
export function verifyMutableItem(item: MutableItemFields): boolean {
  let buf: Uint8Array
  try {
    buf = signatureBuffer(item.v, item.seq, item.salt)
  } catch {
    return false
  }
  return verifySignature(item.k, buf, item.sig)
}

/** SHA-1 of the bencoded value. */
export function immutableTargetOf(v: Uint8Array): Uint8Array {
  return immutableTarget(v, sha1)
}

/** SHA-1 of the public key and the salt. */
export function mutableTargetOf(k: Uint8Array, salt?: Uint8Array): Uint8Array {
  return mutableTarget(k, salt, sha1)
}
