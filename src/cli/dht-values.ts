// BEP 44 values on the command line: what `dht put` reads from its argument and how `dht get` shows what it found.
// A value is any bencoded thing of 1–1000 bytes; most people store a string, so that is the default both ways.
import { type BValue, decode, encode } from '../codec/bencode.js'
import { BEP44_MAX_SEQ, BEP44_MAX_VALUE_LENGTH } from '../codec/bep44.js'
import { fromHex, toHex } from '../codec/bytes.js'
import { quote, UsageError } from './output.js'

/**
 * The value `put` stores, as its bencoding. `text` (default): the argument is a string, stored as a bencoded byte
 * string of its UTF-8. `hex`: the argument is the bytes of that string in hex. `raw`: the argument is the bencoding
 * itself (`d3:fooi1ee`), or with `hex` too, the bencoding's bytes in hex. A raw value must be canonical bencode,
 * since every node hashes and signs exactly those bytes.
 */
export function valueFromArgument(arg: string, opts: { raw?: boolean; hex?: boolean }): Uint8Array {
  let bytes: Uint8Array
  if (opts.hex) {
    const b = /^([0-9a-fA-F]{2})*$/.test(arg) ? fromHex(arg) : undefined
    if (!b) throw new UsageError(`--hex: the value must be hex digits, got ${quote(arg)}`)
    bytes = b
  } else bytes = new TextEncoder().encode(arg)
  let v = bytes
  if (opts.raw) {
    try {
      encode(decode(bytes)) // strict: canonical and one value, nothing after it
    } catch (err) {
      throw new UsageError(`--raw: the value is not canonical bencode (${(err as Error).message})`)
    }
  } else v = encode(bytes)
  if (v.length > BEP44_MAX_VALUE_LENGTH) {
    throw new UsageError(`the value is ${v.length} bytes bencoded; BEP 44 allows ${BEP44_MAX_VALUE_LENGTH}`)
  }
  return v
}

/** How a found value is shown: `text` (a byte string that is printable UTF-8), `bencode` (another value whose
 * bencoding is printable, e.g. `li1ei2ee`), or `hex` (the bytes of a byte string, or of the bencoding). */
export type ValueFormat = 'text' | 'bencode' | 'hex'

export interface ShownValue {
  format: ValueFormat
  value: string
}

/** Printable: valid UTF-8 with no control characters other than tab and line breaks. */
export function printable(bytes: Uint8Array): string | undefined {
  let s: string
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s) ? undefined : s
}

/** `v` (a bencoded value as received) shown as text when printable, hex otherwise. */
export function showValue(v: Uint8Array): ShownValue {
  let value: BValue | undefined
  try {
    value = decode(v)
  } catch {
    value = undefined
  }
  if (value instanceof Uint8Array) {
    const text = printable(value)
    return text === undefined ? { format: 'hex', value: toHex(value) } : { format: 'text', value: text }
  }
  const text = value === undefined ? undefined : printable(v)
  return text === undefined ? { format: 'hex', value: toHex(v) } : { format: 'bencode', value: text }
}

/** `--seq N` / `--cas N`: a BEP 44 sequence number, 0 … 2^63 − 1. */
export function seqOption(v: unknown, name: string): bigint | undefined {
  if (v === undefined) return undefined
  const s = String(v)
  if (!/^\d{1,19}$/.test(s) || BigInt(s) > BEP44_MAX_SEQ) {
    throw new UsageError(`${name} must be an integer 0..2^63-1, got ${quote(s)}`)
  }
  return BigInt(s)
}

/** A sequence number for JSON: a number while it is exact, else its decimal string. */
export function seqJson(seq: bigint): number | string {
  return seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : seq.toString()
}
