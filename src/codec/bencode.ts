// Bencode (BEP 3). Strict by default: the canonical form is the only accepted form, so a value has one encoding
// and signatures over re-encoded data (BEP 44) stay valid. A lenient mode reads other clients' sloppy output.
import { CodecError } from './errors.js'

/** A decoded value. Byte strings stay bytes; integers past 2^53 come back as `bigint`. */
export type BValue = number | bigint | Uint8Array | BValue[] | BDict
/** A decoded dictionary: a null-prototype object whose keys are the raw key bytes as latin1 (one char per byte). */
export interface BDict {
  [key: string]: BValue
}

/** What `encode` accepts: decoded values, plus JS strings (encoded as UTF-8) and dicts with `undefined` holes. */
export type BEncodable =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly BEncodable[]
  | { readonly [key: string]: BEncodable | undefined }

export interface DecodeOptions {
  /** Reject non-canonical input (leading zeros, `-0`, unsorted or duplicate keys). Default `true`. */
  strict?: boolean
  /** Deepest nesting of lists and dicts. Default 32. */
  maxDepth?: number
  /** Most values (of any kind) in one document. Default unlimited. */
  maxItems?: number
}

const COLON = 0x3a
const MINUS = 0x2d
const CH_0 = 0x30
const CH_9 = 0x39
const CH_D = 0x64
const CH_E = 0x65
const CH_I = 0x69
const CH_L = 0x6c

class Decoder {
  pos: number
  items = 0
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly strict: boolean,
    readonly maxDepth: number,
    readonly maxItems: number,
  ) {
    this.pos = start
  }

  fail(code: ConstructorParameters<typeof CodecError>[0], message: string, at = this.pos): never {
    throw new CodecError(code, message, at)
  }

  value(depth: number): BValue {
    const buf = this.buf
    if (this.pos >= buf.length) this.fail('TRUNCATED', 'bencode: input ended where a value was expected')
    if (++this.items > this.maxItems) this.fail('TOO_MANY_ITEMS', `bencode: more than ${this.maxItems} values`)
    const c = buf[this.pos]
    if (c >= CH_0 && c <= CH_9) return this.bytes()
    if (c === CH_I) return this.integer()
    if (c === CH_L || c === CH_D) {
      if (depth >= this.maxDepth) this.fail('TOO_DEEP', `bencode: nesting deeper than ${this.maxDepth}`)
      return c === CH_L ? this.list(depth + 1) : this.dict(depth + 1)
    }
    if (c === MINUS) this.fail('NEGATIVE_LENGTH', 'bencode: negative string length')
    return this.fail('UNEXPECTED_BYTE', `bencode: unexpected byte 0x${c.toString(16).padStart(2, '0')}`)
  }

  /** Reads `<len>:` and returns the length; leaves `pos` at the first content byte. */
  length(): number {
    const buf = this.buf
    const start = this.pos
    let n = 0
    let i = start
    for (; i < buf.length; i++) {
      const c = buf[i]
      if (c === COLON) break
      if (c < CH_0 || c > CH_9) this.fail('UNEXPECTED_BYTE', 'bencode: bad string length', i)
      n = n * 10 + (c - CH_0)
      // Any length past the end is an error; stopping here also keeps `n` a small exact integer.
      if (n > buf.length) this.fail('LENGTH_OVERFLOW', 'bencode: string length past the end of input', start)
    }
    if (i >= buf.length) this.fail('TRUNCATED', 'bencode: input ended inside a string length', i)
    if (this.strict && buf[start] === CH_0 && i - start > 1) {
      this.fail('LEADING_ZERO', 'bencode: leading zero in string length', start)
    }
    this.pos = i + 1
    if (this.pos + n > buf.length) this.fail('LENGTH_OVERFLOW', 'bencode: string length past the end of input', start)
    return n
  }

  bytes(): Uint8Array {
    const n = this.length()
    const s = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return s
  }

  integer(): number | bigint {
    const buf = this.buf
    const start = ++this.pos
    let i = start
    let neg = false
    if (buf[i] === MINUS) {
      neg = true
      i++
    }
    const digits = i
    let n = 0
    for (; i < buf.length; i++) {
      const c = buf[i]
      if (c === CH_E) break
      if (c < CH_0 || c > CH_9) this.fail('UNEXPECTED_BYTE', 'bencode: bad integer', i)
      n = n * 10 + (c - CH_0)
    }
    if (i >= buf.length) this.fail('TRUNCATED', 'bencode: input ended inside an integer', i)
    const nd = i - digits
    if (nd === 0) this.fail('UNEXPECTED_BYTE', 'bencode: integer without digits', start)
    if (this.strict) {
      if (buf[digits] === CH_0 && nd > 1) this.fail('LEADING_ZERO', 'bencode: leading zero in integer', start)
      if (neg && buf[digits] === CH_0) this.fail('LEADING_ZERO', 'bencode: negative zero', start)
    }
    this.pos = i + 1
    if (nd <= 15) return neg ? (n === 0 ? 0 : -n) : n
    let big = 0n
    for (let j = digits; j < i; j++) big = big * 10n + BigInt(buf[j] - CH_0)
    if (neg) big = -big
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
  }

  list(depth: number): BValue[] {
    const buf = this.buf
    this.pos++
    const out: BValue[] = []
    while (true) {
      if (this.pos >= buf.length) this.fail('TRUNCATED', 'bencode: input ended inside a list')
      if (buf[this.pos] === CH_E) {
        this.pos++
        return out
      }
      out.push(this.value(depth))
    }
  }

  dict(depth: number): BDict {
    const buf = this.buf
    this.pos++
    const out: BDict = Object.create(null)
    let prevStart = -1
    let prevEnd = -1
    while (true) {
      if (this.pos >= buf.length) this.fail('TRUNCATED', 'bencode: input ended inside a dictionary')
      const c = buf[this.pos]
      if (c === CH_E) {
        this.pos++
        return out
      }
      if (c < CH_0 || c > CH_9) this.fail('UNEXPECTED_BYTE', 'bencode: dictionary key is not a string')
      const keyAt = this.pos
      if (++this.items > this.maxItems) this.fail('TOO_MANY_ITEMS', `bencode: more than ${this.maxItems} values`)
      const n = this.length()
      const ks = this.pos
      const ke = ks + n
      this.pos = ke
      let key = ''
      for (let j = ks; j < ke; j++) key += String.fromCharCode(buf[j])
      if (prevStart >= 0) {
        const cmp = compareRange(buf, prevStart, prevEnd, ks, ke)
        if (cmp === 0) {
          if (this.strict) this.fail('DUPLICATE_KEY', 'bencode: duplicate dictionary key', keyAt)
        } else if (cmp > 0 && this.strict) {
          this.fail('UNSORTED_KEYS', 'bencode: dictionary keys not sorted', keyAt)
        }
      }
      prevStart = ks
      prevEnd = ke
      const v = this.value(depth)
      // Lenient mode keeps the first of duplicate keys, as libtorrent's lookups do.
      if (!(key in out)) out[key] = v
    }
  }
}

