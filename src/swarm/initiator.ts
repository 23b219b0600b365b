// BEP 55 for one torrent, both active roles: the initiator (after a direct dial to a holepunch-capable peer fails,
// ask an introducer among this torrent's connections for a rendezvous) and the target (a relay's `connect` starts
// a punch). Rendezvous go only through connections of the same torrent, and every punch handshakes actively with
// this torrent's info hash: a `connect` does not name the torrent, so the torrent is the one its relay serves.
import { EventEmitter } from 'node:events'
import { HolepunchError } from '../codec/holepunch.js'
import { PexFlags } from '../codec/pex.js'
import type { Endpoint, Timer } from '../net/types.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import type { ConnectLimiter } from './connect-limiter.js'
import { Punch, type PunchDeps, type PunchOptions } from './punch.js'
import { invalidTarget, sameEndpoint } from './relay.js'

export interface InitiatorOptions extends PunchOptions {
  /** How long a relay may take to answer a rendezvous with `connect` or `error`, ms. Default 10 s. */
  rendezvousTimeout?: number
  /** Endpoints remembered per PEX source, to pick the introducer that listed a peer. Default 1000. */
  maxPexSources?: number
}

export interface HolepunchSuccess {
  conn: PeerConnection
  target: Endpoint
  /** Which side's connection was kept. */
  direction: 'outgoing' | 'incoming'
  /** From sending `rendezvous` (or receiving `connect`, as target) to the uTP connection being established. */
  ms: number
  /** From the start of the punch to the uTP connection being established. */
  punchMs: number
}

/** Why a holepunch failed: `timeout` (no connection), `no_introducer`, `no_answer` (relay silent), or a BEP 55 error name. */
export type HolepunchFailure = 'timeout' | 'no_introducer' | 'no_answer' | 'aborted' | keyof typeof HolepunchError

export class HolepunchFailedError extends Error {
  override readonly name = 'HolepunchFailedError'
  constructor(
    readonly reason: HolepunchFailure,
    readonly target: Endpoint,
  ) {
    super(`holepunch to ${target.host}:${target.port} failed: ${reason}`)
  }
}

export type InitiatorEvents = {
  /** We asked `relay` to introduce us to `target`. */
  hp_rendezvous_sent: [relay: PeerConnection, target: Endpoint]
  /** A relay's `connect` started a punch to `target`. */
  hp_punching: [relay: PeerConnection, target: Endpoint]
  /** A `connect` we did not act on (rate limits, bad or own endpoint, already connected). */
  hp_ignored: [relay: PeerConnection, target: Endpoint, reason: string]
  hp_connected: [result: HolepunchSuccess]
  hp_failed: [target: Endpoint, reason: HolepunchFailure]
}

export interface InitiatorDeps extends Omit<PunchDeps, 'swarm'> {
  limiter: ConnectLimiter<PeerConnection>
  /** True for endpoints that are this node (its public or local endpoints). */
  isSelf(ep: Endpoint): boolean
  /** True while a connection from `ep` is arriving (before its handshake completed). Default: never. */
  isArriving?(ep: Endpoint): boolean
}

interface Pending {
  promise: Promise<HolepunchSuccess>
  sentAt: number
  relay: PeerConnection
  timer: Timer
  resolve: (r: HolepunchSuccess) => void
  reject: (e: HolepunchFailedError) => void
}

function key(e: Endpoint): string {
  return `${e.host}|${e.port}`
}

export class Initiator extends EventEmitter<InitiatorEvents> {
  private readonly punches = new Map<string, Punch>()
  private readonly pending = new Map<string, Pending>()
  /** Endpoint → connections whose PEX listed it (newest last). */
  private readonly pexSources = new Map<string, PeerConnection[]>()
  private closed = false

