// The fast path of the KRPC parser: walks the bencoded bytes directly, matching known keys byte by byte (no key
// strings, no intermediate dictionaries) and taking byte strings as views. Anything it does not know is handed to
// the generic lenient decoder, so unknown keys survive. Structural errors throw CodecError like the decoder does.
import { type BValue, decodePrefix } from './bencode.js'
import { latin1 } from './bytes.js'
import { CodecError, type CodecErrorCode } from './errors.js'
import {
  F_BFPE,
  F_BFSD,
  F_CAS,
  F_ID,
  F_IMPLIED_PORT,
  F_INFO_HASH,
  F_INTERVAL,
  F_K,
  F_NODES,
  F_NODES6,
  F_NOSEED,
  F_NUM,
  F_PORT,
  F_SALT,
  F_SAMPLES,
  F_SCRAPE,
  F_SEED,
  F_SEQ,
  F_SIG,
  F_TARGET,
  F_TOKEN,
  F_V,
  F_VALUES,
  F_WANT,
  FIELDS,
  Kind,
  type Slots,
} from './krpc-schema.js'

const CH_0 = 0x30
const CH_9 = 0x39
const COLON = 0x3a
const CH_D = 0x64
const CH_E = 0x65
const CH_I = 0x69
const CH_L = 0x6c
const MINUS = 0x2d

function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i)
  return b
}
const K_TARGET = ascii('target')
const K_NODES6 = ascii('nodes6')
const K_VALUES = ascii('values')
const K_NODES = ascii('nodes')
const K_TOKEN = ascii('token')
const K_INFO_HASH = ascii('info_hash')
const K_IMPLIED_PORT = ascii('implied_port')
const K_SCRAPE = ascii('scrape')
const K_NOSEED = ascii('noseed')
const K_SAMPLES = ascii('samples')
const K_INTERVAL = ascii('interval')

/** A dictionary's slots plus its unknown keys, reused from parse to parse. */
export class DictSlots implements Slots {
  readonly v: unknown[] = new Array(FIELDS.length).fill(undefined)
  present = 0
  bad = 0
  /** Unknown keys in wire order, as [key, value] pairs; null when there are none. */
  extras: [string, BValue][] | null = null

  reset(): void {
    const p = this.present
    if (p !== 0) for (let f = 0; f < FIELDS.length; f++) if (p & (1 << f)) this.v[f] = undefined
    this.present = 0
    this.bad = 0
    this.extras = null
  }
}

/** The scanner's cursor. One instance is reused: parsing is synchronous and never re-entered. */
export class Scanner {
  buf: Uint8Array = new Uint8Array(0)
  /** `buf.buffer` and `buf.byteOffset`, cached: reading them per view costs more than the view itself. */
  ab: ArrayBufferLike = this.buf.buffer
  off = 0
  pos = 0
  end = 0
  /** Bounds for values decoded generically (unknown keys and their nesting). */
  maxDepth = 16
  maxItems = 1024

  start(buf: Uint8Array): void {
    this.buf = buf
    this.ab = buf.buffer
    this.off = buf.byteOffset
    this.pos = 0
    this.end = buf.length
  }

  /** Drops the reference to the packet so a long-lived scanner does not keep it alive. */
  release(): void {
    this.buf = EMPTY
    this.ab = EMPTY.buffer
  }

  fail(code: CodecErrorCode, message: string, at = this.pos): never {
    throw new CodecError(code, `bencode: ${message}`, at)
  }

  /** A view of `n` bytes at `s`: always a plain Uint8Array, even when the packet is a Node buffer. */
  view(s: number, n: number): Uint8Array {
    return new Uint8Array(this.ab, this.off + s, n)
  }

  /** At a digit: reads `<len>:` and returns the length, leaving `pos` at the first content byte. */
  length(): number {
    const b = this.buf
    const end = this.end
    const start = this.pos
    let i = start
    let n = 0
    for (;;) {
      if (i >= end) this.fail('TRUNCATED', 'input ended inside a string length', i)
      const c = b[i]
      if (c === COLON) break
      if (c < CH_0 || c > CH_9) this.fail('UNEXPECTED_BYTE', 'bad string length', i)
      n = n * 10 + (c - CH_0)
      if (n > end) this.fail('LENGTH_OVERFLOW', 'string length past the end of input', start)
      i++
    }
    if (i === start) this.fail('UNEXPECTED_BYTE', 'bad string length', i)
    this.pos = i + 1
    if (this.pos + n > end) this.fail('LENGTH_OVERFLOW', 'string length past the end of input', start)
    return n
  }

  /** At a digit: a byte string as a view. */
  bytes(): Uint8Array {
    const n = this.length()
    const s = this.pos
    this.pos = s + n
    return this.view(s, n)
  }

