// Hole punching when one side's NAT maps every destination to a new random port (a symmetric NAT), the
// "birthday" strategy (docs/symmetric-nat.md). The plain punch (punch.ts) runs alongside, so nothing is lost when
// the guess about the other side's NAT was wrong.
//
//   - the random side ("sockets") opens up to 256 extra UDP sockets and sends a small probe from each to the
//     consistent side's endpoint: each opens one mapping (a random external port) in its NAT that lets that
//     endpoint in.
//   - the consistent side ("probe") sends probes from its shared port to random ports of the random side's address,
//     at a bounded rate. One probe that lands on one of those mappings reaches an extra socket.
//   - the first probe an extra socket receives from the consistent side's exact endpoint turns that socket into a
//     uTP socket: it dials the consistent side, whose NAT now lets that port in (it just sent there), and the
//     connection is handed to the swarm. Every other extra socket is closed at once; the winning one lives as long
//     as its connection.
//
// Who does what (`chooseStrategy`): each side knows its own mapping kind (reachability.ts). The side that asked for
// the rendezvous also knows the port it asked for (the peer's listen port, from the DHT or PEX) and sees the port the
// relay names (where the relay sees the peer): a NAT that kept the port is taken as consistent, one that changed it
// as random. The target of a `connect` only knows its own kind. So: only the asker probes random ports (and only of
// the address it asked for); a random target always opens its sockets; an asker that is random itself towards a
// peer that looks random gives up at once (`symmetric`).
import { EventEmitter } from 'node:events'
import type { Handshake } from '../codec/peer-wire.js'
import type { Clock, DatagramSocket, Endpoint, Random, Timer } from '../net/types.js'
import { UtpSocketManager } from '../utp/socket-manager.js'
import type { UtpStream } from '../utp/stream.js'
import { WireError } from '../wire/errors.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { DEFAULT_RESEND_SCHEDULE, Punch, type PunchDeps, type PunchOptions, type PunchResult } from './punch.js'
import type { MappingKind } from './reachability.js'

/** The probe datagram: 8 bytes, neither uTP (20-byte header) nor a DHT message (bencoded dict). */
export const BIRTHDAY_PROBE = new TextEncoder().encode('mlbday01')

/** Hard limits, whatever the options say. */
export const BIRTHDAY_LIMITS = { sockets: 256, probes: 4096, socketPackets: 1024, attemptsPerMinute: 16 } as const

export interface BirthdayOptions {
  /** Extra sockets the random side opens. Default 256 (at most 256). */
  sockets?: number
  /** Probes per second the consistent side sends. Default 400. */
  probeRate?: number
  /** Probes per attempt. Default 3000 (at most 4096). */
  maxProbes?: number
  /** When the random side sends each socket's probe again (beats loss), ms after the start. Default [1000, 3000]. */
  resends?: readonly number[]
  /** Attempts per minute in each role (node-wide). Default 4 (at most 16). */
  attemptsPerMinute?: number
  /** How long an attempt may take, ms. Default 10 s (the plain punch alongside keeps its own timeout). */
  timeout?: number
  /** When the peer looks consistent, probe only if the plain punch has not connected by then, ms. Default 1000. */
  lateProbeDelay?: number
}

export type BirthdayRole = 'probe' | 'sockets'
/** `probe-late`: the plain punch first; probes only when it has not connected within `lateProbeDelay`. */
export type Strategy = 'plain' | BirthdayRole | 'probe-late' | 'symmetric'

/**
 * What to do on a relay's `connect` naming `named`. `asked` is the endpoint we asked a rendezvous for, when the
 * `connect` answers ours (undefined when we are the target).
 */
export function chooseStrategy(own: MappingKind, named: Endpoint, asked: Endpoint | undefined): Strategy {
  if (asked === undefined) return own === 'random' ? 'sockets' : 'plain'
  const peerRandom = asked.port !== named.port
  if (own === 'random') return peerRandom ? 'symmetric' : 'sockets'
  // A kept port is weak evidence (a relay names a peer it reaches over TCP by its listen port): probe late.
  return peerRandom ? 'probe' : 'probe-late'
}

/** Node-wide attempts per minute, per role: a relay cannot make us open sockets or probe without bound. */
export class BirthdayBudget {
  private readonly times: Record<BirthdayRole, number[]> = { probe: [], sockets: [] }
  readonly perMinute: number
  constructor(
    private readonly clock: Clock,
    perMinute = 4,
  ) {
    this.perMinute = Math.max(0, Math.min(BIRTHDAY_LIMITS.attemptsPerMinute, perMinute))
  }
  /** Takes one attempt in `role`; false when this minute's are used up. */
  take(role: BirthdayRole): boolean {
    const now = this.clock.now()
    const t = this.times[role]
    while (t.length > 0 && now - t[0] >= 60_000) t.shift()
    if (t.length >= this.perMinute) return false
    t.push(now)
    return true
  }
}

