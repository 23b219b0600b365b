// UPnP IGD client: SSDP search on the LAN, the device description, then the WAN*Connection SOAP actions
// AddPortMapping / DeletePortMapping / GetExternalIPAddress (one HTTP request each, bounded in size and time).
import type { Endpoint } from '../types.js'
import type { ClientContext, MappingClient, MappingResult, MapRequest } from './client.js'
import { PortMapError, type PortMapErrorCode } from './errors.js'
import {
  buildSoapRequest,
  parseDeviceDescription,
  parseSoapResponse,
  SSDP_SEARCH_TARGETS,
  type WanService,
} from './igd-codec.js'

/** UPnP IGD error codes (WANIPConnection:2 §2.4.16) and what they mean for us. */
const ERROR_CODES: Record<number, PortMapErrorCode> = {
  606: 'NOT_AUTHORIZED', // Action not authorized
  718: 'CONFLICT', // ConflictInMappingEntry (miniupnpd also answers this when its permission rules deny)
  724: 'FAILED', // SamePortValuesRequired
  725: 'FAILED', // OnlyPermanentLeasesSupported (retried with lease 0 first)
  728: 'NO_RESOURCES', // NoPortMapsAvailable
  729: 'CONFLICT', // ConflictWithOtherMechanisms
  401: 'UNSUPPORTED', // Invalid Action
}

export interface UpnpOptions {
  /** Where the M-SEARCH goes. Default 239.255.255.250:1900 (tests: a fake IGD on loopback). */
  ssdp: Endpoint
  /** How long to wait for an SSDP answer, ms. */
  ssdpTimeout: number
  /** NewPortMappingDescription. */
  description: string
}

export class UpnpClient implements MappingClient {
  readonly name = 'upnp' as const
  private gateway: Promise<{ service: WanService; localAddress: string }> | undefined

  constructor(
    private readonly ctx: ClientContext,
    private readonly opts: UpnpOptions,
  ) {}

  private discover(): Promise<{ service: WanService; localAddress: string }> {
    this.gateway ??= (async () => {
      const { io, timeout, signal } = this.ctx
      const found = await io.ssdpSearch(this.opts.ssdp, SSDP_SEARCH_TARGETS, this.opts.ssdpTimeout, signal)
      if (signal.aborted) throw new PortMapError('CLOSED', 'cancelled', 'upnp')
      if (!found) throw new PortMapError('NO_GATEWAY', `no IGD answered the SSDP search`, 'upnp')
      const desc = await io.http(found.reply.location, { method: 'GET', timeout })
      if (desc.status !== 200) throw new PortMapError('MALFORMED', `device description: HTTP ${desc.status}`, 'upnp')
      const [service] = parseDeviceDescription(desc.body, found.reply.location)
      if (!service) throw new PortMapError('UNSUPPORTED', 'the IGD offers no WAN connection service', 'upnp')
      return { service, localAddress: await io.localAddressTo(found.from) }
    })()
    // A failed discovery is tried again next time.
    this.gateway.catch(() => {
      this.gateway = undefined
    })
    return this.gateway
  }

  private async soap(action: string, args: ReadonlyArray<readonly [string, string | number]>) {
    const { service } = await this.discover()
    const req = buildSoapRequest(service.serviceType, action, args)
    const r = await this.ctx.io.http(service.controlUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: req.soapAction },
      body: req.body,
      timeout: this.ctx.timeout,
    })
    return parseSoapResponse(r.status, r.body, action)
  }

  private async add(req: MapRequest, externalPort: number, lease: number) {
    const { localAddress } = await this.discover()
    return this.soap('AddPortMapping', [
      ['NewRemoteHost', ''],
      ['NewExternalPort', externalPort],
      ['NewProtocol', req.protocol.toUpperCase()],
      ['NewInternalPort', req.internalPort],
      ['NewInternalClient', localAddress],
      ['NewEnabled', 1],
      ['NewPortMappingDescription', this.opts.description],
      ['NewLeaseDuration', lease],
    ])
  }

  async map(req: MapRequest, previous?: MappingResult): Promise<MappingResult> {
    const externalPort = previous?.external.port ?? (req.externalPort || req.internalPort)
    let lifetime = req.lifetime
    let r = await this.add(req, externalPort, lifetime)
    if (!r.ok && r.code === 725) {
      lifetime = 0 // an IGDv1 that only keeps permanent mappings: we delete it on close
      r = await this.add(req, externalPort, 0)
    }
    if (!r.ok)
      throw new PortMapError(ERROR_CODES[r.code] ?? 'FAILED', `AddPortMapping: ${r.code} ${r.description}`, 'upnp')
    const ip = await this.soap('GetExternalIPAddress', [])
    const host = ip.ok ? ip.values.get('NewExternalIPAddress') : undefined
    if (!host) throw new PortMapError('MALFORMED', 'GetExternalIPAddress gave no address', 'upnp')
    return {
      protocol: req.protocol,
      internalPort: req.internalPort,
      external: { host, port: externalPort },
      lifetime,
      via: 'upnp',
    }
  }

  async unmap(m: MappingResult): Promise<void> {
    const r = await this.soap('DeletePortMapping', [
      ['NewRemoteHost', ''],
      ['NewExternalPort', m.external.port],
      ['NewProtocol', m.protocol.toUpperCase()],
    ])
    if (!r.ok)
      throw new PortMapError(ERROR_CODES[r.code] ?? 'FAILED', `DeletePortMapping: ${r.code} ${r.description}`, 'upnp')
  }
}