  /** At 'i': an integer (lenient about leading zeros; more than 15 digits loses precision, fine for checks). */
  int(): number {
    const b = this.buf
    const end = this.end
    let i = this.pos + 1
    let neg = false
    if (i < end && b[i] === MINUS) {
      neg = true
      i++
    }
    const digits = i
    let n = 0
    for (;;) {
      if (i >= end) this.fail('TRUNCATED', 'input ended inside an integer', i)
      const c = b[i]
      if (c === CH_E) break
      if (c < CH_0 || c > CH_9) this.fail('UNEXPECTED_BYTE', 'bad integer', i)
      n = n * 10 + (c - CH_0)
      i++
    }
    if (i === digits) this.fail('UNEXPECTED_BYTE', 'integer without digits', i)
    this.pos = i + 1
    return neg ? -n : n
  }

  /** At 'i': an integer, exactly, as a bigint (lenient about leading zeros like `int`). */
  int64(): bigint {
    const b = this.buf
    const end = this.end
    const start = this.pos + 1
    let i = start
    if (i < end && b[i] === MINUS) i++
    const digits = i
    for (;;) {
      if (i >= end) this.fail('TRUNCATED', 'input ended inside an integer', i)
      const c = b[i]
      if (c === CH_E) break
      if (c < CH_0 || c > CH_9) this.fail('UNEXPECTED_BYTE', 'bad integer', i)
      i++
    }
    if (i === digits) this.fail('UNEXPECTED_BYTE', 'integer without digits', i)
    // Longer than any int64 (with leading zeros at most a few): refuse before building a huge bigint.
    if (i - digits > 40) this.fail('INTEGER_OVERFLOW', 'integer too long', start)
    this.pos = i + 1
    return BigInt(latin1(b, start, i))
  }

  /** Any value, decoded generically (lenient) within the depth and item bounds. */
  generic(depth: number): BValue {
    if (this.pos >= this.end) this.fail('TRUNCATED', 'input ended where a value was expected')
    let r: { value: BValue; end: number }
    try {
      r = decodePrefix(this.buf, this.pos, {
        strict: false,
        maxDepth: Math.max(this.maxDepth - depth, 0),
        maxItems: this.maxItems,
      })
    } catch (e) {
      // The decoder counts depth from this value; report the message's own limit.
      if (e instanceof CodecError && e.code === 'TOO_DEEP')
        this.fail('TOO_DEEP', `nesting deeper than ${this.maxDepth}`, e.offset)
      throw e
    }
    this.pos = r.end
    return r.value
  }

  /** At 'l': a `values` list. Byte strings of 6 or 18 bytes are kept, others skipped. */
  peers(depth: number): Uint8Array[] {
    const b = this.buf
    const end = this.end
    const ab = this.ab
    const off = this.off
    const out: Uint8Array[] = []
    let p = this.pos + 1
    for (;;) {
      if (p >= end) this.fail('TRUNCATED', 'input ended inside a list', p)
      const c = b[p]
      if (c === CH_E) break
      // Fast path for the two lengths that matter: "6:" and "18:".
      if (c === 0x36 && b[p + 1] === COLON) {
        if (p + 8 > end) this.fail('LENGTH_OVERFLOW', 'string length past the end of input', p)
        out.push(new Uint8Array(ab, off + p + 2, 6))
        p += 8
        continue
      }
      if (c === 0x31 && b[p + 1] === 0x38 && b[p + 2] === COLON) {
        if (p + 21 > end) this.fail('LENGTH_OVERFLOW', 'string length past the end of input', p)
        out.push(new Uint8Array(ab, off + p + 3, 18))
        p += 21
        continue
      }
      this.pos = p
      if (c >= CH_0 && c <= CH_9) {
        const n = this.length()
        if (n === 6 || n === 18) out.push(this.view(this.pos, n)) // written with leading zeros: lenient
        this.pos += n
      } else {
        this.generic(depth + 1) // not a byte string: skipped, but it must still be well formed
      }
      p = this.pos
    }
    this.pos = p + 1
    if (out.length > this.maxItems) this.fail('TOO_MANY_ITEMS', `more than ${this.maxItems} values`)
    return out
  }

