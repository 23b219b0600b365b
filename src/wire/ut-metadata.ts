// BEP 9 on one connection (`conn.utMetadata`). Serving: with the torrent's info dictionary (`source`) we advertise
// its size (`localSize`, sent as `metadata_size`) and answer `request`s with `data`, under a per-peer token bucket;
// without it, or over the budget, we answer `reject`. A peer that keeps requesting far past its budget is closed.
// Fetching: `request(piece)` asks the peer; its answers come out as typed events, each checked against the size
// the peer announced, so an out-of-range or wrong-size piece is an `invalid` event, never bytes. Which pieces to ask
// for, and whom, is the fetcher's business (swarm/metadata-fetch.ts).
import { EventEmitter } from 'node:events'
import { CodecError } from '../codec/errors.js'
import {
  decodeUtMetadata,
  encodeUtMetadata,
  METADATA_PIECE_SIZE,
  metadataPieceCount,
  type UtMetadataMessage,
} from '../codec/ut-metadata.js'
import type { Clock } from '../net/types.js'
import { WireError } from './errors.js'
import type { ExtensionHost } from './extensions.js'

export const METADATA_EXTENSION = 'ut_metadata'

export interface UtMetadataOptions {
  /** Pieces a peer may fetch at once (the bucket's size). Default 128 (2 MiB). */
  burst?: number
  /** Pieces per second the bucket refills with. Default 32 (512 KiB/s per peer). */
  piecesPerSecond?: number
  /**
   * Requests we rejected within `floodWindow` before we close the connection: a peer that asks on regardless of
   * our rejects is only costing us. Default 1024.
   */
  maxRejectsPerWindow?: number
  /** The window for `maxRejectsPerWindow`, ms. Default 10 s. */
  floodWindow?: number
}

export type UtMetadataEvents = {
  /** A piece the peer sent (its length and `totalSize` agree with the peer's `metadata_size`). */
  data: [piece: number, bytes: Uint8Array, totalSize: number]
  /** The peer refused a piece. */
  reject: [piece: number]
  /** A message that breaks BEP 9 against what the peer announced: a piece out of range, of the wrong size… */
  invalid: [reason: string]
  /** We answered a request of the peer: with the piece (`served`) or a reject (`no_metadata`, `rate_limited`). */
  request: [piece: number, answer: 'served' | 'no_metadata' | 'rate_limited' | 'out_of_range']
}

/** What the extension needs beyond an extension host: the size the peer announced in its extended handshake. */
export interface UtMetadataHost extends ExtensionHost {
  readonly remoteExtended?: { metadataSize?: number } | undefined
}

export class UtMetadata extends EventEmitter<UtMetadataEvents> {
  /** The info dictionary we serve, when we have it (the swarm sets it). */
  source: (() => Uint8Array | undefined) | undefined
  readonly stats = { served: 0, rejected: 0, requested: 0, received: 0, rejectsReceived: 0, invalid: 0 }

  private readonly opts: Required<UtMetadataOptions>
  private tokens: number
  private refilledAt: number
  private readonly rejectedAt: number[] = []

  constructor(
    private readonly conn: UtMetadataHost,
    private readonly clock: Clock,
    options: UtMetadataOptions = {},
  ) {
    super()
    this.opts = {
      burst: options.burst ?? 128,
      piecesPerSecond: options.piecesPerSecond ?? 32,
      maxRejectsPerWindow: options.maxRejectsPerWindow ?? 1024,
      floodWindow: options.floodWindow ?? 10_000,
    }
    this.tokens = this.opts.burst
    this.refilledAt = clock.now()
    conn.handleExtension(METADATA_EXTENSION, (payload) => this.onPayload(payload))
  }

  /** The size we announce as `metadata_size`: that of the info dictionary we serve, if any. */
  get localSize(): number | undefined {
    const s = this.source?.()
    return s && s.length > 0 ? s.length : undefined
  }

