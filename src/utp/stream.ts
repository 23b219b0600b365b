// A uTP connection as a Node Duplex. Writes are held by reference and their callbacks run once the bytes are copied
// into packets, so memory per connection is bounded by the stream's high-water mark plus the congestion window;
// reads are back-pressured through the receive window we advertise (it shrinks by the unread bytes).
import { Duplex } from 'node:stream'
import type { Endpoint } from '../net/types.js'
import type { UtpConnection } from './connection.js'
import type { ConnectionHost } from './host.js'
import type { UtpError } from './options.js'

/** What a stream needs from its socket manager. */
export interface StreamOwner {
  now(): number
  /** Queues the connection for a flush at the end of the current I/O turn (one timer-free batch per turn). */
  schedule(conn: UtpConnection): void
  sendTo(packet: Uint8Array, to: Endpoint): void
  /** The connection closed: stop routing to it (after its linger time, if any). */
  release(stream: UtpStream): void
}

export interface UtpStreamOptions {
  /** Keep the writable side open after the peer's FIN. @default false (like net.Socket) */
  allowHalfOpen?: boolean
  /** Writable high-water mark, bytes. @default 1 MiB */
  writableHighWaterMark?: number
  /** Readable high-water mark, bytes. @default 256 KiB */
  readableHighWaterMark?: number
}

export class UtpStream extends Duplex implements ConnectionHost {
  /** Set right after construction by the socket manager. */
  conn!: UtpConnection
  /** The receive id the socket manager routes this stream by. */
  routeId = -1
  readonly remote: Endpoint
  readonly remoteAddress: string
  readonly remotePort: number
  readonly remoteFamily: 'IPv4' | 'IPv6'
  readonly localAddress: string
  readonly localPort: number
  /** True until the handshake completes (initiator) — like net.Socket#connecting. */
  connecting: boolean
  private readonly owner: StreamOwner
  private finalCb: ((err?: Error | null) => void) | null = null
  private pending: Uint8Array[] = []
  private pendingBytes = 0

  constructor(owner: StreamOwner, remote: Endpoint, local: Endpoint, initiator: boolean, opts: UtpStreamOptions = {}) {
    super({
      allowHalfOpen: opts.allowHalfOpen ?? false,
      writableHighWaterMark: opts.writableHighWaterMark ?? 1024 * 1024,
      readableHighWaterMark: opts.readableHighWaterMark ?? 256 * 1024,
    })
    this.owner = owner
    this.remote = remote
    this.remoteAddress = remote.host
    this.remotePort = remote.port
    this.remoteFamily = remote.host.includes(':') ? 'IPv6' : 'IPv4'
    this.localAddress = local.host
    this.localPort = local.port
    this.connecting = initiator
  }

  /** Re-sends the SYN at once while connecting (hole punching); see `UtpConnection.resendSyn`. */
  resendSyn(): boolean {
    return this.conn.resendSyn(this.owner.now())
  }

  /** Turns Nagle-like coalescing of small writes off (`true`) or on — as net.Socket#setNoDelay. */
  setNoDelay(noDelay = true): this {
    this.conn.opts.nagle = !noDelay
    return this
  }

  // ---- ConnectionHost ----

  send(packet: Uint8Array): void {
    this.owner.sendTo(packet, this.remote)
  }

  onConnect(): void {
    this.connecting = false
    this.emit('connect')
  }

  onData(payload: Uint8Array): void {
    // Held until the end of the batch of datagrams (onFlush), then pushed as one chunk: one stream operation and
    // one 'data' event per batch instead of per packet.
    this.pending.push(payload)
    this.pendingBytes += payload.byteLength
  }

  onFlush(): void {
    if (this.pendingBytes === 0) return
    const list = this.pending
    const chunk =
      list.length === 1
        ? Buffer.from(list[0].buffer, list[0].byteOffset, list[0].byteLength)
        : Buffer.concat(list, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    this.push(chunk)
  }

  onEnd(): void {
    this.onFlush()
    this.push(null)
  }

  onFinished(): void {
    const cb = this.finalCb
    this.finalCb = null
    cb?.()
  }

  onClose(err: UtpError | null): void {
    this.owner.release(this)
    if (err !== null) {
      const cb = this.finalCb
      this.finalCb = null
      if (cb) cb(err)
      else this.destroy(err)
    }
  }

  unreadBytes(): number {
    return this.readableLength + this.pendingBytes
  }

  // ---- Duplex ----

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.conn.write(chunk, cb)
    this.owner.schedule(this.conn)
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    const last = chunks.length - 1
    for (let i = 0; i < last; i++) this.conn.write(chunks[i].chunk, null)
    this.conn.write(chunks[last].chunk, cb)
    this.owner.schedule(this.conn)
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.conn.state === 'closed') {
      cb()
      return
    }
    this.finalCb = cb
    this.conn.end()
    this.owner.schedule(this.conn)
  }

  override _read(): void {
    this.conn.onRead()
    if (this.conn.wantsFlush) this.owner.schedule(this.conn)
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroyed before a graceful close finished: tell the peer with ST_RESET.
    if (this.conn.state !== 'closed') this.conn.destroy(this.owner.now())
    this.finalCb = null
    cb(err)
  }
}
