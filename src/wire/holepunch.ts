// BEP 55 on one connection (`conn.holepunch`): send rendezvous / connect / error, and receive them as typed events.
// The relay role (which needs the torrent's other connections) lives in swarm/relay.ts and listens to
// `hp_rendezvous`; the initiator role (dialing uTP on `hp_connect`) in the swarm.
//
// BEP 55: messages from a peer that did not advertise `ut_holepunch` are ignored (and counted).
import { EventEmitter } from 'node:events'
import { toHex } from '../codec/bytes.js'
import { CodecError } from '../codec/errors.js'
import { decodeHolepunch, encodeHolepunch, type HolepunchType } from '../codec/holepunch.js'
import { normalizeIP } from '../codec/ip.js'
import type { Endpoint } from '../net/types.js'
import { WireError } from './errors.js'
import type { ExtensionHost } from './extensions.js'

export const HOLEPUNCH_EXTENSION = 'ut_holepunch'

export type HolepunchEvents = {
  /** The peer asks us (as relay) to introduce it to `endpoint`; `peerId` when we know who is there. */
  hp_rendezvous: [endpoint: Endpoint, peerId: Uint8Array | undefined]
  /** A relay tells us to connect (uTP) to `ip`:`port`. */
  hp_connect: [ip: string, port: number]
  /** A relay could not act on our rendezvous for `endpoint` (code: 1 NoSuchPeer … 4 NoSelf). */
  hp_error: [code: number, endpoint: Endpoint]
}

export interface HolepunchStats {
  received: Record<HolepunchType, number>
  sent: Record<HolepunchType, number>
  /** From a peer that did not advertise ut_holepunch (BEP 55: ignore). */
  ignoredUnsupported: number
  malformed: number
}

/** Finds a peer's endpoint from its 20-byte id (the swarm provides it from the handshakes it has seen). */
export type PeerIdResolver = (peerId: Uint8Array) => Endpoint | undefined
/** Finds a peer's id from its endpoint, when known. */
export type EndpointResolver = (endpoint: Endpoint) => Uint8Array | undefined

export class Holepunch extends EventEmitter<HolepunchEvents> {
  /** Set by the swarm: resolves a target peer id for `sendHpRendezvous`. */
  resolvePeerId: PeerIdResolver | undefined
  /** Set by the swarm: names the peer at a rendezvous endpoint in `hp_rendezvous`. */
  resolveEndpoint: EndpointResolver | undefined
  readonly stats: HolepunchStats = {
    received: { rendezvous: 0, connect: 0, error: 0 },
    sent: { rendezvous: 0, connect: 0, error: 0 },
    ignoredUnsupported: 0,
    malformed: 0,
  }

  constructor(private readonly conn: ExtensionHost) {
    super()
    conn.handleExtension(HOLEPUNCH_EXTENSION, (payload) => this.onPayload(payload))
  }

  /** Whether the remote advertised ut_holepunch (in its latest extended handshake). */
  get supported(): boolean {
    return this.conn.extensions.remoteSupports(HOLEPUNCH_EXTENSION)
  }

  /**
   * Asks this peer (the relay) to introduce us to `target`: an endpoint, or a 20-byte peer id resolved through
   * the swarm (BEP 55 carries endpoints on the wire). Throws `WireError` `UNKNOWN_PEER_ID` for an id nobody
   * resolves, `NOT_SUPPORTED` when the relay did not advertise ut_holepunch, `NOT_CONNECTED` when closed.
   */
  sendHpRendezvous(target: Endpoint | Uint8Array): void {
    let endpoint: Endpoint
    if (target instanceof Uint8Array) {
      const found = target.length === 20 ? this.resolvePeerId?.(target) : undefined
      if (!found) throw new WireError('UNKNOWN_PEER_ID', `no known endpoint for peer id ${toHex(target)}`)
      endpoint = found
    } else {
      endpoint = target
    }
    this.send({ type: 'rendezvous', host: endpoint.host, port: endpoint.port, errorCode: 0 })
  }

  /** Tells this peer to connect (uTP) to `ip`:`port`. */
  sendHpConnect(ip: string, port: number): void {
    this.send({ type: 'connect', host: ip, port, errorCode: 0 })
  }

  /** Tells this peer its rendezvous for `endpoint` failed (1 NoSuchPeer, 2 NotConnected, 3 NoSupport, 4 NoSelf). */
  sendHpError(code: number, endpoint: Endpoint): void {
    this.send({ type: 'error', host: endpoint.host, port: endpoint.port, errorCode: code })
  }

  private send(m: { type: HolepunchType; host: string; port: number; errorCode: number }): void {
    const host = normalizeIP(m.host)
    if (host === undefined) throw new WireError('NOT_SUPPORTED', `not an IP address: ${m.host}`)
    const payload = encodeHolepunch({ ...m, host })
    if (!this.conn.sendExtended(HOLEPUNCH_EXTENSION, payload)) {
      throw new WireError('NOT_SUPPORTED', 'the peer did not advertise ut_holepunch')
    }
    this.stats.sent[m.type]++
  }

  private onPayload(payload: Uint8Array): void {
    if (!this.supported) {
      this.stats.ignoredUnsupported++
      this.conn.countDrop('holepunch_from_unsupporting_peer')
      return
    }
    let m: ReturnType<typeof decodeHolepunch>
    try {
      m = decodeHolepunch(payload)
    } catch (err) {
      if (!(err instanceof CodecError)) throw err
      this.stats.malformed++
      this.conn.countDrop('holepunch_malformed')
      return
    }
    this.stats.received[m.type]++
    const endpoint = { host: m.host, port: m.port }
    if (m.type === 'rendezvous') this.emit('hp_rendezvous', endpoint, this.resolveEndpoint?.(endpoint))
    else if (m.type === 'connect') this.emit('hp_connect', m.host, m.port)
    else this.emit('hp_error', m.errorCode, endpoint)
  }
}
