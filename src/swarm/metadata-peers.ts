// Where a metadata fetch's peers come from, and the dialing of them: given peers and `x.pe` at once, DHT lookups
// (up to `DHT_ROUNDS`, a repeat only when the fetch has run out of things to do), PEX as it arrives. Each endpoint
// is reported once (`metadata:peer`) and dialed while the fetch has room (`maxPeers`).
import type { Endpoint } from '../net/types.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import type { MetadataPeerSource, MetadataTransport } from './metadata.js'
import { endpointKey } from './relay.js'

/** DHT lookups per fetch (the first, and repeats when everyone found so far failed us). */
export const DHT_ROUNDS = 3
/** Endpoints remembered per fetch: the swarm caps PEX and lookups return few; this caps the rest. */
const MAX_SEEN = 10_000

export interface PeerFinderDeps {
  /** Dials a peer (direct, then through a hole punch); resolves with the open connection. */
  connect(peer: Endpoint, signal: AbortSignal): Promise<{ conn: PeerConnection; transport: MetadataTransport }>
  /** A DHT `get_peers` lookup, when the DHT is to be used. */
  lookup?(signal: AbortSignal): AsyncIterable<Endpoint>
  /** Endpoints not to report or dial: us, banned peers. */
  ignore(ep: Endpoint): boolean
  /** Whether a connection to the endpoint is open or handshaking (no need to dial). */
  connectedTo(ep: Endpoint): boolean
  /** Free slots for dials (maxPeers less the peers in use). */
  room(): number
  found(ep: Endpoint, source: MetadataPeerSource): void
  connected(conn: PeerConnection, transport: MetadataTransport): void
  /** Something finished (a dial, a lookup): the fetch looks at its state again. */
  changed(): void
}

export class PeerFinder {
  private readonly queue: Endpoint[] = []
  private readonly seen = new Set<string>()
  private dialing = 0
  private lookups = 0
  private lookingUp = false

  constructor(
    private readonly deps: PeerFinderDeps,
    private readonly signal: AbortSignal,
  ) {}

  /** Dials in flight. */
  get dials(): number {
    return this.dialing
  }

  /** Anything under way or waiting: dials, queued endpoints, a lookup. */
  get busy(): boolean {
    return this.dialing > 0 || this.queue.length > 0 || this.lookingUp
  }

  get found(): number {
    return this.seen.size
  }

  /** Whether another DHT lookup may run. */
  get canLookUp(): boolean {
    return this.deps.lookup !== undefined && this.lookups < DHT_ROUNDS
  }

  add(ep: Endpoint, source: MetadataPeerSource): void {
    const k = endpointKey(ep)
    if (this.signal.aborted || this.seen.has(k) || this.seen.size >= MAX_SEEN || this.deps.ignore(ep)) return
    this.seen.add(k)
    this.deps.found({ host: ep.host, port: ep.port }, source)
    this.queue.push({ host: ep.host, port: ep.port })
    this.pump()
  }

  /** Dials queued endpoints while there is room. */
  pump(): void {
    while (!this.signal.aborted && this.queue.length > 0 && this.deps.room() > 0) {
      const ep = this.queue.shift() as Endpoint
      if (this.deps.ignore(ep) || this.deps.connectedTo(ep)) continue
      this.dialing++
      this.deps
        .connect(ep, this.signal)
        .then(
          ({ conn, transport }) => this.deps.connected(conn, transport),
          () => {},
        )
        .finally(() => {
          this.dialing--
          this.pump()
          this.deps.changed()
        })
    }
  }

  lookup(): void {
    const lookup = this.deps.lookup
    if (!lookup || this.lookingUp || !this.canLookUp || this.signal.aborted) return
    this.lookingUp = true
    this.lookups++
    const run = async () => {
      for await (const p of lookup(this.signal)) this.add(p, 'dht')
    }
    run()
      .catch(() => {})
      .finally(() => {
        this.lookingUp = false
        this.deps.changed()
      })
  }
}