  /** The peer advertised ut_metadata (so we may send it requests and answers). */
  get supported(): boolean {
    return this.conn.extensions.remoteSupports(METADATA_EXTENSION)
  }

  /** The `metadata_size` the peer announced (it has the metadata), if any. */
  get remoteSize(): number | undefined {
    const s = this.conn.remoteExtended?.metadataSize
    return s !== undefined && s > 0 ? s : undefined
  }

  /** Asks the peer for a piece. False when it does not speak ut_metadata or the connection is not open. */
  request(piece: number): boolean {
    if (!this.conn.isOpen) return false
    const sent = this.conn.sendExtended(METADATA_EXTENSION, encodeUtMetadata({ type: 'request', piece }))
    if (sent) this.stats.requested++
    return sent
  }

  private onPayload(payload: Uint8Array): void {
    let msg: UtMetadataMessage
    try {
      msg = decodeUtMetadata(payload)
      // Answers must fit the size the peer announced (requests are checked against ours in onRequest).
      const size = this.remoteSize
      if (msg.type === 'data' && size !== undefined && msg.totalSize !== size)
        throw new CodecError('BAD_VALUE', `ut_metadata: total_size ${msg.totalSize} differs from metadata_size ${size}`)
      if (msg.type === 'reject' && size !== undefined && msg.piece >= metadataPieceCount(size))
        throw new CodecError('BAD_VALUE', `ut_metadata: reject of piece ${msg.piece} out of range`)
    } catch (err) {
      if (!(err instanceof CodecError)) throw err
      // BEP 9: an unknown msg_type is ignored (a later revision may add one); every other fault is the peer's.
      if (err.message.includes('unknown msg_type')) {
        this.conn.countDrop('ut_metadata_unknown_type')
        return
      }
      this.stats.invalid++
      this.conn.countDrop('ut_metadata_invalid')
      this.emit('invalid', err.message)
      return
    }
    if (msg.type === 'request') this.onRequest(msg.piece)
    else if (msg.type === 'reject') {
      this.stats.rejectsReceived++
      this.emit('reject', msg.piece)
    } else {
      this.stats.received++
      this.emit('data', msg.piece, msg.data, msg.totalSize)
    }
  }

  private onRequest(piece: number): void {
    const info = this.source?.()
    let answer: UtMetadataEvents['request'][1] = 'served'
    if (!info || info.length === 0) answer = 'no_metadata'
    else if (piece >= metadataPieceCount(info.length)) answer = 'out_of_range'
    else if (!this.take()) answer = 'rate_limited'
    if (answer === 'served' && info) {
      const start = piece * METADATA_PIECE_SIZE
      const data = info.subarray(start, Math.min(info.length, start + METADATA_PIECE_SIZE))
      this.stats.served++
      this.conn.sendExtended(
        METADATA_EXTENSION,
        encodeUtMetadata({ type: 'data', piece, totalSize: info.length, data }),
      )
    } else {
      this.stats.rejected++
      this.noteReject()
      this.conn.sendExtended(METADATA_EXTENSION, encodeUtMetadata({ type: 'reject', piece }))
    }
    this.emit('request', piece, answer)
  }

  /** Takes a token from the bucket (refilled by elapsed time). */
  private take(): boolean {
    const now = this.clock.now()
    const { burst, piecesPerSecond } = this.opts
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) * piecesPerSecond) / 1000)
    this.refilledAt = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  private noteReject(): void {
    const now = this.clock.now()
    const times = this.rejectedAt
    while (times.length > 0 && now - times[0] >= this.opts.floodWindow) times.shift()
    times.push(now)
    if (times.length > this.opts.maxRejectsPerWindow) {
      throw new WireError(
        'METADATA_FLOOD',
        `more than ${this.opts.maxRejectsPerWindow} ut_metadata requests rejected in ${this.opts.floodWindow} ms`,
      )
    }
  }
}
