// Typed failures of router port mapping. Every way a mapping attempt can end without a mapping has its own code,
// so the node can report why it falls back to the relay path.

export type PortMapProtocol = 'pcp' | 'natpmp' | 'upnp'

export type PortMapErrorCode =
  | 'NO_GATEWAY' // no default route / no IGD answered the SSDP search
  | 'NOT_AUTHORIZED' // the router refused (PCP NOT_AUTHORIZED, NAT-PMP result 2, UPnP 606 / permission rules)
  | 'CONFLICT' // the external port is taken by another client (UPnP 718, PCP CANNOT_PROVIDE_EXTERNAL)
  | 'UNSUPPORTED' // the router does not speak this protocol or version (PCP answered by a NAT-PMP server…)
  | 'NO_RESOURCES' // the router is out of mappings or ports (PCP NO_RESOURCES, NAT-PMP result 4)
  | 'TIMEOUT' // no answer within the bounded retransmission schedule
  | 'MALFORMED' // an answer that does not parse or does not match the request
  | 'NETWORK' // a socket or HTTP error (ICMP unreachable, connection refused…)
  | 'FAILED' // any other result code from the router (the message says which)
  | 'CLOSED' // the mapper was closed while the attempt ran

export class PortMapError extends Error {
  override readonly name = 'PortMapError'
  constructor(
    readonly code: PortMapErrorCode,
    message: string,
    readonly protocol?: PortMapProtocol,
    options?: { cause?: unknown },
  ) {
    super(protocol ? `${protocol}: ${message}` : message, options)
  }
}
