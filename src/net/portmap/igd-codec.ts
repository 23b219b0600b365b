// UPnP IGD text formats, pure: the SSDP M-SEARCH and its HTTPU reply, the device description (which services a
// gateway offers and their control URLs) and the SOAP envelopes of the WAN*Connection actions. Parsing is by
// bounded regular expressions over size-limited text: we read a handful of fields, not general XML.
import { PortMapError } from './errors.js'

export const SSDP_ADDRESS = '239.255.255.250'
export const SSDP_PORT = 1900
/** What we search for: the gateway device (v1 and v2 answer to v1), and its connection services directly. */
export const SSDP_SEARCH_TARGETS = [
  'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
] as const
/** Service types we can drive, best first. */
export const WAN_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const
/** Description documents and SOAP replies longer than this are refused. */
export const MAX_XML = 64 * 1024

export function buildMSearch(st: string, mx = 1): string {
  return (
    'M-SEARCH * HTTP/1.1\r\n' +
    `HOST: ${SSDP_ADDRESS}:${SSDP_PORT}\r\n` +
    'MAN: "ssdp:discover"\r\n' +
    `MX: ${mx}\r\n` +
    `ST: ${st}\r\n\r\n`
  )
}

export interface SsdpReply {
  location: string
  st: string
  usn: string
}

/** Parses an SSDP search reply ("HTTP/1.1 200 OK" and headers); undefined for anything else. */
export function parseSsdpReply(text: string): SsdpReply | undefined {
  if (text.length > 4096) return undefined
  const lines = text.split(/\r?\n/)
  if (!/^HTTP\/1\.[01] 200\b/i.test(lines[0] ?? '')) return undefined
  const h = new Map<string, string>()
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    if (i > 0) h.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim())
  }
  const location = h.get('location')
  if (!location || !/^http:\/\//i.test(location)) return undefined
  return { location, st: h.get('st') ?? '', usn: h.get('usn') ?? '' }
}

export interface WanService {
  serviceType: string
  /** Absolute control URL. */
  controlUrl: string
}

function xmlText(s: string): string {
  return s
    .trim()
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<(?:[\\w-]+:)?${name}\\b[^>]*>([^<]*)</(?:[\\w-]+:)?${name}>`, 'i').exec(xml)
  return m ? xmlText(m[1]) : undefined
}

/**
 * The WAN connection services of a device description, best first (WAN_SERVICES order), with their control URLs
 * resolved against URLBase or the description's own URL. Throws MALFORMED when the text is not a description.
 */
export function parseDeviceDescription(xml: string, location: string): WanService[] {
  if (xml.length > MAX_XML) throw new PortMapError('MALFORMED', 'device description too long', 'upnp')
  if (!/<root\b/i.test(xml)) throw new PortMapError('MALFORMED', 'not a UPnP device description', 'upnp')
  const base = tag(xml, 'URLBase') || location
  const found: WanService[] = []
  for (const m of xml.matchAll(/<service\b[^>]*>([\s\S]*?)<\/service>/gi)) {
    const serviceType = tag(m[1], 'serviceType')
    const control = tag(m[1], 'controlURL')
    if (!serviceType || !control || !(WAN_SERVICES as readonly string[]).includes(serviceType)) continue
    let controlUrl: string
    try {
      controlUrl = new URL(control, base).href
    } catch {
      continue
    }
    found.push({ serviceType, controlUrl })
  }
  return found.sort(
    (a, b) =>
      (WAN_SERVICES as readonly string[]).indexOf(a.serviceType) -
      (WAN_SERVICES as readonly string[]).indexOf(b.serviceType),
  )
}

export interface SoapRequest {
  soapAction: string
  body: string
}

export function buildSoapRequest(
  serviceType: string,
  action: string,
  args: ReadonlyArray<readonly [string, string | number]>,
): SoapRequest {
  const inner = args.map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`).join('')
  return {
    soapAction: `"${serviceType}#${action}"`,
    body:
      '<?xml version="1.0"?>\r\n' +
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
      's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>' +
      `<u:${action} xmlns:u="${xmlEscape(serviceType)}">${inner}</u:${action}>` +
      '</s:Body></s:Envelope>\r\n',
  }
}

export type SoapResult = { ok: true; values: Map<string, string> } | { ok: false; code: number; description: string }

/**
 * A SOAP reply: the child elements of `<u:ActionResponse>` on HTTP 200, the UPnP error code and description of a
 * fault otherwise. Throws MALFORMED when neither is there.
 */
export function parseSoapResponse(status: number, xml: string, action: string): SoapResult {
  if (xml.length > MAX_XML) throw new PortMapError('MALFORMED', 'SOAP reply too long', 'upnp')
  if (status === 200) {
    const m = new RegExp(`<(?:[\\w-]+:)?${action}Response\\b[^>]*>([\\s\\S]*?)</(?:[\\w-]+:)?${action}Response>`).exec(
      xml,
    )
    if (!m && !new RegExp(`<(?:[\\w-]+:)?${action}Response\\b[^>]*/>`).test(xml))
      throw new PortMapError('MALFORMED', `no ${action}Response in the reply`, 'upnp')
    const values = new Map<string, string>()
    for (const e of (m?.[1] ?? '').matchAll(/<([\w-]+)\b[^>]*>([^<]*)<\/\1>/g)) values.set(e[1], xmlText(e[2]))
    return { ok: true, values }
  }
  const code = tag(xml, 'errorCode')
  if (code === undefined || !/^\d{1,4}$/.test(code))
    throw new PortMapError('MALFORMED', `HTTP ${status} without a UPnP error code`, 'upnp')
  return { ok: false, code: Number(code), description: tag(xml, 'errorDescription') ?? '' }
}
