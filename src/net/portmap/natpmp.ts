// NAT-PMP client (RFC 6886): the public address (asked once) and a UDP or TCP mapping per request.
import type { ClientContext, MappingClient, MappingResult, MapRequest } from './client.js'
import { PortMapError, type PortMapErrorCode } from './errors.js'
import {
  decodeNatPmpResponse,
  encodeNatPmpAddressRequest,
  encodeNatPmpMapRequest,
  type NatPmpResponse,
  NatPmpResult,
} from './natpmp-codec.js'

const RESULT_CODES: Record<number, PortMapErrorCode> = {
  [NatPmpResult.UNSUPPORTED_VERSION]: 'UNSUPPORTED',
  [NatPmpResult.NOT_AUTHORIZED]: 'NOT_AUTHORIZED',
  [NatPmpResult.OUT_OF_RESOURCES]: 'NO_RESOURCES',
  [NatPmpResult.UNSUPPORTED_OPCODE]: 'UNSUPPORTED',
}
const RESULT_NAMES = ['success', 'unsupported version', 'not authorized', 'network failure', 'out of resources']

function resultError(result: number): PortMapError {
  return new PortMapError(
    RESULT_CODES[result] ?? 'FAILED',
    `result ${result} (${RESULT_NAMES[result] ?? 'unsupported opcode'})`,
    'natpmp',
  )
}

export class NatPmpClient implements MappingClient {
  readonly name = 'natpmp' as const
  private publicAddress: string | undefined

  constructor(private readonly ctx: ClientContext) {}

  /** `cancellable` false for a delete: it runs while the mapper closes. */
  private exchange<T extends NatPmpResponse>(
    request: Uint8Array,
    match: (r: NatPmpResponse) => r is T,
    cancellable = true,
  ): Promise<T> {
    const { io, gateway, serverPort, timeout, resend } = this.ctx
    const signal = cancellable ? this.ctx.signal : undefined
    return io.udpRequest(
      { host: gateway, port: serverPort },
      request,
      (bytes) => {
        const r = decodeNatPmpResponse(bytes)
        return match(r) ? r : undefined
      },
      { protocol: 'natpmp', timeout, resend, signal },
    )
  }

  private async address(): Promise<string> {
    if (this.publicAddress) return this.publicAddress
    const r = await this.exchange(encodeNatPmpAddressRequest(), (r) => r.op === 'address')
    if (r.result !== 0) throw resultError(r.result)
    this.publicAddress = r.address
    return r.address
  }

  async map(req: MapRequest): Promise<MappingResult> {
    const host = await this.address()
    const r = await this.exchange(
      encodeNatPmpMapRequest(req),
      (r): r is Extract<NatPmpResponse, { op: 'map' }> =>
        r.op === 'map' && r.protocol === req.protocol && (r.result !== 0 || r.internalPort === req.internalPort),
    )
    if (r.result !== 0) throw resultError(r.result)
    if (r.externalPort === 0 || r.lifetime === 0)
      throw new PortMapError('MALFORMED', 'success with external port or lifetime 0', 'natpmp')
    return {
      protocol: req.protocol,
      internalPort: req.internalPort,
      external: { host, port: r.externalPort },
      lifetime: r.lifetime,
      via: 'natpmp',
    }
  }

  async unmap(m: MappingResult): Promise<void> {
    const r = await this.exchange(
      encodeNatPmpMapRequest({ protocol: m.protocol, internalPort: m.internalPort, externalPort: 0, lifetime: 0 }),
      (r): r is Extract<NatPmpResponse, { op: 'map' }> => r.op === 'map' && r.protocol === m.protocol,
      false,
    )
    if (r.result !== 0) throw resultError(r.result)
  }
}
