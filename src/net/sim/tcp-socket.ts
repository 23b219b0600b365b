// One simulated TCP connection as a Node Duplex: what a `PeerConnection` reads and writes in simulated worlds.
// The handshake is SYN, SYN-ACK, ACK (the connector re-sends its SYN on Linux's schedule). Flow control is a
// receive window: every segment carries the right edge of the sender's window (bytes its reader consumed plus the
// window), and a writer sends only up to the peer's edge, so a reader that stops reading stops the writer and the
// bytes held for a connection stay bounded (the window at the reader, the writable high-water mark at the writer).
// `end()` sends a FIN after the queued data; `destroy()` sends a FIN, or a RST when unread data that Node would
// not yet have taken from the kernel is thrown away; `resetAndDestroy()` sends a RST.
import { Duplex } from 'node:stream'
import { NetError } from '../errors.js'
import type { Endpoint, StreamSocket, Timer } from '../types.js'
import type { TcpSegment } from './tcp-route.js'

/** What a socket needs from its host's stack. */
export interface TcpSocketStack {
  readonly localIp: string
  now(): number
  setTimeout(fn: () => void, ms: number): Timer
  /** Sends a segment after the connection's previous one; returns its arrival time, or -1 when it was dropped. */
  transmit(sock: SimTcpSocket, seg: TcpSegment, notBefore: number): number
  /** Forgets the connection: its 4-tuple and port are free again. */
  release(sock: SimTcpSocket): void
  /** A connection the listener must now hand over (`synReceived` → `established`). */
  accepted(sock: SimTcpSocket): void
}

export interface SimTcpSocketOptions {
  /** Receive window, bytes. */
  window: number
  /** Largest data segment, bytes. */
  maxSegment: number
  /** SYN re-sends before a connect fails. */
  synRetries: number
  /** How long an established connection whose segments are dropped lives on before `ETIMEDOUT`, ms. */
  giveUpMs: number
  allowHalfOpen: boolean
}

type State = 'synSent' | 'synReceived' | 'established' | 'closed'

interface QueuedWrite {
  data: Uint8Array
  offset: number
  cb: ((err?: Error | null) => void) | null
}

/** How long a closed socket waits for the peer's FIN, ms (it then forgets the connection). */
const LINGER_MS = 60_000
/** How long a half-open (SYN received) connection waits for the handshake to complete, ms (Linux: 63 s). */
const SYN_RECEIVED_MS = 63_000

export class SimTcpSocket extends Duplex implements StreamSocket {
  readonly remoteAddress: string
  readonly remotePort: number
  readonly remoteFamily: 'IPv4' | 'IPv6'
  readonly localAddress: string
  readonly localPort: number
  /** True until the handshake completed (connector), as `net.Socket#connecting`. */
  connecting: boolean
  /** @internal */ state: State
  /** @internal The stack's key for the connection. */ readonly key: string
  /** @internal Settles the connector's promise. */
  onConnect: ((err: unknown) => void) | null = null
  private readonly stack: TcpSocketStack
  private readonly opts: SimTcpSocketOptions
  private lastArrival = 0
  private sentBytes = 0
  private peerEdge = 0
  private delivered = 0
  private consumed = 0
  private advertised = 0
  private readonly queue: QueuedWrite[] = []
  private finalCb: ((err?: Error | null) => void) | null = null
  private finSent = false
  private finReceived = false
  private resetSent = false
  private timer: Timer | null = null
  private synTries = 0
  private giveUp: Timer | null = null
  /** A segment was dropped for good: nothing after it may arrive (the byte stream would have a hole). */
  private broken = false

  /** @internal Use `SimTcp.connect` / `listen`. */
  constructor(stack: TcpSocketStack, localPort: number, remote: Endpoint, state: State, opts: SimTcpSocketOptions) {
    super({ allowHalfOpen: opts.allowHalfOpen })
    this.stack = stack
    this.opts = opts
    this.remoteAddress = remote.host
    this.remotePort = remote.port
    this.remoteFamily = remote.host.includes(':') ? 'IPv6' : 'IPv4'
    this.localAddress = stack.localIp
    this.localPort = localPort
    this.state = state
    this.connecting = state === 'synSent'
    this.key = `${localPort}|${remote.host}|${remote.port}`
  }

