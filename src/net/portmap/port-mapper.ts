// Asks the default gateway to forward ports to us: PCP, then NAT-PMP, then UPnP IGD (the first that maps a port
// is used for the others too), renews each mapping at half its lifetime and deletes them on close(). Every way
// it can fail ends in a typed `failed` event; nothing here throws at the caller after start().
import { EventEmitter } from 'node:events'
import { cryptoRandom, realClock } from '../clock.js'
import type { Clock, Endpoint, Random, Timer } from '../types.js'
import type { ClientContext, MappingClient, MappingResult } from './client.js'
import { PortMapError, type PortMapErrorCode, type PortMapProtocol } from './errors.js'
import { readDefaultGateway } from './gateway.js'
import { SSDP_ADDRESS, SSDP_PORT } from './igd-codec.js'
import { nodePortMapIo, type PortMapIo } from './io.js'
import { NatPmpClient } from './natpmp.js'
import { PORTMAP_SERVER_PORT, type TransportProtocol } from './natpmp-codec.js'
import { PcpClient } from './pcp.js'
import { UpnpClient } from './upnp.js'

export interface PortMapperOptions {
  /** The gateway's address. Default: the default route's gateway from /proc/net/route. */
  gateway?: string
  /** Protocols to try, in order. Default ['pcp', 'natpmp', 'upnp']. */
  protocols?: readonly PortMapProtocol[]
  /** Lifetime asked for, seconds. Default 7200 (the router may grant less; we renew at half of what it grants). */
  lifetime?: number
  /** One request (a UDP exchange with its re-sends, or one HTTP request), ms. Default 2000. */
  timeout?: number
  /** Re-send delays of a PCP / NAT-PMP request, ms from the first send. Default [250, 750] (RFC 6886's doubling, cut short). */
  resend?: readonly number[]
  /** UDP port of the PCP / NAT-PMP server. Default 5351. */
  serverPort?: number
  /** Where the SSDP search goes. Default 239.255.255.250:1900. */
  ssdp?: Endpoint
  /** How long to wait for an IGD to answer the SSDP search, ms. Default 2000. */
  ssdpTimeout?: number
  /** Description of UPnP mappings. Default 'mainline'. */
  description?: string
  io?: PortMapIo
  clock?: Clock
  random?: Random
}

export interface PortMapping {
  protocol: TransportProtocol
  internalPort: number
  /** The address and port the Internet reaches us at. */
  external: Endpoint
  /** Seconds granted (0: a permanent UPnP mapping). */
  lifetime: number
  via: PortMapProtocol
}

export interface PortMapFailure {
  protocol: TransportProtocol
  /** The most telling failure: a refusal or conflict over a timeout or "unsupported". */
  reason: PortMapErrorCode
  message: string
  /** Each protocol tried, in order, and how it failed. */
  attempts: { via: PortMapProtocol; code: PortMapErrorCode; message: string }[]
}

export type PortMapperEvents = {
  mapped: [m: PortMapping]
  renewed: [m: PortMapping]
  removed: [m: PortMapping]
  failed: [f: PortMapFailure]
}

/** Higher is more telling, when every protocol failed. */
const RANK: Record<PortMapErrorCode, number> = {
  NOT_AUTHORIZED: 9,
  CONFLICT: 8,
  NO_RESOURCES: 7,
  FAILED: 6,
  MALFORMED: 5,
  NETWORK: 4,
  TIMEOUT: 3,
  UNSUPPORTED: 2,
  NO_GATEWAY: 1,
  CLOSED: 0,
}

/** Failures that say no server is there, as opposed to a server that refused this one request. */
const ABSENT = new Set<PortMapErrorCode>(['TIMEOUT', 'NETWORK', 'UNSUPPORTED', 'NO_GATEWAY', 'MALFORMED'])

interface Held {
  result: MappingResult
  client: MappingClient
  timer?: Timer
}

export class PortMapper extends EventEmitter<PortMapperEvents> {
  private readonly clock: Clock
  private readonly ac = new AbortController()
  private readonly held = new Map<TransportProtocol, Held>()
  private clients: MappingClient[] | undefined
  /** Clients that found no server (timeout, unreachable, unsupported): not asked again for the next port. */
  private readonly absent = new Map<MappingClient, PortMapError>()
  private closed = false

  constructor(private readonly opts: PortMapperOptions = {}) {
    super()
    this.clock = opts.clock ?? realClock
  }

  /** The mapping of each protocol now held. */
  get mappings(): PortMapping[] {
    return [...this.held.values()].map((h) => toPublic(h.result))
  }

  mapping(protocol: TransportProtocol): PortMapping | undefined {
    const h = this.held.get(protocol)
    return h && toPublic(h.result)
  }

  /**
   * Maps `port` for each protocol (UDP first). Resolves when every attempt ended (mapped or failed: see the
   * events); never rejects.
   */
  async start(ports: readonly { protocol: TransportProtocol; port: number }[]): Promise<void> {
    let clients: MappingClient[]
    try {
      clients = await this.makeClients()
    } catch (err) {
      for (const p of ports) this.fail(p.protocol, [], asError(err))
      return
    }
    for (const p of ports) {
      if (this.closed) return
      await this.mapOne(p.protocol, p.port, clients)
    }
  }