export interface BirthdayDeps extends PunchDeps {
  random: Random
  /** Binds one extra UDP socket (random side). */
  bindSocket: () => Promise<DatagramSocket>
}

export interface BirthdayStats {
  sockets: number
  /** Datagrams sent: probes to random ports (probe role) or probes from the extra sockets (sockets role). */
  sent: number
  /** The extra socket a probe reached, if one did. */
  hitSocket?: number
}

/** A plain punch plus the birthday strategy in one role; the same surface as `Punch` for the initiator. */
export class BirthdayPunch extends EventEmitter {
  readonly endpoint: Endpoint
  readonly startedAt: number
  readonly done: Promise<PunchResult>
  readonly stats: BirthdayStats = { sockets: 0, sent: 0 }
  utpAt: number | undefined
  private readonly plain: Punch
  private settle!: (r: PunchResult) => void
  private settled = false
  private readonly timers: Timer[] = []
  private sockets: DatagramSocket[] = []
  private winner: { socket: DatagramSocket; manager: UtpSocketManager } | undefined
  private conn: PeerConnection | undefined
  private readonly opts: Required<Omit<BirthdayOptions, 'attemptsPerMinute'>>

  constructor(
    private readonly deps: BirthdayDeps,
    endpoint: Endpoint,
    readonly role: BirthdayRole,
    private readonly punchOptions: PunchOptions = {},
    options: BirthdayOptions = {},
    /** Probe role: start probing only after `lateProbeDelay` (the peer looks consistent). */
    private readonly late = false,
  ) {
    super()
    this.endpoint = { host: endpoint.host, port: endpoint.port }
    this.startedAt = deps.clock.now()
    this.opts = {
      sockets: clamp(options.sockets ?? 256, 1, BIRTHDAY_LIMITS.sockets),
      probeRate: clamp(options.probeRate ?? 400, 1, 2000),
      maxProbes: clamp(options.maxProbes ?? 3000, 0, BIRTHDAY_LIMITS.probes),
      resends: options.resends ?? [1000, 3000],
      timeout: options.timeout ?? 10_000,
      lateProbeDelay: options.lateProbeDelay ?? 1000,
    }
    this.plain = new Punch(deps, endpoint, punchOptions)
    this.plain.on('utp', () => this.markUtp())
    this.done = new Promise((resolve) => {
      this.settle = resolve
    })
  }

  get isSettled(): boolean {
    return this.settled
  }

  start(): void {
    this.plain.start()
    this.plain.done.then((r) => {
      if (r.ok) this.finish(r)
    })
    const { clock } = this.deps
    this.timers.push(clock.setTimeout(() => this.finish({ ok: false, reason: 'timeout' }), this.timeout))
    if (this.role === 'probe') this.startProbing()
    else void this.openSockets()
  }

  /** An incoming uTP stream from the peer's address: the plain punch's (same endpoint) or a birthday one. */
  offerIncoming(stream: UtpStream, handshake: Handshake): void {
    if (this.settled || this.conn) return void stream.destroy()
    const r = stream.remote
    if (r.host === this.endpoint.host && r.port === this.endpoint.port)
      return this.plain.offerIncoming(stream, handshake)
    if (this.role !== 'probe') return void stream.destroy()
    // A probe met a mapping: the random side dialed us from that socket.
    this.markUtp()
    this.stopTimers(false)
    const conn = this.deps.swarm.addStream(stream, {
      remote: { host: r.host, port: r.port },
      local: this.deps.utp.socket.address(),
      transport: 'utp',
      direction: 'incoming',
    })
    stream.resume()
    if (!conn) return
    this.conn = conn
    conn.once('handshake', () => conn.isOpen && this.finish(this.success(conn, 'incoming')))
    conn.once('close', () => {
      if (this.conn === conn) this.conn = undefined
    })
  }

  adoptConnected(conn: PeerConnection): void {
    if (this.settled || !conn.isOpen || conn === this.conn) return
    this.finish(this.success(conn, conn.direction))
  }

  abort(): void {
    this.finish({ ok: false, reason: 'aborted' })
  }

  private get timeout(): number {
    return Math.max(this.opts.timeout, this.punchOptions.timeout ?? 5000)
  }

  private markUtp(): void {
    if (this.utpAt === undefined) this.utpAt = this.deps.clock.now()
  }

  private success(conn: PeerConnection, direction: 'incoming' | 'outgoing'): PunchResult {
    const now = this.deps.clock.now()
    return { ok: true, conn, direction, utpMs: (this.utpAt ?? now) - this.startedAt, ms: now - this.startedAt }
  }

