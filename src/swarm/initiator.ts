// BEP 55 for one torrent, both active roles: the initiator (after a direct dial to a holepunch-capable peer fails,
// ask an introducer among this torrent's connections for a rendezvous) and the target (a relay's `connect` starts
// a punch). Rendezvous go only through connections of the same torrent, and every punch handshakes actively with
// this torrent's info hash: a `connect` does not name the torrent, so the torrent is the one its relay serves.
import { EventEmitter } from 'node:events'
import { HolepunchError } from '../codec/holepunch.js'
import { normalizeIP } from '../codec/ip.js'
import { PexFlags } from '../codec/pex.js'
import { canReach } from '../net/address.js'
import type { DatagramSocket, Endpoint, Random, Timer } from '../net/types.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import {
  type BirthdayBudget,
  type BirthdayOptions,
  BirthdayPunch,
  type BirthdayRole,
  type BirthdayStats,
  chooseStrategy,
} from './birthday.js'
import type { ConnectLimiter } from './connect-limiter.js'
import { Punch, type PunchDeps, type PunchOptions } from './punch.js'
import type { MappingKind } from './reachability.js'
import { endpointKey, invalidTarget, sameEndpoint } from './relay.js'

export interface InitiatorOptions extends PunchOptions {
  /** How long a relay may take to answer a rendezvous with `connect` or `error`, ms. Default 10 s. */
  rendezvousTimeout?: number
  /** Endpoints remembered per PEX source, to pick the introducer that listed a peer. Default 1000. */
  maxPexSources?: number
  /**
   * Rendezvous we ask of one introducer per minute; beyond it another introducer is chosen, or the holepunch
   * fails with `no_introducer`. Default 8: relays answer a few per minute (ours 10, and it disconnects a peer
   * asking 50) and ignore the rest.
   */
  maxRendezvousPerRelay?: number
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

/**
 * Why a holepunch failed: `timeout` (no connection), `no_introducer`, `no_answer` (relay silent), `symmetric` (both
 * NATs map each destination to a random port: no strategy gets through), or a BEP 55 error name.
 */
export type HolepunchFailure =
  | 'timeout'
  | 'no_introducer'
  | 'no_answer'
  | 'aborted'
  | 'symmetric'
  | keyof typeof HolepunchError

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
  /** A punch that used the birthday strategy ended: our role and what it sent (birthday.ts). */
  hp_birthday: [target: Endpoint, role: BirthdayRole, stats: BirthdayStats, ok: boolean]
}

export interface InitiatorDeps extends Omit<PunchDeps, 'swarm'> {
  limiter: ConnectLimiter<PeerConnection>
  /** True for endpoints that are this node (its public or local endpoints). */
  isSelf(ep: Endpoint): boolean
  /** True while a connection from `ep` is arriving (before its handshake completed). Default: never. */
  isArriving?(ep: Endpoint): boolean
  /** Our NAT mapping kind now (reachability.ts). Default: always 'unknown' (plain punches only, as target). */
  natKind?(): MappingKind
  /** The birthday strategy against one symmetric NAT (birthday.ts); without it, plain punches only. */
  birthday?: {
    budget: BirthdayBudget
    random: Random
    /** Binds an extra UDP socket; without it we cannot be the side that opens sockets. */
    bindSocket?: () => Promise<DatagramSocket>
    options?: BirthdayOptions
  }
}

type AnyPunch = Punch | BirthdayPunch

interface Pending {
  target: Endpoint
  /** Key of the punch the relay's `connect` started for this rendezvous (its endpoint may differ from `target`). */
  punchKey?: string
  promise: Promise<HolepunchSuccess>
  sentAt: number
  relay: PeerConnection
  timer: Timer
  resolve: (r: HolepunchSuccess) => void
  reject: (e: HolepunchFailedError) => void
}

const key = endpointKey
/** How long a relay's late answer to a rendezvous that ended in `no_answer` is ignored, ms; and how many are kept. */
const LATE_ANSWER_WINDOW = 60_000
const MAX_UNANSWERED = 256

