// The exact bytes of one value inside a bencoded message, found by its key path. BEP 44 signs the bencoded `v`
// exactly as it was received (libtorrent uses the wire span; re-encoding a value sent in non-canonical form would
// change the bytes and break the signature), so a node handling `put` needs the span, not a re-encoding.
import { decodePrefix } from './bencode.js'
import { CodecError } from './errors.js'

export interface SpanOptions {
  /** Deepest nesting accepted while skipping values. Default 16. */
  maxDepth?: number
}

/** Byte length of the string key at `pos` (a `<len>:` prefix), and where its content starts. */
function readKey(buf: Uint8Array, pos: number): { start: number; end: number } {
  let n = 0
  let i = pos
  for (; i < buf.length; i++) {
    const c = buf[i]
    if (c === 0x3a) break
    if (c < 0x30 || c > 0x39) throw new CodecError('UNEXPECTED_BYTE', 'bencode: dictionary key is not a string', i)
    n = n * 10 + (c - 0x30)
    if (n > buf.length) throw new CodecError('LENGTH_OVERFLOW', 'bencode: string length past the end of input', pos)
  }
  if (i === pos || i >= buf.length) throw new CodecError('TRUNCATED', 'bencode: input ended inside a string length', i)
  const start = i + 1
  if (start + n > buf.length)
    throw new CodecError('LENGTH_OVERFLOW', 'bencode: string length past the end of input', pos)
  return { start, end: start + n }
}

function keyIs(buf: Uint8Array, start: number, end: number, key: string): boolean {
  if (end - start !== key.length) return false
  for (let i = 0; i < key.length; i++) if (buf[start + i] !== key.charCodeAt(i)) return false
  return true
}

/**
 * The encoded bytes (a view into `buf`) of the value at `path`, e.g. `rawSpan(packet, ['a', 'v'])` for a BEP 44
 * put's `v`. Each path step is a dictionary key (latin1); the first occurrence of a key wins. `undefined` when a
 * key is missing or a step is not a dictionary; `CodecError` when the bytes on the way are not valid bencode.
 */
export function rawSpan(buf: Uint8Array, path: readonly string[], options: SpanOptions = {}): Uint8Array | undefined {
  const maxDepth = options.maxDepth ?? 16
  let pos = 0
  let end = buf.length
  for (let depth = 0; depth < path.length; depth++) {
    if (buf[pos] !== 0x64) return undefined // not a dictionary
    pos++
    let found = -1
    while (found < 0) {
      if (pos >= end) throw new CodecError('TRUNCATED', 'bencode: input ended inside a dictionary', pos)
      if (buf[pos] === 0x65) return undefined // end of dictionary: key not present
      const k = readKey(buf, pos)
      const valueStart = k.end
      const { end: valueEnd } = decodePrefix(buf, valueStart, {
        strict: false,
        maxDepth: Math.max(maxDepth - depth, 0),
      })
      if (keyIs(buf, k.start, k.end, path[depth])) {
        found = valueStart
        end = valueEnd
      }
      pos = valueEnd
    }
    pos = found
  }
  return buf.subarray(pos, end)
}
