// What the three mapping protocols have in common: a client that maps one internal port of one transport protocol
// on the gateway and deletes it again. PortMapper (port-mapper.ts) drives them in order.
import type { Endpoint, Random } from '../types.js'
import type { PortMapProtocol } from './errors.js'
import type { PortMapIo } from './io.js'
import type { TransportProtocol } from './natpmp-codec.js'

export interface MapRequest {
  protocol: TransportProtocol
  internalPort: number
  /** The external port we would like (the router may give another). */
  externalPort: number
  /** Seconds. */
  lifetime: number
}

export interface MappingResult {
  protocol: TransportProtocol
  internalPort: number
  external: Endpoint
  /** Seconds granted; 0 for a permanent UPnP mapping (deleted on close, never renewed). */
  lifetime: number
  via: PortMapProtocol
  /** PCP: the nonce that a renewal or delete must repeat. */
  nonce?: Uint8Array
}

export interface ClientContext {
  io: PortMapIo
  random: Random
  gateway: string
  /** UDP port of the PCP / NAT-PMP server. Default 5351 (tests use another). */
  serverPort: number
  /** One UDP exchange, or one HTTP request, ms. */
  timeout: number
  /** Re-send delays of a UDP request, ms from the first send. */
  resend: readonly number[]
  signal: AbortSignal
}

export interface MappingClient {
  readonly name: PortMapProtocol
  /** Maps (or renews: pass the previous result) a port. Rejects with a PortMapError. */
  map(req: MapRequest, previous?: MappingResult): Promise<MappingResult>
  /** Deletes a mapping this client made. Rejects with a PortMapError. */
  unmap(m: MappingResult): Promise<void>
}