  get remote(): Endpoint {
    return { host: this.remoteAddress, port: this.remotePort }
  }

  /** Nagle is not modelled: every write goes out at once. */
  setNoDelay(_noDelay = true): this {
    return this
  }

  resetAndDestroy(): this {
    if (!this.destroyed && (this.state === 'established' || this.state === 'synReceived')) {
      this.transmit({ kind: 'rst' })
      this.resetSent = true
    }
    this.destroy()
    return this
  }

  /** @internal Connector: sends the SYN and re-sends it at 1, 2, 4… s; fails with ETIMEDOUT after the last. */
  startConnect(): void {
    this.transmit({ kind: 'syn' })
    this.armSyn()
  }

  /** @internal Acceptor: answers the SYN, and forgets the connection if the handshake never completes. */
  startAccept(peerEdge: number): void {
    this.peerEdge = peerEdge
    this.transmit({ kind: 'synack' })
    this.timer = this.stack.setTimeout(() => {
      this.timer = null
      if (this.state === 'synReceived') this.release()
    }, SYN_RECEIVED_MS)
  }

  /** @internal Aborts a connect in progress (the signal fired): nothing is sent, the connection is forgotten. */
  abortConnect(reason: unknown): void {
    if (this.state !== 'synSent') return
    this.release()
    this.settleConnect(reason ?? new NetError('ABORT_ERR', 'connect aborted'))
    this.destroy()
  }

  /** @internal A segment for this connection arrived. */
  onSegment(seg: TcpSegment): void {
    switch (this.state) {
      case 'synSent':
        if (seg.kind === 'synack') {
          this.clearTimer()
          this.state = 'established'
          this.connecting = false
          this.peerEdge = seg.edge ?? 0
          this.transmit({ kind: 'ack' })
          this.settleConnect(null)
          this.emit('connect')
        } else if (seg.kind === 'rst') {
          this.release()
          this.settleConnect(
            new NetError('ECONNREFUSED', `connection refused by ${this.remoteAddress}:${this.remotePort}`),
          )
          this.destroy()
        }
        // A SYN here would be a simultaneous open: not modelled (connects leave from ephemeral ports).
        return
      case 'synReceived':
        if (seg.kind === 'syn') {
          this.transmit({ kind: 'synack' }) // our SYN-ACK was lost: the connector asked again
          return
        }
        if (seg.kind === 'rst') {
          this.release()
          return
        }
        if (seg.kind === 'synack') return
        this.clearTimer()
        this.state = 'established'
        this.stack.accepted(this)
        if (this.state === 'established') this.established(seg)
        return
      case 'established':
        this.established(seg)
        return
      case 'closed':
        return
    }
  }

  private established(seg: TcpSegment): void {
    if (seg.edge !== undefined && seg.edge > this.peerEdge) this.peerEdge = seg.edge
    switch (seg.kind) {
      case 'data': {
        const data = seg.data!
        if (this.destroyed) {
          // Data for a socket closed by its owner: nobody will read it (Linux answers with a reset).
          this.transmit({ kind: 'rst' })
          this.release()
          return
        }
        this.delivered += data.byteLength
        this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
        this.maybeAdvertise()
        return
      }
      case 'ack':
        this.pump()
        return
      case 'fin':
        if (this.finReceived) return
        this.finReceived = true
        if (this.destroyed) this.release()
        else this.push(null)
        return
      case 'rst':
        this.release()
        if (!this.destroyed)
          this.destroy(new NetError('ECONNRESET', `connection reset by ${this.remoteAddress}:${this.remotePort}`))
        return
      default:
        return // a late SYN or SYN-ACK: the handshake is over
    }
  }

