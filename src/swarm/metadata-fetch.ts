// One `node.metadata(…)` run: gathers peers (given, DHT, PEX, whoever connects), dials up to `maxPeers` at once,
// asks the connected peers that announced a `metadata_size` for pieces (at most `maxOutstanding` each), moves a
// piece to another peer on a reject or on silence, and verifies the whole (metadata-assembly.ts). A peer that
// misbehaves is dropped: never asked again, and disconnected unless it merely refused.
import { toHex } from '../codec/bytes.js'
import { metadataPieceCount } from '../codec/ut-metadata.js'
import type { Clock, Endpoint, Timer } from '../net/types.js'
import { WireError } from '../wire/errors.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import {
  type MetadataDropReason,
  MetadataError,
  type MetadataEvents,
  type MetadataPeerSource,
  type MetadataTransport,
} from './metadata.js'
import { MetadataAssembly, type VerifiedMetadata } from './metadata-assembly.js'
import { PeerFinder } from './metadata-peers.js'
import { endpointKey } from './relay.js'
import type { Swarm } from './swarm.js'

/** Consecutive rejects after which a peer is no longer asked. */
const MAX_CONSECUTIVE_REJECTS = 3
/** How long the fetch may sit with nothing to do (no dial, no request, no lookup) before it looks again or gives up. */
const IDLE_GRACE = 5_000

export interface FetchDeps {
  swarm: Swarm
  clock: Clock
  verify(info: Uint8Array): boolean
  /** Dials a peer (direct, then through a hole punch); resolves with the open connection. */
  connect(peer: Endpoint, signal: AbortSignal): Promise<{ conn: PeerConnection; transport: MetadataTransport }>
  /** A DHT `get_peers` lookup, when the DHT is to be used. */
  lookup?(signal: AbortSignal): AsyncIterable<Endpoint>
  isSelf(ep: Endpoint): boolean
  /** Connections that a hole punch made (to report their transport). */
  holepunched(conn: PeerConnection): boolean
  emit<K extends keyof MetadataEvents>(event: K, ...args: MetadataEvents[K]): void
}

export interface FetchOptions {
  peers: { ep: Endpoint; source: MetadataPeerSource }[]
  maxSize: number
  maxPeers: number
  maxOutstanding: number
  requestTimeout: number
  signal?: AbortSignal
}

interface PeerState {
  conn: PeerConnection
  key: string
  /** Requests in flight: piece → when sent. */
  outstanding: Map<number, number>
  /** Pieces it answered (with data or a reject): never asked of it again in this fetch. */
  answered: Set<number>
  consecutiveRejects: number
  unsolicited: number
  timer: Timer | undefined
  dropped: boolean
}

export class MetadataFetch {
  readonly promise: Promise<VerifiedMetadata & { fromEndpoints: Endpoint[] }>
  private resolve!: (r: VerifiedMetadata & { fromEndpoints: Endpoint[] }) => void
  private reject!: (e: MetadataError) => void
  private done = false
  private readonly ih: Uint8Array
  /** Endpoints and peer ids never to ask again. */
  private readonly banned = new Set<string>()
  private readonly peers = new Map<PeerConnection, PeerState>()
  /** Every connection asked, by key (for the result's listen endpoints, also of peers gone since). */
  private readonly byKey = new Map<string, PeerConnection>()
  private readonly finder: PeerFinder
  private assembly: MetadataAssembly | undefined
  /** Sizes whose every whole failed the hash. */
  private readonly failedSizes = new Set<number>()
  /** Distinct peers wanted per piece: 1, then one more after each failed whole. */
  private level = 1
  private idleTimer: Timer | undefined
  private tooLarge = 0
  private readonly abort = new AbortController()
  private readonly cleanup: (() => void)[] = []