  /** Probe role: random ports of the peer's address, from the shared port, `probeRate` a second, `maxProbes` in all. */
  private startProbing(): void {
    const { clock, random, utp } = this.deps
    const tick = 20
    const perTick = Math.max(1, Math.round((this.opts.probeRate * tick) / 1000))
    const send = () => {
      if (this.settled || this.conn) return
      for (let i = 0; i < perTick && this.stats.sent < this.opts.maxProbes; i++) {
        // Ports 1024..65535: what Linux and most NATs allocate from.
        const b = random.bytes(2)
        const port = 1024 + (((b[0] << 8) | b[1]) % (65536 - 1024))
        utp.socket.send(BIRTHDAY_PROBE, { host: this.endpoint.host, port })
        this.stats.sent++
      }
      if (this.stats.sent < this.opts.maxProbes) this.timers.push(clock.setTimeout(send, tick))
    }
    // A moment for the random side's sockets to open their mappings first (or for the plain punch, when late).
    this.timers.push(clock.setTimeout(send, this.late ? this.opts.lateProbeDelay : 100))
  }

  /** Sockets role: open the sockets, each sends a probe to the peer's endpoint (and again on `resends`). */
  private async openSockets(): Promise<void> {
    const n = this.opts.sockets
    const budget = Math.min(BIRTHDAY_LIMITS.socketPackets, n * (1 + this.opts.resends.length))
    const bound = await Promise.allSettled(Array.from({ length: n }, () => this.deps.bindSocket()))
    const sockets = bound.flatMap((b) => (b.status === 'fulfilled' ? [b.value] : []))
    if (this.settled || this.winner) {
      for (const s of sockets) void s.close()
      return
    }
    this.sockets = sockets
    this.stats.sockets = sockets.length
    const probeAll = () => {
      for (const s of this.sockets) {
        if (this.stats.sent >= budget) return
        s.send(BIRTHDAY_PROBE, this.endpoint)
        this.stats.sent++
      }
    }
    sockets.forEach((s, i) => {
      s.setReceiver((_data, from) => this.onSocketDatagram(i, from))
    })
    probeAll()
    for (const at of this.opts.resends) {
      this.timers.push(this.deps.clock.setTimeout(() => this.winner || this.settled || probeAll(), at))
    }
  }

  /** A datagram on extra socket `i`: from the peer's exact endpoint, it is the probe that got through. */
  private onSocketDatagram(i: number, from: Endpoint): void {
    if (this.settled || this.winner) return
    if (from.host !== this.endpoint.host || from.port !== this.endpoint.port) return
    const socket = this.sockets[i]
    if (!socket) return
    this.stats.hitSocket = i
    this.closeSockets(socket)
    this.stopTimers(false)
    const { clock, random, swarm } = this.deps
    const manager = new UtpSocketManager(socket, { synCookies: true, clock, random, resetUnknown: false })
    this.winner = { socket, manager }
    let out: UtpStream
    try {
      out = manager.connect(this.endpoint)
    } catch {
      return
    }
    out.on('error', () => {})
    for (const at of this.punchOptions.resendSchedule ?? DEFAULT_RESEND_SCHEDULE) {
      this.timers.push(clock.setTimeout(() => out.connecting && !this.settled && out.resendSyn(), at))
    }
    out.once('connect', () => {
      if (this.settled) return
      this.markUtp()
      const conn = swarm.addStream(out, {
        remote: this.endpoint,
        local: socket.address(),
        transport: 'utp',
        direction: 'outgoing',
      })
      if (!conn) return
      this.conn = conn
      // The socket and its manager live as long as the connection.
      conn.once('close', () => this.releaseWinner())
      conn.once('handshake', () => conn.isOpen && this.finish(this.success(conn, 'outgoing')))
    })
  }

  private closeSockets(keep?: DatagramSocket): void {
    for (const s of this.sockets) {
      if (s === keep) continue
      s.setReceiver(null)
      void s.close()
    }
    this.sockets = keep ? [keep] : []
  }

  private releaseWinner(): void {
    const w = this.winner
    this.winner = undefined
    if (!w) return
    void w.manager.close().then(() => w.socket.close())
  }

  private stopTimers(all: boolean): void {
    // The deadline (the first timer) stays unless the attempt is over.
    const keep = all ? [] : this.timers.slice(0, 1)
    for (const t of this.timers) if (!keep.includes(t)) t.cancel()
    this.timers.length = 0
    this.timers.push(...keep)
  }

  private finish(result: PunchResult): void {
    if (this.settled) return
    this.settled = true
    this.stopTimers(true)
    const kept = result.ok ? result.conn : undefined
    if (kept !== undefined && this.plain.isSettled === false) this.plain.abort()
    else if (!result.ok) this.plain.abort()
    // The plain punch's connection, when it won, leaves ours (and the other way round).
    if (this.conn && this.conn !== kept) this.conn.close(new WireError('TIMEOUT', 'hole punch ended'))
    if (!this.winner || this.conn !== kept || kept === undefined) {
      this.closeSockets()
      if (!kept || this.conn !== kept) this.releaseWinner()
    }
    this.emit('end', result, this.stats)
    this.settle(result)
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.floor(v)))
}