  constructor(
    private readonly deps: InitiatorDeps & Pick<PunchDeps, 'swarm'>,
    private readonly options: InitiatorOptions = {},
  ) {
    super()
    const { swarm } = deps
    swarm.on('pex', (conn, added) => {
      for (const p of added) this.notePexSource(p, conn)
    })
    swarm.on('hp_connect', (relay, ip, port) => this.onConnect(relay, { host: ip, port }))
    swarm.on('hp_error', (relay, code, ep) => this.onError(relay, code, ep))
    // Connected by another way to a peer we punch to or asked a rendezvous for (it dialed us, or our direct dial
    // crossed the punch): that ends the punch and the rendezvous, with this connection.
    swarm.on('connected', (conn) => {
      for (const ep of [conn.remote, conn.listenEndpoint]) {
        const punch = this.punches.get(key(ep))
        if (punch) return punch.adoptConnected(conn)
        const p = this.pending.get(key(ep))
        if (!p) continue
        this.pending.delete(key(ep))
        p.timer.cancel()
        const ms = this.deps.clock.now() - p.sentAt
        const success = { conn, target: { host: ep.host, port: ep.port }, direction: conn.direction, ms, punchMs: 0 }
        p.resolve(success)
        // Every rendezvous ends in exactly one hp_connected or hp_failed, however the connection came about.
        this.emit('hp_connected', success)
        return
      }
    })
  }

  /** The punch in progress towards `ep`, if any (the node hands it incoming uTP streams from `ep`). */
  punchFor(ep: Endpoint): Punch | undefined {
    return this.punches.get(key(ep))
  }

  /** Whether `ep` is known (PEX flag 0x08, or its own extended handshake) to support ut_holepunch. */
  supportsHolepunch(ep: Endpoint): boolean {
    const conn = this.deps.swarm.connections.find((c) => sameEndpoint(c.listenEndpoint, ep))
    if (conn) return conn.holepunch.supported
    return this.deps.swarm.knownPeers().some((p) => sameEndpoint(p, ep) && (p.flags & PexFlags.holepunch) !== 0)
  }

  /** The connection to ask for a rendezvous with `target`: one that listed it in PEX, else any holepunch peer. */
  findIntroducer(target: Endpoint): PeerConnection | undefined {
    const usable = (c: PeerConnection) =>
      c.isOpen && c.holepunch.supported && !sameEndpoint(c.remote, target) && !sameEndpoint(c.listenEndpoint, target)
    const listed = this.pexSources.get(key(target)) ?? []
    for (let i = listed.length - 1; i >= 0; i--) if (usable(listed[i])) return listed[i]
    return this.deps.swarm.connections.find(usable)
  }

  /** A direct dial to `ep` failed: holepunch when the peer supports it. Errors are reported as `hp_failed`. */
  onDialFailed(ep: Endpoint): void {
    if (this.closed || this.pending.has(key(ep)) || this.punches.has(key(ep))) return
    // A dial that lost to a crossing connection (the peer reached us meanwhile) needs no rendezvous.
    if (this.deps.isSelf(ep) || this.connectedTo(ep) || !this.supportsHolepunch(ep)) return
    this.rendezvous(ep).catch(() => {})
  }

  private connectedTo(ep: Endpoint): boolean {
    return this.deps.swarm.connections.some(
      (c) => !c.isClosed && (sameEndpoint(c.remote, ep) || sameEndpoint(c.listenEndpoint, ep)),
    )
  }

  /**
   * Asks an introducer (`relay`, default `findIntroducer`) to introduce us to `target`, then punches when its
   * `connect` arrives. Resolves once a connection to the target is open; rejects with `HolepunchFailedError`.
   * While a rendezvous with `target` is pending, returns that one.
   */
  rendezvous(to: Endpoint, options: { relay?: PeerConnection } = {}): Promise<HolepunchSuccess> {
    const target = { host: to.host, port: to.port }
    const k = key(target)
    const existing = this.pending.get(k)
    if (existing) return existing.promise
    // Asking a relay to introduce us to ourselves would only earn its NoSelf.
    if (this.deps.isSelf(target)) return Promise.reject(this.fail(target, 'NoSelf'))
    const relay = options.relay ?? this.findIntroducer(target)
    if (!relay || this.closed) return Promise.reject(this.fail(target, 'no_introducer'))
    let settle!: Pick<Pending, 'resolve' | 'reject'>
    const promise = new Promise<HolepunchSuccess>((resolve, reject) => {
      settle = { resolve, reject }
    })
    const { clock } = this.deps
    const timer = clock.setTimeout(() => {
      // Still waiting for the relay (no punch started): it never answered.
      if (this.pending.get(k) === p && !this.punches.has(k)) this.endPending(k, 'no_answer')
    }, this.options.rendezvousTimeout ?? 10_000)
    const p: Pending = { promise, sentAt: clock.now(), relay, timer, ...settle }
    this.pending.set(k, p)
    try {
      relay.holepunch.sendHpRendezvous(target)
      this.emit('hp_rendezvous_sent', relay, target)
    } catch {
      this.endPending(k, 'no_introducer')
    }
    return promise
  }