function compareRange(buf: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0)
  for (let i = 0; i < n; i++) {
    const d = buf[a0 + i] - buf[b0 + i]
    if (d !== 0) return d
  }
  return a1 - a0 - (b1 - b0)
}

/**
 * Decodes exactly one bencoded value that spans the whole input. Byte strings in the result are views into
 * `buf` (no copy): copy them if `buf` will be reused.
 */
export function decode(buf: Uint8Array, options: DecodeOptions = {}): BValue {
  const { value, end } = decodePrefix(buf, 0, options)
  if (end !== buf.length) throw new CodecError('TRAILING_BYTES', 'bencode: trailing bytes after value', end)
  return value
}

/** Decodes one value starting at `start`; returns it and the offset just past it. Trailing bytes are allowed. */
export function decodePrefix(buf: Uint8Array, start = 0, options: DecodeOptions = {}): { value: BValue; end: number } {
  const d = new Decoder(
    buf,
    start,
    options.strict ?? true,
    options.maxDepth ?? 32,
    options.maxItems ?? Number.POSITIVE_INFINITY,
  )
  const value = d.value(0)
  return { value, end: d.pos }
}

// ---- encoder -------------------------------------------------------------------------------------------------

// One scratch buffer reused by every call: an encode costs one allocation (the result) in the common case.
let scratch = new Uint8Array(4096)

class Encoder {
  pos = 0
  buf = scratch

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  ascii(s: string): void {
    this.reserve(s.length)
    const buf = this.buf
    let p = this.pos
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i)
    this.pos = p
  }

  raw(b: Uint8Array): void {
    this.reserve(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  byteString(b: Uint8Array): void {
    this.ascii(`${b.length}:`)
    this.raw(b)
  }

  text(s: string): void {
    let ascii = true
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false
        break
      }
    }
    if (!ascii) return this.byteString(new TextEncoder().encode(s))
    this.ascii(`${s.length}:`)
    this.ascii(s)
  }

  key(k: string): void {
    for (let i = 0; i < k.length; i++) {
      if (k.charCodeAt(i) > 0xff)
        throw new CodecError('NOT_ENCODABLE', `bencode: dictionary key ${JSON.stringify(k)} is not latin1`)
    }
    this.ascii(`${k.length}:`)
    this.ascii(k)
  }

  value(v: BEncodable, depth: number): void {
    if (depth > 64) throw new CodecError('NOT_ENCODABLE', 'bencode: value nested deeper than 64 (a cycle?)')
    if (v instanceof Uint8Array) return this.byteString(v)
    switch (typeof v) {
      case 'string':
        return this.text(v)
      case 'number':
        if (!Number.isSafeInteger(v)) throw new CodecError('NOT_ENCODABLE', `bencode: ${v} is not a safe integer`)
        return this.ascii(`i${v}e`)
      case 'bigint':
        return this.ascii(`i${v}e`)
      case 'object': {
        if (v === null) break
        if (Array.isArray(v)) {
          this.ascii('l')
          for (const item of v as readonly BEncodable[]) this.value(item, depth + 1)
          return this.ascii('e')
        }
        const d = v as { readonly [key: string]: BEncodable | undefined }
        const keys = Object.keys(d).sort()
        this.ascii('d')
        for (const k of keys) {
          const item = d[k]
          if (item === undefined) continue
          this.key(k)
          this.value(item, depth + 1)
        }
        return this.ascii('e')
      }
    }
    throw new CodecError('NOT_ENCODABLE', `bencode: cannot encode a value of type ${v === null ? 'null' : typeof v}`)
  }
}

/** Encodes canonically: dict keys sorted as raw bytes, `undefined` dict entries skipped. */
export function encode(value: BEncodable): Uint8Array {
  const e = new Encoder()
  e.value(value, 0)
  if (e.buf !== scratch && e.buf.length <= 1 << 20) scratch = e.buf // keep a grown buffer, but not a huge one
  return e.buf.slice(0, e.pos)
}

export const bencode = { encode, decode, decodePrefix }
