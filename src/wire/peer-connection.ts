// One BitTorrent peer connection over any Node Duplex byte stream (TCP, or uTP from net/utp, unchanged). It does
// the handshake in either direction, the BEP 10 extended handshake, keep-alives and the idle timeout on an
// injected Clock, and closes with a typed reason on any protocol error. Extensions (PEX, holepunch) hang off it.
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { bytesEqual } from '../codec/bytes.js'
import { CodecError } from '../codec/errors.js'
import {
  decodeExtendedHandshake,
  EXTENDED_HANDSHAKE_ID,
  type ExtendedHandshake,
  encodeExtendedHandshake,
} from '../codec/extension.js'
import {
  encodeExtendedMessage,
  encodeHandshake,
  encodeMessage,
  type Handshake,
  makeReserved,
  type PeerMessage,
  type PeerMessageType,
  type ReservedFlags,
  reservedFlags,
} from '../codec/peer-wire.js'
import { WireFramer } from '../codec/wire-framer.js'
import { realClock } from '../net/clock.js'
import type { Clock, Endpoint, Timer } from '../net/types.js'
import { WireError } from './errors.js'
import { DEFAULT_LOCAL_IDS, type ExtensionHost, ExtensionRegistry } from './extensions.js'
import { Holepunch } from './holepunch.js'
import { Pex, type PexOptions } from './pex.js'
import { UtMetadata, type UtMetadataOptions } from './ut-metadata.js'

/** A peer re-sending its extended handshake more often than this is closed (real clients send one or two). */
const MAX_EXTENDED_HANDSHAKES_PER_MINUTE = 10

export type Transport = 'tcp' | 'utp'
export type Direction = 'outgoing' | 'incoming'

export const DEFAULT_CLIENT_NAME = 'mainline/0.1.0'

export interface PeerConnectionOptions {
  /** The byte stream: a net.Socket, a uTP stream, or any Duplex. */
  stream: Duplex
  /** Which transport carries the stream (reported in events; PEX flags uTP peers). */
  transport: Transport
  /** `outgoing` sends its handshake at once; `incoming` answers after checking the peer's info hash. */
  direction: Direction
  /** The peer's endpoint as this connection sees it (for a NATed peer: its mapped address). */
  remote: Endpoint
  /** Our end of the connection, when known. */
  local?: Endpoint
  /** Our 20-byte peer id. */
  peerId: Uint8Array
  /** The torrent. Required for `outgoing`; for `incoming` either this or `acceptInfoHash`. */
  infoHash?: Uint8Array
  /** Incoming only: decides whether we serve the info hash the peer asks for. Default: equal to `infoHash`. */
  acceptInfoHash?: (infoHash: Uint8Array) => boolean
  /** Default `realClock`. */
  clock?: Clock
  /** Our extensions: name → id we advertise. Default `{ ut_pex: 1, ut_metadata: 2, ut_holepunch: 4 }`. */
  extensions?: Readonly<Record<string, number>>
  /** Our TCP listen port, sent as `p` in the extended handshake. Default: not sent. */
  listenPort?: number
  /** Our client name, sent as `v`. Default `mainline/0.1.0`. */
  clientName?: string
  /** Outstanding requests we accept, sent as `reqq`. Default 250. */
  reqq?: number
  /** Send a keep-alive after this long without sending anything. Default 100 s (libtorrent drops at 120 s). */
  keepAliveInterval?: number
  /** Close when nothing at all arrives for this long. Default 240 s. */
  idleTimeout?: number
  /** Close unless the peer's handshake arrives within this time. Default 20 s. */
  handshakeTimeout?: number
  /** Largest frame accepted. Default 1 MiB. */
  maxFrame?: number
  /** Close when more than this many bytes wait in our send buffer (the peer is not reading). Default 8 MiB. */
  maxSendBuffer?: number
  /**
   * Reserved bits we send. Default extension protocol + DHT. We read the remote's Fast bit (BEP 6) and parse its
   * messages, but do not claim Fast by default: claiming it obliges us to open with have_all/have_none/bitfield
   * and to answer every request, which a connection that carries no pieces cannot honour.
   */
  reserved?: Partial<ReservedFlags>
  /** PEX options (interval, limits). */
  pex?: PexOptions
  /** BEP 9 serving limits (per-peer rate, flood). */
  metadata?: UtMetadataOptions
}