export class Initiator extends EventEmitter<InitiatorEvents> {
  private readonly punches = new Map<string, AnyPunch>()
  private readonly pending = new Map<string, Pending>()
  /** Endpoint → connections whose PEX listed it (newest last). */
  private readonly pexSources = new Map<string, PeerConnection[]>()
  /** When we asked each introducer for a rendezvous, within the last minute. */
  private readonly asked = new WeakMap<PeerConnection, number[]>()
  /** Rendezvous that ended in `no_answer` (oldest first): their relay's late `connect` must not start a punch. */
  private readonly unanswered = new Map<string, { relay: PeerConnection; host: string; at: number }>()
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
    // Closed connections are no introducers: forget them (the map would otherwise keep them alive).
    const forget = (conn: PeerConnection) => {
      for (const [k, list] of this.pexSources) {
        if (!list.includes(conn)) continue
        const rest = list.filter((c) => c !== conn)
        if (rest.length > 0) this.pexSources.set(k, rest)
        else this.pexSources.delete(k)
      }
    }
    swarm.on('disconnected', forget)
    swarm.on('rejected', forget)
    swarm.on('hp_connect', (relay, ip, port) => this.onConnect(relay, { host: ip, port }))
    swarm.on('hp_error', (relay, code, ep) => this.onError(relay, code, ep))
    // Connected by another way to a peer we punch to or asked a rendezvous for (it dialed us, or our direct dial
    // crossed the punch): that ends the punch and the rendezvous, with this connection. Its listen endpoint is
    // known only from its extended handshake (`p`) when it came from another port: look again then.
    swarm.on('connected', (conn) => {
      if (!this.connectedBy(conn)) conn.once('extended_handshake', () => conn.isOpen && this.connectedBy(conn))
    })
  }

  private connectedBy(conn: PeerConnection): boolean {
    for (const ep of [conn.remote, conn.listenEndpoint]) {
      const punch = this.punches.get(key(ep))
      if (punch) {
        punch.adoptConnected(conn)
        return true
      }
      if (this.resolvePending(key(ep), conn)) return true
    }
    return false
  }

  /** Ends the rendezvous pending for `k` with `conn` (however it came about); false when none is pending. */
  private resolvePending(k: string, conn: PeerConnection): boolean {
    const p = this.pending.get(k)
    if (!p) return false
    // Its punch (to the endpoint the relay named) is running: the punch ends with this connection, and it.
    const punch = p.punchKey === undefined ? undefined : this.punches.get(p.punchKey)
    if (punch) {
      punch.adoptConnected(conn)
      return true
    }
    this.pending.delete(k)
    p.timer.cancel()
    const ms = this.deps.clock.now() - p.sentAt
    const success: HolepunchSuccess = { conn, target: p.target, direction: conn.direction, ms, punchMs: 0 }
    p.resolve(success)
    // Every rendezvous ends in exactly one hp_connected or hp_failed, however the connection came about.
    this.emit('hp_connected', success)
    return true
  }

  /**
   * The punch in progress towards `ep`, if any (the node hands it incoming uTP streams from `ep`); for a birthday
   * probe, any port of the address it probes (the random side dials from the socket a probe reached).
   */
  punchFor(ep: Endpoint): AnyPunch | undefined {
    const exact = this.punches.get(key(ep))
    if (exact) return exact
    for (const p of this.punches.values()) {
      if (p instanceof BirthdayPunch && p.role === 'probe' && p.endpoint.host === ep.host && !p.isSettled) return p
    }
    return undefined
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
      c.isOpen &&
      c.holepunch.supported &&
      !sameEndpoint(c.remote, target) &&
      !sameEndpoint(c.listenEndpoint, target) &&
      this.recentAsks(c).length < (this.options.maxRendezvousPerRelay ?? 8)
    const listed = this.pexSources.get(key(target)) ?? []
    for (let i = listed.length - 1; i >= 0; i--) if (usable(listed[i])) return listed[i]
    return this.deps.swarm.connections.find(usable)
  }

  /** A direct dial to `ep` failed: holepunch when the peer supports it. Errors are reported as `hp_failed`. */
  onDialFailed(ep: Endpoint): void {
    if (this.closed || this.pending.has(key(ep)) || this.punches.has(key(ep))) return
    // A dial that lost to a crossing connection (the peer reached us meanwhile) needs no rendezvous.
    if (this.deps.isSelf(ep) || this.deps.swarm.connectionTo(ep) || !this.supportsHolepunch(ep)) return
    // No punch could reach it from our UDP socket (an IPv6 peer of an IPv4-only node): asking would be in vain.
    if (!canReach(this.deps.utp.socket, ep.host)) return
    this.rendezvous(ep).catch(() => {})
  }

  /**
   * Asks an introducer (`relay`, default `findIntroducer`) to introduce us to `target`, then punches when its
   * `connect` arrives. Resolves once a connection to the target is open; rejects with `HolepunchFailedError`.
   * While a rendezvous with `target` is pending, returns that one.
   */
  rendezvous(to: Endpoint, options: { relay?: PeerConnection } = {}): Promise<HolepunchSuccess> {
    const target = { host: normalizeIP(to.host) ?? to.host, port: to.port }
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
      if (this.pending.get(k) === p && p.punchKey === undefined) this.endPending(k, 'no_answer')
    }, this.options.rendezvousTimeout ?? 10_000)
    const p: Pending = { target, promise, sentAt: clock.now(), relay, timer, ...settle }
    this.pending.set(k, p)
    try {
      relay.holepunch.sendHpRendezvous(target)
      this.recentAsks(relay).push(clock.now())
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
    // A rendezvous whose punch runs is ended by that punch's outcome (once); the others here.
    for (const [k, p] of [...this.pending]) if (p.punchKey === undefined) this.endPending(k, 'aborted')
  }

  /** The times we asked `relay` for a rendezvous in the last minute (older ones dropped). */
  private recentAsks(relay: PeerConnection): number[] {
    const now = this.deps.clock.now()
    let times = this.asked.get(relay)
    if (!times) this.asked.set(relay, (times = []))
    while (times.length > 0 && now - times[0] >= 60_000) times.shift()
    return times
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
    // A relay may bridge IPv4 and IPv6 peers: a punch needs our UDP socket to reach the family it names.
    if (!canReach(this.deps.utp.socket, target.host)) return ignore('address family')
    if (this.deps.isSelf(target)) return ignore('own endpoint')
    if (this.punches.has(k)) return ignore('already punching')
    // BEP 55: ignore a connect for a peer we are already connected to (it answers our rendezvous, if we sent one).
    const existing = this.deps.swarm.connectionTo(target)
    if (existing) {
      this.resolvePending(k, existing)
      return ignore('already connected')
    }
    if (this.deps.isArriving?.(target)) return ignore('already connecting')
    // The answer to our own rendezvous, from the relay we asked, is what we requested: not subject to the limits
    // that keep relays from making us send packets to addresses of their choosing.
    const answers = this.answeredRendezvous(relay, target)
    // We already reported that rendezvous failed: a punch now would be a second outcome for it.
    if (answers === undefined && this.lateAnswer(relay, target)) {
      relay.countDrop('holepunch_connect_late')
      return ignore('rendezvous ended')
    }
    const admitted = answers !== undefined || this.deps.limiter.admit(relay)
    if (admitted !== true) {
      relay.countDrop(`holepunch_connect_${admitted}`)
      return ignore(admitted)
    }
    const asked = answers === undefined ? undefined : this.pending.get(answers)
    const punch = this.newPunch(target, asked?.target)
    if (punch === 'symmetric') {
      // Both mappings random: neither a plain punch nor the birthday strategy gets through. Say so at once.
      this.endPending(answers as string, 'symmetric')
      return ignore('symmetric')
    }
    if (asked) asked.punchKey = k
    this.punches.set(k, punch)
    this.emit('hp_punching', relay, target)
    punch.start()
    punch.done.then((r) => {
      this.punches.delete(k)
      if (punch instanceof BirthdayPunch) this.emit('hp_birthday', target, punch.role, { ...punch.stats }, r.ok)
      if (answers === undefined) this.deps.limiter.release()
      const pending = asked && this.pending.get(answers as string) === asked ? asked : undefined
      // Our rendezvous already ended another way (the peer reached us): it was reported then.
      if (asked && !pending) return
      if (!r.ok) {
        if (pending) this.endPending(answers as string, r.reason)
        else this.emit('hp_failed', target, r.reason)
        return
      }
      const since = pending?.sentAt ?? punch.startedAt
      const success: HolepunchSuccess = {
        conn: r.conn,
        target: pending?.target ?? target,
        direction: r.direction,
        ms: (punch.utpAt ?? this.deps.clock.now()) - since,
        punchMs: r.utpMs,
      }
      if (pending) {
        pending.timer.cancel()
        this.pending.delete(answers as string)
        pending.resolve(success)
      }
      this.emit('hp_connected', success)
    })
  }

  /**
   * The punch for a `connect` naming `target`: plain, or the birthday strategy when one side's mapping is random
   * (birthday.ts says who does what). `asked` is the endpoint of our rendezvous it answers, if any. Random-port
   * probes go only to the address we asked for (the relay named that address: `answeredRendezvous`), and every
   * birthday attempt takes one of the node's attempts per minute: beyond them, a plain punch.
   */
  private newPunch(target: Endpoint, asked: Endpoint | undefined): AnyPunch | 'symmetric' {
    const bd = this.deps.birthday
    const strategy = chooseStrategy(this.deps.natKind?.() ?? 'unknown', target, asked)
    if (strategy === 'symmetric') return 'symmetric'
    if (strategy === 'plain' || !bd) return new Punch(this.deps, target, this.options)
    if (strategy === 'sockets' && !bd.bindSocket) return new Punch(this.deps, target, this.options)
    const role = strategy === 'probe-late' ? 'probe' : strategy
    if (!bd.budget.take(role)) return new Punch(this.deps, target, this.options)
    const deps = { ...this.deps, random: bd.random, bindSocket: bd.bindSocket ?? (() => Promise.reject(new Error())) }
    return new BirthdayPunch(deps, target, role, this.options, bd.options, strategy === 'probe-late')
  }

  /**
   * The key of our pending rendezvous that a `connect` from `relay` answers: the one for `target`, else the one we
   * sent this relay for the same address (the relay names the peer by the endpoint it sees it at, which behind a NAT
   * that does not keep ports differs from the listen port we asked for).
   */
  private answeredRendezvous(relay: PeerConnection, target: Endpoint): string | undefined {
    const k = key(target)
    if (this.pending.get(k)?.relay === relay) return k
    const host = normalizeIP(target.host) ?? target.host
    for (const [pk, p] of this.pending) {
      if (p.relay === relay && p.punchKey === undefined && (normalizeIP(p.target.host) ?? p.target.host) === host)
        return pk
    }
    return undefined
  }

  /** True (once) when `relay`'s connect for `target` answers a rendezvous of ours that ended in `no_answer`. */
  private lateAnswer(relay: PeerConnection, target: Endpoint): boolean {
    const now = this.deps.clock.now()
    const host = normalizeIP(target.host) ?? target.host
    for (const [k, u] of this.unanswered) {
      if (now - u.at >= LATE_ANSWER_WINDOW) this.unanswered.delete(k)
      else if (u.relay === relay && u.host === host) {
        this.unanswered.delete(k)
        return true
      }
    }
    return false
  }

  private onError(relay: PeerConnection, code: number, ep: Endpoint): void {
    const k = key(ep)
    const p = this.pending.get(k)
    if (!p || p.relay !== relay || p.punchKey !== undefined) return
    const name = (Object.entries(HolepunchError).find(([, c]) => c === code)?.[0] ?? 'NoSuchPeer') as HolepunchFailure
    this.endPending(k, name)
  }

  private endPending(k: string, reason: HolepunchFailure): void {
    const p = this.pending.get(k)
    if (!p) return
    this.pending.delete(k)
    p.timer.cancel()
    if (reason === 'no_answer') {
      this.unanswered.delete(k)
      const host = normalizeIP(p.target.host) ?? p.target.host
      this.unanswered.set(k, { relay: p.relay, host, at: this.deps.clock.now() })
      if (this.unanswered.size > MAX_UNANSWERED) this.unanswered.delete(this.unanswered.keys().next().value as string)
    }
    p.reject(this.fail(p.target, reason))
  }

  private fail(target: Endpoint, reason: HolepunchFailure): HolepunchFailedError {
    this.emit('hp_failed', target, reason)
    return new HolepunchFailedError(reason, target)
  }
}