  // ---- Duplex ----

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.queue.push({ data: chunk, offset: 0, cb })
    this.pump()
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.state !== 'established') return cb()
    this.finalCb = cb
    this.pump()
  }

  override _read(): void {
    // Node calls this before it takes the bytes it is about to hand out: look once they are gone.
    process.nextTick(() => this.maybeAdvertise())
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.clearTimer()
    for (const w of this.queue) w.cb = null
    this.queue.length = 0
    if (this.state === 'synSent') {
      this.release()
      this.settleConnect(err ?? new NetError('ECONNRESET', 'destroyed while connecting'))
    } else if (this.state === 'synReceived') {
      this.release()
    } else if (this.state === 'established') {
      if (this.resetSent || (this.finSent && this.finReceived)) {
        this.release()
      } else if (this.readableLength > this.readableHighWaterMark) {
        // Node takes bytes from the kernel up to the readable high-water mark; beyond it they wait in the kernel,
        // and closing a socket with unread bytes in the kernel throws them away: Linux tells the peer with a reset.
        this.transmit({ kind: 'rst' })
        this.release()
      } else {
        if (!this.finSent) {
          this.finSent = true
          this.transmit({ kind: 'fin' })
        }
        if (this.finReceived) this.release()
        else
          this.timer = this.stack.setTimeout(() => {
            this.timer = null
            this.release()
          }, LINGER_MS)
      }
    }
    cb(err)
  }

  // ---- internals ----

  /** Sends queued data up to the peer's window, then the FIN once `end()` was called and the queue is empty. */
  private pump(): void {
    if (this.state !== 'established' || this.destroyed) return
    const max = this.opts.maxSegment
    while (this.queue.length > 0) {
      const window = this.peerEdge - this.sentBytes
      if (window <= 0) return
      const head = this.queue[0]
      const n = Math.min(window, head.data.byteLength - head.offset, max)
      const copy = new Uint8Array(n)
      copy.set(head.data.subarray(head.offset, head.offset + n))
      head.offset += n
      this.sentBytes += n
      this.transmit({ kind: 'data', data: copy })
      if (head.offset === head.data.byteLength) {
        this.queue.shift()
        head.cb?.()
      }
      if (this.destroyed) return // a write callback may destroy us
    }
    if (this.finalCb !== null && !this.finSent) {
      this.finSent = true
      this.transmit({ kind: 'fin' })
      const cb = this.finalCb
      this.finalCb = null
      cb()
    }
  }

  /** Tells the peer its window opened, once a quarter of the window was read since we last said. */
  private maybeAdvertise(): void {
    if (this.state !== 'established' || this.destroyed) return
    this.updateConsumed()
    if (this.consumed - this.advertised >= this.opts.window / 4) this.transmit({ kind: 'ack' })
  }

  private updateConsumed(): void {
    // Monotonic: an unshift (a handshake peek puts bytes back) must not shrink what we already advertised.
    const c = this.delivered - this.readableLength
    if (c > this.consumed) this.consumed = c
  }

  private transmit(seg: TcpSegment): void {
    if (this.broken && seg.kind !== 'rst') return
    this.updateConsumed()
    seg.edge = this.consumed + this.opts.window
    this.advertised = this.consumed
    const at = this.stack.transmit(this, seg, this.lastArrival)
    if (at >= 0) this.lastArrival = at
    else if (seg.kind !== 'syn' && seg.kind !== 'synack' && seg.kind !== 'rst') this.lost()
  }

  /** A segment of an open connection was dropped for good: like a real stack, give up after retransmitting. */
  private lost(): void {
    this.broken = true
    if (this.giveUp !== null || this.state === 'closed') return
    this.giveUp = this.stack.setTimeout(() => {
      this.giveUp = null
      if (this.state === 'closed') return
      this.release()
      if (!this.destroyed) this.destroy(new NetError('ETIMEDOUT', 'the connection timed out (segments dropped)'))
    }, this.opts.giveUpMs)
  }

  private armSyn(): void {
    this.timer = this.stack.setTimeout(
      () => {
        this.timer = null
        if (this.state !== 'synSent') return
        if (this.synTries >= this.opts.synRetries) {
          this.release()
          this.settleConnect(new NetError('ETIMEDOUT', `connect to ${this.remoteAddress}:${this.remotePort} timed out`))
          this.destroy()
          return
        }
        this.synTries++
        this.transmit({ kind: 'syn' })
        this.armSyn()
      },
      1000 * 2 ** this.synTries,
    )
  }

  /** Settles the connect: `null` for connected, else the rejection (an aborting signal's reason as it is). */
  private settleConnect(err: unknown): void {
    const fn = this.onConnect
    this.onConnect = null
    fn?.(err)
  }

  private clearTimer(): void {
    this.timer?.cancel()
    this.timer = null
  }

  private release(): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.clearTimer()
    this.giveUp?.cancel()
    this.giveUp = null
    this.stack.release(this)
  }
}
