// Incremental framer for the peer wire byte stream: feed it chunks of any size (down to one byte) and pull whole
// handshakes and messages out. The length prefix is an UNSIGNED 32-bit integer bounded by `maxFrame`: a prefix of
// 0x80000000 is an oversize frame, not a negative number or a keep-alive.
//
// Chunks are kept as they arrive: a message inside one chunk is a view into it (no copy); only a message that
// straddles chunks is copied, once, into a buffer of exactly its size. Views handed out are never overwritten.
import { CodecError } from './errors.js'
import type { Handshake, PeerMessage } from './peer-wire.js'
import {
  checkProtocolPrefix,
  DEFAULT_MAX_FRAME,
  decodeHandshake,
  decodeMessage,
  HANDSHAKE_LENGTH,
} from './peer-wire.js'

export interface FramerOptions {
  /** Largest accepted length prefix (bytes after the prefix). Default `DEFAULT_MAX_FRAME` (1 MiB). */
  maxFrame?: number
  /** Whether the stream starts with a 68-byte handshake. Default `true`. */
  handshake?: boolean
}

export type FramerItem = { kind: 'handshake'; handshake: Handshake } | { kind: 'message'; message: PeerMessage }

export class WireFramer {
  readonly maxFrame: number
  /** Received chunks not fully consumed; the first is read from `offset`. */
  private readonly chunks: Uint8Array[] = []
  private offset = 0
  private total = 0
  private awaitingHandshake: boolean
  /** Total bytes consumed: offsets in errors are relative to the stream start. */
  private consumed = 0

  constructor(options: FramerOptions = {}) {
    this.maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME
    this.awaitingHandshake = options.handshake ?? true
  }

  /** Bytes received but not yet returned as an item. */
  get buffered(): number {
    return this.total
  }

  /** Appends a chunk. The framer keeps a reference (no copy): do not modify `chunk` afterwards. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.total += chunk.length
  }

  /**
   * Returns the next complete item, or `undefined` when more bytes are needed. Throws `CodecError` on a bad
   * handshake, an oversize length or a message of the wrong size; after a throw the stream is unusable.
   */
  next(): FramerItem | undefined {
    if (this.awaitingHandshake) {
      // Check the prefix as soon as bytes arrive, so a non-BitTorrent stream fails before 68 bytes come in.
      const n = Math.min(this.total, 20)
      const prefix = n > 0 ? this.peek(n) : new Uint8Array(0)
      checkProtocolPrefix(prefix)
      if (this.total < HANDSHAKE_LENGTH) return undefined
      const handshake = decodeHandshake(this.take(HANDSHAKE_LENGTH))
      this.awaitingHandshake = false
      return { kind: 'handshake', handshake }
    }
    if (this.total < 4) return undefined
    const p = this.peek(4)
    const length = (p[0] * 0x1000000 + ((p[1] << 16) | (p[2] << 8) | p[3])) >>> 0
    if (length > this.maxFrame) {
      throw new CodecError(
        'LENGTH_OVERFLOW',
        `frame length ${length} exceeds the maximum ${this.maxFrame}`,
        this.consumed,
      )
    }
    if (this.total < 4 + length) return undefined
    const at = this.consumed
    this.take(4)
    const body = this.take(length)
    try {
      return { kind: 'message', message: decodeMessage(body) }
    } catch (err) {
      if (err instanceof CodecError) {
        throw new CodecError(err.code, err.message.replace(/ \(at byte \d+\)$/, ''), at + 4 + Math.max(0, err.offset))
      }
      throw err
    }
  }

  /** The next `n` bytes without consuming them (a view when they sit in one chunk). `n <= total`. */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0]
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n)
    return this.gather(n, false)
  }

  /** Consumes `n` bytes (`n <= total`): a view into a chunk when possible, else a copy of exactly `n` bytes. */
  private take(n: number): Uint8Array {
    this.total -= n
    this.consumed += n
    const first = this.chunks[0]
    if (n === 0) return new Uint8Array(0)
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n)
      this.offset += n
      if (this.offset === first.length) {
        this.chunks.shift()
        this.offset = 0
      }
      return out
    }
    return this.gather(n, true)
  }

  private gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    let i = 0
    let off = this.offset
    while (filled < n) {
      const c = this.chunks[i]
      const k = Math.min(n - filled, c.length - off)
      out.set(c.subarray(off, off + k), filled)
      filled += k
      off += k
      if (off === c.length) {
        i++
        off = 0
      }
    }
    if (consume) {
      this.chunks.splice(0, i)
      this.offset = off
    }
    return out
  }
}