  constructor(
    private readonly deps: FetchDeps,
    private readonly opts: FetchOptions,
  ) {
    this.ih = deps.swarm.infoHash
    this.finder = new PeerFinder(
      {
        connect: deps.connect,
        lookup: deps.lookup,
        ignore: (ep) => this.banned.has(endpointKey(ep)) || deps.isSelf(ep),
        connectedTo: (ep) => deps.swarm.connectionTo(ep, true) !== undefined,
        room: () => this.opts.maxPeers - this.active,
        found: (peer, source) => deps.emit('metadata:peer', { infoHash: this.ih, peer, source }),
        connected: (conn, transport) => this.consider(conn, transport),
        changed: () => this.schedule(),
      },
      this.abort.signal,
    )
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  start(): void {
    const { swarm } = this.deps
    const onConnected = (c: PeerConnection) => this.consider(c)
    const onPeer = (p: Endpoint) => this.finder.add(p, 'pex')
    swarm.on('connected', onConnected)
    swarm.on('peer', onPeer)
    this.cleanup.push(() => {
      swarm.off('connected', onConnected)
      swarm.off('peer', onPeer)
    })
    const signal = this.opts.signal
    if (signal) {
      const onAbort = () => this.fail(new MetadataError('ABORTED', 'the metadata fetch was aborted'))
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      this.cleanup.push(() => signal.removeEventListener('abort', onAbort))
    }
    for (const c of swarm.connections) this.consider(c)
    for (const p of this.opts.peers) this.finder.add(p.ep, p.source)
    this.finder.lookup()
    this.checkIdle()
  }

  /** Ends the fetch from outside (the node closes). */
  stop(err: MetadataError): void {
    this.fail(err)
  }

  /** Peers taking a slot: dials in flight and connections that may yet serve. */
  private get active(): number {
    let n = this.finder.dials
    for (const st of this.peers.values()) if (!st.dropped && (!st.conn.remoteExtended || this.sizeOf(st))) n++
    return n
  }

  private consider(conn: PeerConnection, transport?: MetadataTransport): void {
    if (this.done || this.peers.has(conn) || !conn.isOpen) return
    if (this.isBanned(conn)) return
    const st: PeerState = {
      conn,
      key: endpointKey(conn.remote),
      outstanding: new Map(),
      answered: new Set(),
      consecutiveRejects: 0,
      unsolicited: 0,
      timer: undefined,
      dropped: false,
    }
    this.peers.set(conn, st)
    this.byKey.set(st.key, conn)
    const t = transport ?? (this.deps.holepunched(conn) ? 'holepunch' : conn.transport)
    this.deps.emit('metadata:connected', { infoHash: this.ih, peer: conn.remote, transport: t })
    const m = conn.utMetadata
    const onData = (piece: number, bytes: Uint8Array, total: number) => this.onData(st, piece, bytes, total)
    const onReject = (piece: number) => this.onReject(st, piece)
    const onInvalid = (why: string) => this.drop(st, 'invalid', why)
    const onExt = () => this.checkSize(st) && this.schedule()
    const onClose = () => this.forget(st)
    m.on('data', onData)
    m.on('reject', onReject)
    m.on('invalid', onInvalid)
    conn.on('extended_handshake', onExt)
    conn.once('close', onClose)
    this.cleanup.push(() => {
      m.off('data', onData)
      m.off('reject', onReject)
      m.off('invalid', onInvalid)
      conn.off('extended_handshake', onExt)
      conn.off('close', onClose)
      st.timer?.cancel()
    })
    if (conn.remoteExtended) this.checkSize(st)
    this.schedule()
  }

  private isBanned(conn: PeerConnection): boolean {
    const id = conn.remotePeerId
    return (
      this.banned.has(endpointKey(conn.remote)) ||
      this.banned.has(endpointKey(conn.listenEndpoint)) ||
      (id !== undefined && this.banned.has(toHex(id)))
    )
  }

  /** The size this peer announced, if it is one we may use. */
  private sizeOf(st: PeerState): number | undefined {
    if (st.dropped || !st.conn.isOpen || !st.conn.utMetadata.supported) return undefined
    const s = st.conn.utMetadata.remoteSize
    return s !== undefined && s <= this.opts.maxSize && !this.failedSizes.has(s) ? s : undefined
  }

  /** Drops a peer announcing an absurd size. False when it was dropped. */
  private checkSize(st: PeerState): boolean {
    const s = st.conn.utMetadata.remoteSize
    if (s !== undefined && s > this.opts.maxSize) {
      this.tooLarge++
      this.drop(st, 'too_large', `metadata_size ${s} over the limit of ${this.opts.maxSize}`)
      return false
    }
    return true
  }

  private onData(st: PeerState, piece: number, bytes: Uint8Array, total: number): void {
    if (this.done || st.dropped) return
    const a = this.assembly
    if (!st.outstanding.delete(piece) || !a || total !== a.size) {
      // Asked of nobody (or a size not being assembled): ignored, and a peer that keeps at it is dropped.
      if (++st.unsolicited > 2 * metadataPieceCount(total)) this.drop(st, 'unsolicited', `${st.unsolicited} pieces`)
      return
    }
    st.consecutiveRejects = 0
    st.answered.add(piece)
    this.rearm(st)
    a.add(piece, bytes, st.key)
    const received = a.pieces - a.missing().length
    this.deps.emit('metadata:piece', { infoHash: this.ih, piece, pieces: a.pieces, received, peer: st.conn.remote })
    this.schedule()
  }

  private onReject(st: PeerState, piece: number): void {
    if (this.done || st.dropped || !st.outstanding.delete(piece)) return
    st.answered.add(piece)
    this.rearm(st)
    if (++st.consecutiveRejects >= MAX_CONSECUTIVE_REJECTS) {
      this.drop(st, 'rejected', `${st.consecutiveRejects} rejects in a row`, false)
      return
    }
    this.schedule()
  }

  /** (Re)starts a peer's silence timer while it has requests outstanding. */
  private rearm(st: PeerState): void {
    st.timer?.cancel()
    st.timer = undefined
    if (st.outstanding.size === 0 || st.dropped) return
    st.timer = this.deps.clock.setTimeout(() => {
      if (st.outstanding.size > 0) this.drop(st, 'timeout', `no answer to ${st.outstanding.size} requests`)
    }, this.opts.requestTimeout)
  }

  private drop(st: PeerState, reason: MetadataDropReason, detail: string, close = true): void {
    if (st.dropped || this.done) return
    this.markDropped(st, reason, detail, close)
    this.finder.pump()
    this.schedule()
  }

  /** Never asks `st` again (by endpoint and peer id), reports it, and disconnects it when `close`. */
  private markDropped(st: PeerState, reason: MetadataDropReason, detail: string, close: boolean): void {
    st.dropped = true
    st.outstanding.clear()
    st.timer?.cancel()
    this.banned.add(endpointKey(st.conn.remote))
    this.banned.add(endpointKey(st.conn.listenEndpoint))
    if (st.conn.remotePeerId) this.banned.add(toHex(st.conn.remotePeerId))
    this.deps.emit('metadata:dropped', { infoHash: this.ih, peer: st.conn.remote, reason, detail })
    if (close) st.conn.close(new WireError('PROTOCOL', `metadata: ${reason}: ${detail}`))
  }

  private forget(st: PeerState): void {
    st.timer?.cancel()
    st.outstanding.clear()
    this.peers.delete(st.conn)
    this.finder.pump()
    this.schedule()
  }

  /** Assigns requests, verifies a whole when nothing is in flight, and notices when there is nothing left to do. */
  private schedule(): void {
    if (this.done) return
    for (let guard = 0; guard < 64 && !this.done; guard++) {
      if (!this.assembly) {
        const size = this.pickSize()
        if (size === undefined) break
        // Hashing is bounded per round (64 MiB): a 16 MiB dictionary gets 4 wholes tried at a time, 1 MiB 64.
        this.assembly = new MetadataAssembly(size, { maxTries: Math.max(2, Math.floor((64 << 20) / size)) })
        this.level = 1
      }
      const a = this.assembly
      const group = [...this.peers.values()].filter((st) => this.sizeOf(st) === a.size)
      const assigned = this.assign(a, group)
      const inFlight = group.some((st) => st.outstanding.size > 0)
      if (assigned || inFlight) break
      if (a.complete) {
        const ok = a.verify(this.deps.verify)
        if (ok) return this.succeed(ok)
        if (a.lastTries > 0) this.deps.emit('metadata:verify_failed', { infoHash: this.ih, size: a.size })
        if (a.moreToTry) {
          // The hashing budget of this turn is spent: let the event loop run, then try the rest.
          this.deps.clock.setTimeout(() => this.schedule(), 0)
          break
        }
        // Nobody could give another opinion at this level: one more is wanted, if there are peers for it.
        if (this.level < group.length) {
          this.level++
          continue
        }
      }
      if (group.length === 0 || this.level >= group.length) {
        // This size cannot be completed or verified with the peers there are. Give it up when another size is
        // waiting; else wait (a new peer of this size may come).
        const other = this.pickSize(a.size)
        if (other === undefined) break
        if (a.complete) this.giveUpSize(a.size, group)
        this.assembly = undefined
        continue
      }
      break
    }
    this.checkIdle()
  }

  /** The size most usable peers announce (not `except`, not failed). */
  private pickSize(except?: number): number | undefined {
    const votes = new Map<number, number>()
    for (const st of this.peers.values()) {
      const s = this.sizeOf(st)
      if (s !== undefined && s !== except) votes.set(s, (votes.get(s) ?? 0) + 1)
    }
    let best: number | undefined
    for (const [s, n] of votes) if (best === undefined || n > (votes.get(best) ?? 0)) best = s
    return best
  }

  private giveUpSize(size: number, group: PeerState[]): void {
    this.failedSizes.add(size)
    for (const st of group) this.drop(st, 'unverified', `no whole of ${size} bytes matches the infohash`)
  }

  /** Sends the requests wanted now. Returns whether any went out. */
  private assign(a: MetadataAssembly, group: PeerState[]): boolean {
    let any = false
    const inflight = new Map<number, number>()
    for (const st of group) for (const p of st.outstanding.keys()) inflight.set(p, (inflight.get(p) ?? 0) + 1)
    for (let piece = 0; piece < a.pieces; piece++) {
      let need = this.level - a.sources(piece) - (inflight.get(piece) ?? 0)
      while (need > 0) {
        const st = this.pickPeer(group, piece)
        if (!st) break
        if (!st.conn.utMetadata.request(piece)) {
          this.drop(st, 'invalid', 'cannot send requests', true)
          break
        }
        st.outstanding.set(piece, this.deps.clock.now())
        if (!st.timer) this.rearm(st)
        any = true
        need--
      }
    }
    return any
  }

  /** The least busy peer of the group that may be asked for `piece`. */
  private pickPeer(group: PeerState[], piece: number): PeerState | undefined {
    let best: PeerState | undefined
    for (const st of group) {
      if (st.dropped || st.outstanding.size >= this.opts.maxOutstanding) continue
      if (st.outstanding.has(piece) || st.answered.has(piece)) continue
      if (!best || st.outstanding.size < best.outstanding.size) best = st
    }
    return best
  }

  /** With nothing in flight and nothing to try, waits a little (PEX, incoming peers), then looks again or fails. */
  private checkIdle(): void {
    if (this.done) return
    const busy = this.finder.busy || [...this.peers.values()].some((st) => st.outstanding.size > 0)
    if (busy) {
      this.idleTimer?.cancel()
      this.idleTimer = undefined
      return
    }
    if (this.idleTimer) return
    this.idleTimer = this.deps.clock.setTimeout(() => {
      this.idleTimer = undefined
      if (this.done) return
      if (this.finder.canLookUp) {
        this.finder.lookup()
        return
      }
      this.fail(this.giveUpError())
    }, IDLE_GRACE)
  }

  private giveUpError(): MetadataError {
    if (this.assembly?.complete || this.failedSizes.size > 0)
      return new MetadataError('VERIFY_FAILED', 'pieces arrived, but no whole of them matches the infohash')
    const usable = [...this.peers.values()].some((st) => this.sizeOf(st) !== undefined)
    if (this.tooLarge > 0 && !usable)
      return new MetadataError(
        'TOO_LARGE',
        `every peer with the metadata announced more than ${this.opts.maxSize} bytes`,
      )
    return new MetadataError('NOT_FOUND', `no peer gave the metadata (${this.finder.found} peers found)`)
  }

  private succeed(ok: VerifiedMetadata): void {
    const bad = new Set(ok.bad)
    const fromEndpoints: Endpoint[] = []
    for (const k of ok.from) {
      const c = this.byKey.get(k)
      if (c) fromEndpoints.push(c.listenEndpoint)
    }
    const peers = [...this.peers.values()]
    this.finish()
    for (const st of peers) {
      if (bad.has(st.key) && !st.dropped)
        this.markDropped(st, 'corrupt', 'sent pieces that are not those of the verified metadata', true)
    }
    this.resolve({ ...ok, fromEndpoints })
  }

  private fail(err: MetadataError): void {
    if (this.done) return
    this.finish()
    this.reject(err)
  }

  private finish(): void {
    this.done = true
    this.idleTimer?.cancel()
    this.abort.abort(new WireError('LOCAL_CLOSE', 'metadata fetch ended'))
    for (const f of this.cleanup) f()
    this.cleanup.length = 0
  }
}