  private async makeClients(): Promise<MappingClient[]> {
    if (this.clients) return this.clients
    const gateway = this.opts.gateway ?? (await readDefaultGateway())
    if (!gateway) throw new PortMapError('NO_GATEWAY', 'no default gateway (none in /proc/net/route)')
    const ctx: ClientContext = {
      io: this.opts.io ?? nodePortMapIo,
      random: this.opts.random ?? cryptoRandom,
      gateway,
      serverPort: this.opts.serverPort ?? PORTMAP_SERVER_PORT,
      timeout: this.opts.timeout ?? 2000,
      resend: this.opts.resend ?? [250, 750],
      signal: this.ac.signal,
    }
    const make: Record<PortMapProtocol, () => MappingClient> = {
      pcp: () => new PcpClient(ctx),
      natpmp: () => new NatPmpClient(ctx),
      upnp: () =>
        new UpnpClient(ctx, {
          ssdp: this.opts.ssdp ?? { host: SSDP_ADDRESS, port: SSDP_PORT },
          ssdpTimeout: this.opts.ssdpTimeout ?? 2000,
          description: this.opts.description ?? 'mainline',
        }),
    }
    this.clients = (this.opts.protocols ?? ['pcp', 'natpmp', 'upnp']).map((p) => make[p]())
    return this.clients
  }

  private async mapOne(protocol: TransportProtocol, port: number, clients: MappingClient[]): Promise<void> {
    // The protocol that mapped another port goes first.
    const first = [...this.held.values()][0]?.client
    const order = first ? [first, ...clients.filter((c) => c !== first)] : clients
    const attempts: PortMapError[] = []
    for (const client of order) {
      if (this.closed) return
      const gone = this.absent.get(client)
      if (gone) {
        attempts.push(gone)
        continue
      }
      try {
        const result = await client.map({ protocol, internalPort: port, externalPort: port, lifetime: this.lifetime })
        if (this.closed) {
          await client.unmap(result).catch(() => {})
          return
        }
        this.held.set(protocol, { result, client })
        this.schedule(protocol)
        this.emit('mapped', toPublic(result))
        return
      } catch (err) {
        const e = asError(err, client.name)
        if (e.code === 'CLOSED') return
        if (ABSENT.has(e.code)) this.absent.set(client, e)
        attempts.push(e)
      }
    }
    this.fail(protocol, attempts)
  }

  private get lifetime(): number {
    return this.opts.lifetime ?? 7200
  }

  /** `before`: a failure before any protocol was tried (no gateway): the reason, with no attempts. */
  private fail(protocol: TransportProtocol, attempts: PortMapError[], before?: PortMapError): void {
    const worst =
      before ??
      attempts.reduce<PortMapError | undefined>((a, b) => (!a || RANK[b.code] > RANK[a.code] ? b : a), undefined)
    this.emit('failed', {
      protocol,
      reason: worst?.code ?? 'FAILED',
      message: worst?.message ?? 'no protocol to try',
      // Every attempt's error names its protocol (asError adds it).
      attempts: attempts.map((e) => ({ via: e.protocol!, code: e.code, message: e.message })),
    })
  }

  /** Renewal at half the granted lifetime; after a failed renewal, again at half of what is left. */
  private schedule(protocol: TransportProtocol, expiresAt?: number): void {
    const h = this.held.get(protocol)
    if (!h || h.result.lifetime === 0 || this.closed) return
    const end = expiresAt ?? this.clock.now() + h.result.lifetime * 1000
    const delay = Math.max(1000, (end - this.clock.now()) / 2)
    h.timer = this.clock.setTimeout(() => void this.renew(protocol, end), delay)
  }

  private async renew(protocol: TransportProtocol, expiresAt: number): Promise<void> {
    const h = this.held.get(protocol)
    if (!h || this.closed) return
    try {
      const result = await h.client.map(
        {
          protocol,
          internalPort: h.result.internalPort,
          externalPort: h.result.external.port,
          lifetime: this.lifetime,
        },
        h.result,
      )
      if (this.closed) return
      h.result = result
      this.schedule(protocol)
      this.emit('renewed', toPublic(result))
    } catch (err) {
      const e = asError(err, h.client.name)
      if (e.code === 'CLOSED' || this.closed) return
      this.fail(protocol, [e])
      if (this.clock.now() + 1000 < expiresAt) return this.schedule(protocol, expiresAt)
      this.held.delete(protocol)
      this.emit('removed', toPublic(h.result))
    }
  }

  /** Stops renewing and deletes every mapping (each delete bounded by the request timeout). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.ac.abort()
    const held = [...this.held.values()]
    this.held.clear()
    for (const h of held) h.timer?.cancel()
    // Deletes are not cancellable (see the clients): they run although everything else was cancelled.
    const deletes = held.map(async (h) => {
      await h.client.unmap(h.result).catch(() => {})
      this.emit('removed', toPublic(h.result))
    })
    await Promise.all(deletes)
  }
}

function toPublic(r: MappingResult): PortMapping {
  return {
    protocol: r.protocol,
    internalPort: r.internalPort,
    external: { ...r.external },
    lifetime: r.lifetime,
    via: r.via,
  }
}

function asError(err: unknown, protocol?: PortMapProtocol): PortMapError {
  // A shared step (finding our address…) fails without naming the protocol it ran for.
  if (err instanceof PortMapError && protocol && !err.protocol)
    return new PortMapError(err.code, err.message, protocol, { cause: err })
  if (err instanceof PortMapError) return err
  return new PortMapError('FAILED', (err as Error)?.message ?? String(err), protocol, { cause: err })
}