  /** Which known `a`/`r` key the `n` bytes at `s` spell, or -1. */
  field(s: number, n: number): number {
    const b = this.buf
    switch (n) {
      case 1:
        return b[s] === 0x76 ? F_V : b[s] === 0x6b ? F_K : -1
      case 2:
        return b[s] === 0x69 && b[s + 1] === 0x64 ? F_ID : -1
      case 3:
        return this.field3(s)
      case 4:
        if (b[s] === 0x70 && b[s + 1] === 0x6f && b[s + 2] === 0x72 && b[s + 3] === 0x74) return F_PORT
        if (b[s] === 0x77 && b[s + 1] === 0x61 && b[s + 2] === 0x6e && b[s + 3] === 0x74) return F_WANT
        return this.field4(s)
      case 5:
        if (this.is(s, K_NODES)) return F_NODES
        if (this.is(s, K_TOKEN)) return F_TOKEN
        return -1
      case 6:
        if (this.is(s, K_VALUES)) return F_VALUES
        if (this.is(s, K_TARGET)) return F_TARGET
        if (this.is(s, K_NODES6)) return F_NODES6
        if (this.is(s, K_SCRAPE)) return F_SCRAPE
        if (this.is(s, K_NOSEED)) return F_NOSEED
        return -1
      case 7:
        return this.is(s, K_SAMPLES) ? F_SAMPLES : -1
      case 8:
        return this.is(s, K_INTERVAL) ? F_INTERVAL : -1
      case 9:
        return this.is(s, K_INFO_HASH) ? F_INFO_HASH : -1
      case 12:
        return this.is(s, K_IMPLIED_PORT) ? F_IMPLIED_PORT : -1
      default:
        return -1
    }
  }

  /** The 3-letter keys: `seq`, `sig`, `cas`, `num` (BEP 44, 51). */
  private field3(s: number): number {
    const b = this.buf
    const c0 = b[s]
    const c1 = b[s + 1]
    const c2 = b[s + 2]
    if (c0 === 0x73) {
      if (c1 === 0x65 && c2 === 0x71) return F_SEQ
      if (c1 === 0x69 && c2 === 0x67) return F_SIG
      return -1
    }
    if (c0 === 0x63 && c1 === 0x61 && c2 === 0x73) return F_CAS
    if (c0 === 0x6e && c1 === 0x75 && c2 === 0x6d) return F_NUM
    return -1
  }

  /** The other 4-letter keys: `salt`, `seed` (BEP 44, 33) and `BFsd`, `BFpe` (BEP 33). */
  private field4(s: number): number {
    const b = this.buf
    const c0 = b[s]
    const c1 = b[s + 1]
    const c2 = b[s + 2]
    const c3 = b[s + 3]
    if (c0 === 0x73) {
      if (c1 === 0x61 && c2 === 0x6c && c3 === 0x74) return F_SALT
      if (c1 === 0x65 && c2 === 0x65 && c3 === 0x64) return F_SEED
      return -1
    }
    if (c0 === 0x42 && c1 === 0x46) {
      if (c2 === 0x73 && c3 === 0x64) return F_BFSD
      if (c2 === 0x70 && c3 === 0x65) return F_BFPE
    }
    return -1
  }

  is(s: number, key: Uint8Array): boolean {
    const b = this.buf
    for (let i = 0; i < key.length; i++) if (b[s + i] !== key[i]) return false
    return true
  }

  /** At 'd': scans an `a` or `r` dictionary (at `depth`) into `slots`. Duplicate keys: the first one wins. */
  dict(slots: DictSlots, depth: number): void {
    if (depth > this.maxDepth) this.fail('TOO_DEEP', `nesting deeper than ${this.maxDepth}`)
    const b = this.buf
    this.pos++
    for (;;) {
      if (this.pos >= this.end) this.fail('TRUNCATED', 'input ended inside a dictionary')
      const c = b[this.pos]
      if (c === CH_E) {
        this.pos++
        return
      }
      if (c < CH_0 || c > CH_9) this.fail('UNEXPECTED_BYTE', 'dictionary key is not a string')
      const n = this.length()
      const ks = this.pos
      this.pos = ks + n
      if (this.pos >= this.end) this.fail('TRUNCATED', 'input ended where a value was expected')
      const f = this.field(ks, n)
      const bit = f < 0 ? 0 : 1 << f
      if (f < 0 || (slots.present & bit) !== 0) {
        const v = this.generic(depth + 1)
        if (f < 0) {
          if (slots.extras === null) slots.extras = []
          slots.extras.push([latin1(b, ks, ks + n), v])
        }
        continue
      }
      slots.present |= bit
      const t = b[this.pos]
      const kind = FIELDS[f].kind
      if (kind === Kind.Bytes && t >= CH_0 && t <= CH_9) slots.v[f] = this.bytes()
      else if (kind === Kind.Int && t === CH_I) slots.v[f] = this.int()
      else if (kind === Kind.Peers && t === CH_L) slots.v[f] = this.peers(depth + 1)
      else if (kind === Kind.List && t === CH_L) slots.v[f] = this.generic(depth + 1)
      else if (kind === Kind.Raw) {
        const start = this.pos
        this.generic(depth + 1)
        slots.v[f] = this.view(start, this.pos - start)
      } else if (kind === Kind.Int64 && t === CH_I) slots.v[f] = this.int64()
      else {
        slots.v[f] = this.generic(depth + 1)
        slots.bad |= bit
      }
    }
  }
}

const EMPTY = new Uint8Array(0)

export { CH_0, CH_9, CH_D, CH_E, CH_I, CH_L }
