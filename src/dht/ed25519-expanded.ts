// Ed25519 signing with a 64-byte expanded secret key (ref10 / orlp form: clamped scalar ‖ nonce prefix), the form
// libtorrent stores and its Python bindings take. node:crypto only signs from a 32-byte seed, and an expanded key
// cannot be turned back into one, so this is the RFC 8032 arithmetic itself, in bigints. It is slow (a few ms a
// signature) and not constant-time: for interop tests and keys handed over by libtorrent, not for hot paths.
import { createHash } from 'node:crypto'
import type { Signer } from './bep44-crypto.js'

const P = (1n << 255n) - 19n
const L = (1n << 252n) + 27742317777372353535851937790883648493n
const D = mod(-121665n * inv(121666n))
const D2 = mod(2n * D)
const BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202n
const BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960n

type Point = readonly [x: bigint, y: bigint, z: bigint, t: bigint]
const BASE: Point = [BX, BY, 1n, mod(BX * BY)]
const ZERO: Point = [0n, 1n, 1n, 0n]

function mod(a: bigint, m = P): bigint {
  const r = a % m
  return r < 0n ? r + m : r
}

function pow(b: bigint, e: bigint): bigint {
  let r = 1n
  let x = mod(b)
  while (e > 0n) {
    if (e & 1n) r = (r * x) % P
    x = (x * x) % P
    e >>= 1n
  }
  return r
}

function inv(a: bigint): bigint {
  return pow(a, P - 2n)
}

/** Point addition in extended coordinates (a = -1); also doubles. */
function add(p: Point, q: Point): Point {
  const a = mod((p[1] - p[0]) * (q[1] - q[0]))
  const b = mod((p[1] + p[0]) * (q[1] + q[0]))
  const c = mod(p[3] * D2 * q[3])
  const d = mod(2n * p[2] * q[2])
  const e = b - a
  const f = d - c
  const g = d + c
  const h = b + a
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)]
}

function multiply(n: bigint, p: Point): Point {
  let r = ZERO
  let x = p
  while (n > 0n) {
    if (n & 1n) r = add(r, x)
    x = add(x, x)
    n >>= 1n
  }
  return r
}

function encodePoint(p: Point): Uint8Array {
  const zi = inv(p[2])
  const x = mod(p[0] * zi)
  const y = mod(p[1] * zi)
  const out = le32(y)
  if (x & 1n) out[31] |= 0x80
  return out
}

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

function leInt(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i])
  return n
}

function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

function scalarOf(expanded: Uint8Array): bigint {
  if (expanded.length !== 64) throw new RangeError('an expanded Ed25519 secret key is 64 bytes')
  return leInt(expanded.subarray(0, 32))
}

/** The public key of an expanded secret key. */
export function publicKeyFromExpanded(expanded: Uint8Array): Uint8Array {
  return encodePoint(multiply(scalarOf(expanded), BASE))
}

/** RFC 8032 Ed25519 signature of `message` with an expanded secret key (deterministic). */
export function signWithExpanded(expanded: Uint8Array, message: Uint8Array): Uint8Array {
  const a = scalarOf(expanded)
  const publicKey = encodePoint(multiply(a, BASE))
  const r = mod(leInt(sha512(expanded.subarray(32), message)), L)
  const R = encodePoint(multiply(r, BASE))
  const k = mod(leInt(sha512(R, publicKey, message)), L)
  const s = mod(r + k * a, L)
  const sig = new Uint8Array(64)
  sig.set(R)
  sig.set(le32(s), 32)
  return sig
}

/** A `Signer` over an expanded secret key. */
export function expandedSigner(expanded: Uint8Array): Signer {
  const key = expanded.slice()
  scalarOf(key)
  return (message) => signWithExpanded(key, message)
}