  /** Ends every punch and rendezvous (the node is closing). */
  close(): void {
    this.closed = true
    for (const p of this.punches.values()) p.abort()
    for (const k of [...this.pending.keys()]) this.endPending(k, 'aborted')
  }

  private notePexSource(ep: Endpoint, conn: PeerConnection): void {
    const k = key(ep)
    const list = (this.pexSources.get(k) ?? []).filter((c) => c !== conn && !c.isClosed)
    list.push(conn)
    this.pexSources.delete(k)
    this.pexSources.set(k, list)
    const max = this.options.maxPexSources ?? 1000
    while (this.pexSources.size > max) this.pexSources.delete(this.pexSources.keys().next().value as string)
  }

  private onConnect(relay: PeerConnection, target: Endpoint): void {
    const k = key(target)
    const ignore = (reason: string): void => {
      this.emit('hp_ignored', relay, target, reason)
    }
    if (this.closed) return ignore('closed')
    if (invalidTarget(target)) return ignore('invalid endpoint')
    if (this.deps.isSelf(target)) return ignore('own endpoint')
    if (this.punches.has(k)) return ignore('already punching')
    // BEP 55: ignore a connect for a peer we are already connected to.
    if (this.connectedTo(target)) return ignore('already connected')
    if (this.deps.isArriving?.(target)) return ignore('already connecting')
    const admitted = this.deps.limiter.admit(relay)
    if (admitted !== true) {
      relay.countDrop(`holepunch_connect_${admitted}`)
      return ignore(admitted)
    }
    const punch = new Punch(this.deps, target, this.options)
    this.punches.set(k, punch)
    this.emit('hp_punching', relay, target)
    punch.start()
    punch.done.then((r) => {
      this.punches.delete(k)
      this.deps.limiter.release()
      const pending = this.pending.get(k)
      if (!r.ok) {
        if (pending) this.endPending(k, r.reason)
        else this.emit('hp_failed', target, r.reason)
        return
      }
      const since = pending?.sentAt ?? punch.startedAt
      const success: HolepunchSuccess = {
        conn: r.conn,
        target,
        direction: r.direction,
        ms: (punch.utpAt ?? this.deps.clock.now()) - since,
        punchMs: r.utpMs,
      }
      if (pending) {
        pending.timer.cancel()
        this.pending.delete(k)
        pending.resolve(success)
      }
      this.emit('hp_connected', success)
    })
  }

  private onError(relay: PeerConnection, code: number, ep: Endpoint): void {
    const k = key(ep)
    const p = this.pending.get(k)
    if (!p || p.relay !== relay || this.punches.has(k)) return
    const name = (Object.entries(HolepunchError).find(([, c]) => c === code)?.[0] ?? 'NoSuchPeer') as HolepunchFailure
    this.endPending(k, name)
  }

  private endPending(k: string, reason: HolepunchFailure): void {
    const p = this.pending.get(k)
    if (!p) return
    this.pending.delete(k)
    p.timer.cancel()
    const target = { host: k.slice(0, k.lastIndexOf('|')), port: Number(k.slice(k.lastIndexOf('|') + 1)) }
    p.reject(this.fail(target, reason))
  }

  private fail(target: Endpoint, reason: HolepunchFailure): HolepunchFailedError {
    this.emit('hp_failed', target, reason)
    return new HolepunchFailedError(reason, target)
  }
}