type MessageEvents = { [K in PeerMessageType]: [message: Extract<PeerMessage, { type: K }>] }

export type PeerConnectionEvents = MessageEvents & {
  /** The peer's BitTorrent handshake (after our info hash check). */
  handshake: [handshake: Handshake]
  /** Each extended handshake the peer sends (the first, and any later updates). */
  extended_handshake: [handshake: ExtendedHandshake]
  /** Every message, as a union (also emitted under its own type name). */
  message: [message: PeerMessage]
  /** An extended message for an extension we advertised, by its name (the raw one is `extended`). */
  extension_message: [name: string, payload: Uint8Array]
  /** Something from the peer was dropped without closing: a reason, counted in `drops`. */
  drop: [reason: string]
  /** The connection is closed; emitted once. */
  close: [reason: WireError]
}

type State = 'handshaking' | 'open' | 'closed'

export class PeerConnection extends EventEmitter<PeerConnectionEvents> implements ExtensionHost {
  readonly transport: Transport
  readonly direction: Direction
  readonly remote: Endpoint
  readonly local: Endpoint | undefined
  readonly peerId: Uint8Array
  readonly extensions: ExtensionRegistry
  /** BEP 55 on this connection: `conn.holepunch.sendHpRendezvous(…)`, `conn.holepunch.on('hp_connect', …)`. */
  readonly holepunch: Holepunch
  /** BEP 11 on this connection. */
  readonly pex: Pex
  /** BEP 9 on this connection: serves `utMetadata.source`, requests pieces, reports answers. */
  readonly utMetadata: UtMetadata
  /** Drops by reason (unknown extended ids, malformed extension payloads, ignored holepunch messages…). */
  readonly drops: Record<string, number> = Object.create(null)
  infoHash: Uint8Array | undefined
  /** The peer's handshake, once received. */
  remoteHandshake: Handshake | undefined
  /** The peer's extended handshake state, merged over all its extended handshakes. */
  remoteExtended: ExtendedHandshake | undefined
  closeReason: WireError | undefined

  private state: State = 'handshaking'
  private readonly stream: Duplex
  private readonly clock: Clock
  private readonly framer: WireFramer
  private readonly options: PeerConnectionOptions
  private readonly timers: Timer[] = []
  private lastSent: number
  /** When the remote's extended handshakes arrived, in the last minute. */
  private readonly extendedAt: number[] = []
  private lastReceived: number
  private sentHandshake = false
  private readonly extHandlers = new Map<string, (payload: Uint8Array) => void>()

  constructor(options: PeerConnectionOptions) {
    super()
    if (options.peerId.length !== 20) throw new RangeError('peerId must be 20 bytes')
    if (options.direction === 'outgoing' && !options.infoHash)
      throw new RangeError('an outgoing connection needs infoHash')
    this.options = options
    this.transport = options.transport
    this.direction = options.direction
    this.remote = options.remote
    this.local = options.local
    this.peerId = options.peerId
    this.infoHash = options.infoHash
    this.stream = options.stream
    this.clock = options.clock ?? realClock
    this.framer = new WireFramer({ maxFrame: options.maxFrame })
    this.extensions = new ExtensionRegistry(options.extensions ?? DEFAULT_LOCAL_IDS)
    this.lastSent = this.lastReceived = this.clock.now()
    this.holepunch = new Holepunch(this)
    this.pex = new Pex(this, this.clock, options.pex)
    this.utMetadata = new UtMetadata(this, this.clock, options.metadata)

    this.stream.on('data', this.onData)
    this.stream.on('error', this.onStreamError)
    this.stream.on('end', this.onStreamEnd)
    this.stream.on('close', this.onStreamEnd)

    const handshakeTimeout = options.handshakeTimeout ?? 20_000
    this.timers.push(
      this.clock.setTimeout(() => {
        if (this.state === 'handshaking') this.close(new WireError('HANDSHAKE_TIMEOUT', 'no handshake from the peer'))
      }, handshakeTimeout),
    )
    const keepAlive = options.keepAliveInterval ?? 100_000
    const idle = options.idleTimeout ?? 240_000
    this.timers.push(
      this.clock.setInterval(() => this.tick(keepAlive, idle), Math.max(10, Math.min(keepAlive, idle) / 10)),
    )
    if (this.direction === 'outgoing') this.sendHandshake()
  }

