// PCP client (RFC 6887), MAP opcode only. A NAT-PMP-only server answers with version 0: UNSUPPORTED, and the
// mapper moves on to NAT-PMP. Replies must repeat our nonce (an off-path spoofer cannot guess it; the socket is
// also connected to the gateway).
import { bytesEqual } from '../../codec/bytes.js'
import type { ClientContext, MappingClient, MappingResult, MapRequest } from './client.js'
import { PortMapError, type PortMapErrorCode } from './errors.js'
import {
  decodePcpResponse,
  encodePcpMapRequest,
  PCP_RESULT_NAMES,
  type PcpResponse,
  PcpResult,
  pcpProtocolNumber,
} from './pcp-codec.js'

const RESULT_CODES: Record<number, PortMapErrorCode> = {
  [PcpResult.UNSUPP_VERSION]: 'UNSUPPORTED',
  [PcpResult.UNSUPP_OPCODE]: 'UNSUPPORTED',
  [PcpResult.UNSUPP_PROTOCOL]: 'UNSUPPORTED',
  [PcpResult.NOT_AUTHORIZED]: 'NOT_AUTHORIZED',
  [PcpResult.NO_RESOURCES]: 'NO_RESOURCES',
  [PcpResult.USER_EX_QUOTA]: 'NO_RESOURCES',
  [PcpResult.CANNOT_PROVIDE_EXTERNAL]: 'CONFLICT',
}

export class PcpClient implements MappingClient {
  readonly name = 'pcp' as const
  private clientAddress: string | undefined

  constructor(private readonly ctx: ClientContext) {}

  /** `cancellable` false for a delete: it runs while the mapper closes. */
  private async send(req: MapRequest, nonce: Uint8Array, cancellable = true): Promise<PcpResponse> {
    const { io, gateway, serverPort, timeout, resend } = this.ctx
    const signal = cancellable ? this.ctx.signal : undefined
    this.clientAddress ??= await io.localAddressTo(gateway)
    const request = encodePcpMapRequest({ ...req, clientAddress: this.clientAddress, nonce })
    const r = await io.udpRequest(
      { host: gateway, port: serverPort },
      request,
      (bytes) => {
        const r = decodePcpResponse(bytes)
        if (r.version === 0) return r
        if (r.opcode !== 1) return undefined
        // An error reply may carry no body; a success must be ours.
        if (!r.map) return r.result !== 0 ? r : undefined
        const ours =
          bytesEqual(r.map.nonce, nonce) &&
          r.map.protocol === pcpProtocolNumber(req.protocol) &&
          r.map.internalPort === req.internalPort
        return ours ? r : undefined
      },
      { protocol: 'pcp', timeout, resend, signal },
    )
    if (r.version === 0) throw new PortMapError('UNSUPPORTED', 'the gateway speaks NAT-PMP only', 'pcp')
    if (r.result !== 0) {
      const name = PCP_RESULT_NAMES[r.result] ?? String(r.result)
      throw new PortMapError(RESULT_CODES[r.result] ?? 'FAILED', `result ${r.result} (${name})`, 'pcp')
    }
    return r
  }

  async map(req: MapRequest, previous?: MappingResult): Promise<MappingResult> {
    const nonce = previous?.nonce ?? this.ctx.random.bytes(12)
    const r = await this.send(req, nonce)
    const map = r.map!
    if (map.externalPort === 0 || r.lifetime === 0)
      throw new PortMapError('MALFORMED', 'success with external port or lifetime 0', 'pcp')
    return {
      protocol: req.protocol,
      internalPort: req.internalPort,
      external: { host: map.externalAddress, port: map.externalPort },
      lifetime: r.lifetime,
      via: 'pcp',
      nonce,
    }
  }

  async unmap(m: MappingResult): Promise<void> {
    const nonce = m.nonce ?? this.ctx.random.bytes(12)
    await this.send({ protocol: m.protocol, internalPort: m.internalPort, externalPort: 0, lifetime: 0 }, nonce, false)
  }
}
