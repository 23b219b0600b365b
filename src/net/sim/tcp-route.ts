// How simulated TCP segments cross the network: the same realms, NATs and link conditions as datagrams, but a
// segment is never lost for good once a connection is up. A random loss costs a retransmission timeout instead
// (doubling each time), and a segment never overtakes an earlier one of its connection (the sender passes the
// arrival time of its previous segment). SYNs and SYN-ACKs are dropped when lost: the connector's SYN timer
// re-sends them, as a real stack does. Bandwidth and queues of access links are not applied to TCP.
import type { Endpoint } from '../types.js'
import type { SimEvent, VirtualClock } from './clock.js'
import { accumulate, type Conditions, NEUTRAL, setNeutral } from './conditions.js'
import type { DropReason } from './kinds.js'
import type { TcpSegmentKind } from './nat-tcp.js'
import { accumulateLastHop } from './path.js'
import type { SeededRandom } from './random.js'
import type { Gateway, SimHost } from './realm.js'

/** One TCP segment as the simulator carries it. `edge` is the receive window's right edge (bytes consumed + window). */
export interface TcpSegment {
  kind: TcpSegmentKind
  /** Payload of a `data` segment (a private copy). */
  data?: Uint8Array
  edge?: number
}

/** Why the network dropped a TCP segment (a subset of the datagram reasons, plus `retransmit`). */
export type TcpDropReason =
  | Extract<DropReason, 'loss' | 'unroutable' | 'natNoMapping' | 'natFiltered' | 'natHairpin' | 'natExhausted'>
  | 'retransmit' // lost on every retransmission (the connection times out)

/** Counters of simulated TCP, network-wide. */
export interface SimTcpNetworkStats {
  /** Segments accepted by the network. */
  sent: number
  delivered: number
  /** Payload bytes of delivered `data` segments. */
  deliveredBytes: number
  /** Random losses that cost a retransmission delay. */
  retransmits: number
  dropped: Record<TcpDropReason, number>
}

/** Consecutive losses of one segment after which the connection gives up (Linux tcp_retries2). */
const MAX_RETRANSMITS = 15
/** Linux's minimum retransmission timeout. */
const MIN_RTO_MS = 200

/** What the fabric needs from a host's TCP stack. */
export interface TcpEndpointStack {
  receive(seg: TcpSegment, from: Endpoint, localPort: number): void
}

/** What the fabric needs of the network (a `SimNetwork`). */
export interface TcpFabricWorld {
  readonly clock: VirtualClock
  readonly random: SeededRandom
  /** The internet path conditions from one host or NAT to another. */
  linkConditions(fromId: number, toId: number): Readonly<Conditions>
}

class SegmentEvent implements SimEvent {
  at = 0
  seq = 0
  dead = false
  constructor(
    private readonly fabric: TcpFabric,
    readonly seg: TcpSegment,
    readonly srcIp: string,
    readonly srcPort: number,
    readonly dst: SimHost | Gateway,
    readonly dstIp: string,
    readonly dstPort: number,
  ) {}

  fire(): void {
    this.fabric.arrive(this)
  }
}

/** The TCP side of one `SimNetwork`: routes segments between hosts' stacks. */
export class TcpFabric {
  readonly stacks = new Map<SimHost, TcpEndpointStack>()
  private readonly path: Conditions = { ...NEUTRAL }
  private readonly counters = { sent: 0, delivered: 0, deliveredBytes: 0, retransmits: 0 }
  private readonly dropped: Record<TcpDropReason, number> = {
    loss: 0,
    unroutable: 0,
    natNoMapping: 0,
    natFiltered: 0,
    natHairpin: 0,
    natExhausted: 0,
    retransmit: 0,
  }

  constructor(
    private readonly network: TcpFabricWorld,
    private readonly makeStack: (host: SimHost) => TcpEndpointStack,
  ) {}

  stack(host: SimHost): TcpEndpointStack {
    let s = this.stacks.get(host)
    if (s === undefined) {
      s = this.makeStack(host)
      this.stacks.set(host, s)
    }
    return s
  }

  stats(): SimTcpNetworkStats {
    return { ...this.counters, dropped: { ...this.dropped } }
  }

  /**
   * Sends a segment from `host`:`srcPort` to `dstIp`:`dstPort`, arriving no earlier than `notBefore`. Returns its
   * arrival time, or the drop reason.
   */
  send(
    host: SimHost,
    srcPort: number,
    dstIp: string,
    dstPort: number,
    seg: TcpSegment,
    notBefore: number,
  ): number | TcpDropReason {
    const net = this.network
    const now = net.clock.now()
    const acc = this.path
    setNeutral(acc)
    let realm = host.realm
    let srcIp = host.ip
    let port = srcPort
    let rec = realm.records.get(dstIp)
    let crossed: Gateway | null = null
    while (rec === undefined) {
      const nat: Gateway | null = realm.gateway
      if (nat === null) return this.drop('unroutable')
      accumulate(acc, nat.lanConditions)
      if (nat.conditions !== null) accumulate(acc, nat.conditions)
      const ext = nat.tcpTrack.outbound(srcIp, port, dstIp, dstPort, seg.kind, now)
      if (ext === -1) return this.drop('natExhausted')
      if (ext < 0) return this.drop('natNoMapping')
      if (nat.translate) srcIp = nat.publicIp
      port = ext
      crossed = nat
      realm = nat.outer
      rec = realm.records.get(dstIp)
    }
    if (!accumulateLastHop(acc, host, rec, realm, crossed, net)) return this.drop('natHairpin')

    const rnd = net.random
    let delay = acc.latencyMs
    if (acc.jitterMs > 0) delay += rnd.float() * acc.jitterMs
    if (acc.loss > 0) {
      if (seg.kind === 'syn' || seg.kind === 'synack') {
        if (rnd.float() < acc.loss) return this.drop('loss')
      } else {
        // Each loss costs one retransmission timeout, doubling (RTO ≈ 2 RTT, at least 200 ms).
        let rto = Math.max(MIN_RTO_MS, 4 * acc.latencyMs)
        for (let tries = 0; rnd.float() < acc.loss; tries++) {
          if (tries >= MAX_RETRANSMITS) return this.drop('retransmit')
          this.counters.retransmits++
          delay += rto
          rto *= 2
        }
      }
    }
    this.counters.sent++
    const at = Math.max(now + delay, notBefore)
    net.clock.schedule(new SegmentEvent(this, seg, srcIp, port, rec, dstIp, dstPort), at)
    return at
  }

  /** @internal The delivery event: NATs on the way in filter and translate, then the host's stack receives. */
  arrive(ev: SegmentEvent): void {
    let rec = ev.dst
    let ip = ev.dstIp
    let port = ev.dstPort
    const now = this.network.clock.now()
    while (rec.kind === 'nat') {
      const nat: Gateway = rec
      const refused = nat.tcpTrack.inbound(ev.srcIp, ev.srcPort, ip, port, ev.seg.kind, now)
      if (refused !== null) {
        this.drop(refused)
        return
      }
      const next = nat.lan.records.get(nat.tcpTrack.resultIp)
      if (next === undefined) {
        this.drop('unroutable')
        return
      }
      ip = nat.tcpTrack.resultIp
      port = nat.tcpTrack.resultPort
      rec = next
    }
    this.counters.delivered++
    if (ev.seg.data !== undefined) this.counters.deliveredBytes += ev.seg.data.byteLength
    this.stack(rec).receive(ev.seg, { host: ev.srcIp, port: ev.srcPort }, port)
  }

  private drop(reason: TcpDropReason): TcpDropReason {
    this.dropped[reason]++
    return reason
  }
}