  get isOpen(): boolean {
    return this.state === 'open'
  }

  get isClosed(): boolean {
    return this.state === 'closed'
  }

  /** The peer's id, once its handshake arrived. */
  get remotePeerId(): Uint8Array | undefined {
    return this.remoteHandshake?.peerId
  }

  /** Where the peer accepts connections: its IP with its advertised `p`, else the connection's remote endpoint. */
  get listenEndpoint(): Endpoint {
    const p = this.remoteExtended?.p
    return p ? { host: this.remote.host, port: p } : this.remote
  }

  /** Registers the receiver of an extension's messages (by our name for it). Used by PEX and holepunch. */
  handleExtension(name: string, handler: (payload: Uint8Array) => void): void {
    this.extHandlers.set(name, handler)
  }

  /** Counts a dropped input by reason and reports it. */
  countDrop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1
    this.emit('drop', reason)
  }

  /** Sends a message. Throws `WireError('NOT_CONNECTED')` unless the handshake is done and the stream open. */
  send(message: PeerMessage): void {
    this.write(encodeMessage(message))
  }

  /**
   * Sends an extended message by extension name, with the id the remote advertised. Returns false (and sends
   * nothing) when the remote does not support it.
   */
  sendExtended(name: string, payload: Uint8Array): boolean {
    const id = this.extensions.remoteId(name)
    if (id === undefined) return false
    this.write(encodeExtendedMessage(id, payload))
    return true
  }

  /** Sends our extended handshake (done automatically after the handshake; call again to update `m`). */
  sendExtendedHandshake(): void {
    const yourip = this.remote.host
    const payload = encodeExtendedHandshake({
      m: this.extensions.localMap(),
      p: this.options.listenPort,
      v: this.options.clientName ?? DEFAULT_CLIENT_NAME,
      yourip,
      reqq: this.options.reqq ?? 250,
      metadataSize: this.utMetadata.localSize,
    })
    this.write(encodeExtendedMessage(EXTENDED_HANDSHAKE_ID, payload))
  }

  /**
   * Closes gracefully: ends the stream (a TCP FIN, a uTP ST_FIN after the queued data) and closes once it is
   * finished (over uTP: our FIN was acknowledged), the peer closed, or `timeout` ms passed (default 1000). The
   * peer sees a clean end of stream rather than a reset.
   */
  end(timeout = 1000): Promise<void> {
    if (this.state === 'closed') return Promise.resolve()
    return new Promise<void>((resolve) => {
      const done = () => {
        t.cancel()
        this.off('close', done)
        this.stream.off('finish', done)
        resolve()
      }
      const t = this.clock.setTimeout(done, timeout)
      this.once('close', done)
      this.stream.once('finish', done)
      this.stream.end()
    }).then(() => this.close())
  }

  /** Closes the connection (idempotent). `close` is emitted once with the reason. */
  close(reason: WireError = new WireError('LOCAL_CLOSE', 'closed locally')): void {
    this.closeWith(reason, false)
  }

  /**
   * `graceful` (the peer ended its side): answer with our own end of stream (a FIN, over uTP too) rather than a
   * reset, and let the stream go once it finished or after a second.
   */
  private closeWith(reason: WireError, graceful: boolean): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.closeReason = reason
    for (const t of this.timers) t.cancel()
    this.pex.stop()
    this.stream.off('data', this.onData)
    if (graceful) {
      const s = this.stream
      const t = this.clock.setTimeout(() => s.destroy(), 1000)
      s.once('close', () => t.cancel())
      s.once('finish', () => s.destroy())
      s.end()
    } else this.stream.destroy()
    this.emit('close', reason)
  }

  private write(bytes: Uint8Array): void {
    if (this.state !== 'open') throw new WireError('NOT_CONNECTED', `connection is ${this.state}`)
    this.rawWrite(bytes)
  }

  private rawWrite(bytes: Uint8Array): void {
    this.lastSent = this.clock.now()
    this.stream.write(bytes)
    if (this.stream.writableLength > (this.options.maxSendBuffer ?? 8 << 20)) {
      this.close(new WireError('SEND_BUFFER_FULL', 'the peer is not reading what we send'))
    }
  }

  private sendHandshake(): void {
    if (this.sentHandshake || !this.infoHash) return
    this.sentHandshake = true
    const reserved = makeReserved(this.options.reserved ?? { extension: true, dht: true })
    this.rawWrite(encodeHandshake({ reserved, infoHash: this.infoHash, peerId: this.peerId }))
  }

  private tick(keepAlive: number, idle: number): void {
    if (this.state === 'closed') return
    const now = this.clock.now()
    if (now - this.lastReceived >= idle) {
      this.close(new WireError('IDLE_TIMEOUT', `nothing received for ${Math.round(idle / 1000)} s`))
      return
    }
    if (this.state === 'open' && now - this.lastSent >= keepAlive) this.rawWrite(new Uint8Array(4))
  }

  private readonly onStreamError = (err: Error): void => {
    this.close(new WireError('STREAM_ERROR', `transport error: ${err.message}`, { cause: err }))
  }

  private readonly onStreamEnd = (): void => {
    this.closeWith(new WireError('STREAM_ENDED', 'the peer closed the connection'), true)
  }

  private readonly onData = (chunk: Uint8Array): void => {
    if (this.state === 'closed') return
    this.lastReceived = this.clock.now()
    this.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    try {
      for (let item = this.framer.next(); item; item = this.isClosed ? undefined : this.framer.next()) {
        if (item.kind === 'handshake') this.onHandshake(item.handshake)
        else this.onMessage(item.message)
      }
    } catch (err) {
      if (err instanceof CodecError) {
        const code = this.remoteHandshake ? 'PROTOCOL' : 'BAD_HANDSHAKE'
        this.close(new WireError(code, `malformed input: ${err.message}`, { cause: err }))
      } else if (err instanceof WireError) {
        this.close(err)
      } else {
        throw err
      }
    }
  }

  private onHandshake(h: Handshake): void {
    if (this.infoHash && this.direction === 'outgoing') {
      if (!bytesEqual(h.infoHash, this.infoHash))
        throw new WireError('INFOHASH_MISMATCH', 'the peer answered for another info hash')
    } else {
      const accept =
        this.options.acceptInfoHash ?? ((ih: Uint8Array) => !!this.infoHash && bytesEqual(ih, this.infoHash))
      if (!accept(h.infoHash))
        throw new WireError('INFOHASH_MISMATCH', 'the peer asked for an info hash we do not serve')
      this.infoHash = h.infoHash
    }
    this.remoteHandshake = h
    this.sendHandshake()
    this.state = 'open'
    if (reservedFlags(h.reserved).extension) this.sendExtendedHandshake()
    this.emit('handshake', h)
  }

  private onMessage(m: PeerMessage): void {
    if (m.type === 'extended') {
      this.onExtended(m.id, m.payload)
    } else if (m.type === 'unknown') {
      this.countDrop(`unknown_message_id_${m.id}`)
    }
    const untyped = this as unknown as EventEmitter
    untyped.emit('message', m)
    untyped.emit(m.type, m)
  }

  private onExtended(id: number, payload: Uint8Array): void {
    if (id === EXTENDED_HANDSHAKE_ID) {
      let h: ExtendedHandshake
      try {
        h = decodeExtendedHandshake(payload)
      } catch (err) {
        if (err instanceof CodecError) {
          throw new WireError('PROTOCOL', `malformed extended handshake: ${err.message}`, { cause: err })
        }
        throw err
      }
      // Later handshakes update the first (BEP 10). Only their last unknown keys are kept: merging every one a peer
      // ever sent would let it grow our memory, and the time to copy it, without bound.
      const now = this.clock.now()
      const times = this.extendedAt
      while (times.length > 0 && now - times[0] >= 60_000) times.shift()
      times.push(now)
      if (times.length > MAX_EXTENDED_HANDSHAKES_PER_MINUTE) {
        throw new WireError('PROTOCOL', `more than ${MAX_EXTENDED_HANDSHAKES_PER_MINUTE} extended handshakes a minute`)
      }
      this.extensions.updateRemote(h.m)
      const prev = this.remoteExtended
      this.remoteExtended = prev
        ? { ...prev, ...h, m: this.extensions.remoteMap() }
        : { ...h, m: this.extensions.remoteMap() }
      this.emit('extended_handshake', h)
      return
    }
    const name = this.extensions.nameOf(id)
    if (name === undefined) {
      this.countDrop('unknown_extended_id')
      return
    }
    this.extHandlers.get(name)?.(payload)
    this.emit('extension_message', name, payload)
  }
}
