// Incremental framer for the peer wire byte stream: feed it chunks of any size (down to one byte) and pull whole
// handshakes and messages out. The length prefix is an UNSIGNED 32-bit integer bounded by `maxFrame`: a prefix of
// 0x80000000 is an oversize frame, not a negative number or a keep-alive.
//
// Buffering never moves bytes that were already handed out, so the views inside decoded messages stay valid.
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
  private buf: Uint8Array = new Uint8Array(0)
  /** Whether `buf` is ours (allocated here) and may be appended to in place after `end`. */
  private owned = false
  private start = 0
  private end = 0
  private awaitingHandshake: boolean
  /** Total bytes consumed: offsets in errors are relative to the stream start. */
  private consumed = 0

  constructor(options: FramerOptions = {}) {
    this.maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME
    this.awaitingHandshake = options.handshake ?? true
  }

  /** Bytes received but not yet returned as an item. */
  get buffered(): number {
    return this.end - this.start
  }

  /** Appends a chunk. The framer keeps a reference: do not modify `chunk` afterwards. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    const have = this.end - this.start
    if (have === 0) {
      this.buf = chunk
      this.owned = false
      this.start = 0
      this.end = chunk.length
      return
    }
    if (this.owned && this.end + chunk.length <= this.buf.length) {
      this.buf.set(chunk, this.end)
      this.end += chunk.length
      return
    }
    // Grow into a fresh buffer: views already handed out keep pointing at the old one, untouched.
    const size = Math.max(4096, 2 * (have + chunk.length))
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(this.start, this.end), 0)
    next.set(chunk, have)
    this.buf = next
    this.owned = true
    this.start = 0
    this.end = have + chunk.length
  }

  /**
   * Returns the next complete item, or `undefined` when more bytes are needed. Throws `CodecError` on a bad
   * handshake, an oversize length or a message of the wrong size; after a throw the stream is unusable.
   */
  next(): FramerItem | undefined {
    const have = this.end - this.start
    if (this.awaitingHandshake) {
      // Check the prefix as soon as bytes arrive, so a non-BitTorrent stream fails before 68 bytes come in.
      checkProtocolPrefix(this.buf, this.start, this.end)
      if (have < HANDSHAKE_LENGTH) return undefined
      const handshake = decodeHandshake(this.buf.subarray(this.start, this.start + HANDSHAKE_LENGTH))
      this.advance(HANDSHAKE_LENGTH)
      this.awaitingHandshake = false
      return { kind: 'handshake', handshake }
    }
    if (have < 4) return undefined
    const b = this.buf
    const s = this.start
    const length = (b[s] * 0x1000000 + ((b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3])) >>> 0
    if (length > this.maxFrame) {
      throw new CodecError(
        'LENGTH_OVERFLOW',
        `frame length ${length} exceeds the maximum ${this.maxFrame}`,
        this.consumed,
      )
    }
    if (have < 4 + length) return undefined
    const body = b.subarray(s + 4, s + 4 + length)
    const at = this.consumed
    this.advance(4 + length)
    try {
      return { kind: 'message', message: decodeMessage(body) }
    } catch (err) {
      if (err instanceof CodecError)
        throw new CodecError(err.code, err.message.replace(/ \(at byte \d+\)$/, ''), at + 4 + Math.max(0, err.offset))
      throw err
    }
  }

  private advance(n: number): void {
    this.start += n
    this.consumed += n
    if (this.start === this.end) {
      // Empty: drop the reference so a large buffer can be collected; the next push adopts its chunk.
      this.buf = new Uint8Array(0)
      this.owned = false
      this.start = 0
      this.end = 0
    }
  }
}
