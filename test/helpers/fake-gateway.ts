// A fake home router on loopback for the port-mapping tests: a PCP + NAT-PMP server on one UDP port, and a UPnP
// IGD (SSDP answers on another UDP port, the description and SOAP control over HTTP). It keeps a table of the
// mappings it granted, so a test can check that close() deleted them.
import { createSocket, type Socket } from 'node:dgram'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type UdpBehaviour = 'ok' | 'deny' | 'silent' | 'garbage'
export type PcpBehaviour = UdpBehaviour | 'natpmp-only'
export type UpnpBehaviour = 'ok' | 'conflict' | 'deny' | 'off' | 'permanent-only' | 'foreign-location'

export interface FakeGatewayOptions {
  pcp?: PcpBehaviour
  natpmp?: UdpBehaviour
  upnp?: UpnpBehaviour
  /** Lifetime granted at most, seconds. Default: what was asked. */
  maxLifetime?: number
  /** External port offset: granted = asked + offset (0: the port asked for). */
  portOffset?: number
}

export interface FakeMapping {
  via: 'pcp' | 'natpmp' | 'upnp'
  protocol: 'udp' | 'tcp'
  internalPort: number
  externalPort: number
  lifetime: number
  client: string
}

export const FAKE_EXTERNAL_IP = '203.0.113.7'

export class FakeGateway {
  readonly mappings = new Map<string, FakeMapping>()
  /** Every request seen, by kind ('pcp-map', 'natpmp-map', 'natpmp-address', 'soap:AddPortMapping'…). */
  readonly seen: string[] = []
  udp!: Socket
  ssdp!: Socket
  http!: Server
  private epoch = 0

  constructor(readonly opts: FakeGatewayOptions = {}) {}

  static async start(opts: FakeGatewayOptions = {}): Promise<FakeGateway> {
    const g = new FakeGateway(opts)
    g.udp = createSocket('udp4')
    g.udp.on('message', (m, r) => g.onUdp(m, r.address, r.port))
    await new Promise<void>((res) => g.udp.bind(0, '127.0.0.1', res))
    g.http = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => g.onHttp(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks).toString(), res))
    })
    await new Promise<void>((res) => g.http.listen(0, '127.0.0.1', res))
    g.ssdp = createSocket('udp4')
    g.ssdp.on('message', (m, r) => g.onSsdp(m.toString(), r.address, r.port))
    await new Promise<void>((res) => g.ssdp.bind(0, '127.0.0.1', res))
    return g
  }

  get serverPort(): number {
    return (this.udp.address() as AddressInfo).port
  }
  get ssdpPort(): number {
    return (this.ssdp.address() as AddressInfo).port
  }
  get httpPort(): number {
    return (this.http.address() as AddressInfo).port
  }

  async close(): Promise<void> {
    this.udp.close()
    this.ssdp.close()
    this.http.closeAllConnections()
    await new Promise((r) => this.http.close(r))
  }

  private key(via: string, protocol: string, port: number): string {
    return `${via}/${protocol}/${port}`
  }

  private grant(
    via: FakeMapping['via'],
    protocol: 'udp' | 'tcp',
    internalPort: number,
    lifetime: number,
    client: string,
  ) {
    const life = Math.min(lifetime, this.opts.maxLifetime ?? lifetime)
    const m: FakeMapping = {
      via,
      protocol,
      internalPort,
      externalPort: internalPort + (this.opts.portOffset ?? 0),
      lifetime: life,
      client,
    }
    this.mappings.set(this.key(via, protocol, internalPort), m)
    return m
  }

  private onUdp(m: Buffer, host: string, port: number): void {
    const reply = (b: Buffer) => this.udp.send(b, port, host)
    if (m[0] === 2) return this.onPcp(m, reply)
    if (m[0] !== 0) return
    const behaviour = this.opts.natpmp ?? 'ok'
    const op = m[1]
    this.seen.push(op === 0 ? 'natpmp-address' : 'natpmp-map')
    if (behaviour === 'silent') return
    if (behaviour === 'garbage') return reply(Buffer.from([0, 0x80 | op, 0]))
    const result = behaviour === 'deny' ? 2 : 0
    if (op === 0) {
      const b = Buffer.alloc(12)
      b[1] = 128
      b.writeUInt16BE(result, 2)
      b.writeUInt32BE(this.epoch++, 4)
      Buffer.from(FAKE_EXTERNAL_IP.split('.').map(Number)).copy(b, 8)
      return reply(b)
    }
    if (op !== 1 && op !== 2) return
    const protocol = op === 1 ? 'udp' : 'tcp'
    const internalPort = m.readUInt16BE(4)
    const lifetime = m.readUInt32BE(8)
    const b = Buffer.alloc(16)
    b[1] = 128 + op
    b.writeUInt16BE(result, 2)
    b.writeUInt32BE(this.epoch++, 4)
    b.writeUInt16BE(internalPort, 8)
    if (result === 0) {
      if (lifetime === 0) {
        this.mappings.delete(this.key('natpmp', protocol, internalPort))
      } else {
        const g = this.grant('natpmp', protocol, internalPort, lifetime, host)
        b.writeUInt16BE(g.externalPort, 10)
        b.writeUInt32BE(g.lifetime, 12)
      }
    }
    reply(b)
  }

  private onPcp(m: Buffer, reply: (b: Buffer) => void): void {
    const behaviour = this.opts.pcp ?? 'ok'
    this.seen.push('pcp-map')
    if (behaviour === 'silent') return
    if (behaviour === 'natpmp-only') return reply(Buffer.from([0, 0x80 | m[1], 0, 1, 0, 0, 0, 0]))
    if (behaviour === 'garbage') return reply(Buffer.from([2, 0x81, 0, 0, 1, 2, 3]))
    const r = Buffer.alloc(60)
    m.copy(r, 0, 0, 60) // the MAP body is echoed
    r[0] = 2
    r[1] = 0x81
    r[2] = 0
    const lifetime = m.readUInt32BE(4)
    const protocol = m[36] === 17 ? 'udp' : 'tcp'
    const internalPort = m.readUInt16BE(40)
    r.fill(0, 8, 24)
    r.writeUInt32BE(this.epoch++, 8)
    if (behaviour === 'deny') {
      r[3] = 2
      return reply(r)
    }
    if (lifetime === 0) {
      this.mappings.delete(this.key('pcp', protocol, internalPort))
      r.writeUInt32BE(0, 4)
      return reply(r)
    }
    const nonce = m.subarray(24, 36).toString('hex')
    const had = this.mappings.get(this.key('pcp', protocol, internalPort))
    // RFC 6887 §11.3: a renewal repeats the mapping's nonce.
    if (had && had.client !== nonce) this.seen.push('pcp-nonce-mismatch')
    const g = this.grant('pcp', protocol, internalPort, lifetime, nonce)
    r.writeUInt32BE(g.lifetime, 4)
    r.writeUInt16BE(g.externalPort, 42)
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...FAKE_EXTERNAL_IP.split('.').map(Number)]).copy(r, 44)
    reply(r)
  }

  private onSsdp(text: string, host: string, port: number): void {
    if ((this.opts.upnp ?? 'ok') === 'off' || !text.startsWith('M-SEARCH')) return
    this.seen.push('ssdp')
    const st = /\r\nST: *([^\r]+)/i.exec(text)?.[1] ?? ''
    const answer =
      'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n' +
      `ST: ${st}\r\nUSN: uuid:fake::${st}\r\nEXT:\r\nSERVER: fake/1.0 UPnP/1.1\r\n` +
      // 'foreign-location': a LOCATION on another host than the one answering (what a spoofer would send).
      `LOCATION: http://${this.opts.upnp === 'foreign-location' ? '127.0.0.2' : '127.0.0.1'}:${this.httpPort}/rootDesc.xml\r\n\r\n`
    this.ssdp.send(answer, port, host)
  }

  private onHttp(
    method: string,
    url: string,
    headers: Record<string, string | string[] | undefined>,
    body: string,
    res: import('node:http').ServerResponse,
  ): void {
    this.seen.push(`http:${method} ${url}`)
    if (method === 'GET' && url === '/rootDesc.xml') {
      res.writeHead(200, { 'Content-Type': 'text/xml' })
      return void res.end(DESCRIPTION)
    }
    if (method !== 'POST' || url !== '/ctl/IPConn') {
      res.writeHead(404)
      return void res.end()
    }
    const action = /#(\w+)"?$/.exec(String(headers.soapaction ?? ''))?.[1] ?? ''
    this.seen.push(`soap:${action}`)
    const arg = (n: string) => new RegExp(`<${n}>([^<]*)</${n}>`).exec(body)?.[1] ?? ''
    const fault = (code: number, desc: string) => {
      res.writeHead(500, { 'Content-Type': 'text/xml' })
      res.end(
        `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>` +
          `<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>` +
          `<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode>` +
          `<errorDescription>${desc}</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`,
      )
    }
    const ok = (inner: string) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' })
      res.end(
        `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
          `<u:${action}Response xmlns:u="${SERVICE}">${inner}</u:${action}Response></s:Body></s:Envelope>`,
      )
    }
    const behaviour = this.opts.upnp ?? 'ok'
    const protocol = arg('NewProtocol').toLowerCase() as 'udp' | 'tcp'
    switch (action) {
      case 'AddPortMapping': {
        if (behaviour === 'conflict') return fault(718, 'ConflictInMappingEntry')
        if (behaviour === 'deny') return fault(606, 'Action not authorized')
        const lease = Number(arg('NewLeaseDuration'))
        if (behaviour === 'permanent-only' && lease !== 0) return fault(725, 'OnlyPermanentLeasesSupported')
        const ext = Number(arg('NewExternalPort'))
        this.mappings.set(this.key('upnp', protocol, ext), {
          via: 'upnp',
          protocol,
          internalPort: Number(arg('NewInternalPort')),
          externalPort: ext,
          lifetime: lease,
          client: arg('NewInternalClient'),
        })
        return ok('')
      }
      case 'DeletePortMapping': {
        const k = this.key('upnp', protocol, Number(arg('NewExternalPort')))
        if (!this.mappings.delete(k)) return fault(714, 'NoSuchEntryInArray')
        return ok('')
      }
      case 'GetExternalIPAddress':
        return ok(`<NewExternalIPAddress>${FAKE_EXTERNAL_IP}</NewExternalIPAddress>`)
      default:
        return fault(401, 'Invalid Action')
    }
  }
}

const SERVICE = 'urn:schemas-upnp-org:service:WANIPConnection:1'

// Shaped like miniupnpd's rootDesc.xml: the WAN connection service sits two devices deep.
const DESCRIPTION = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
<controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>
<controlURL>/ctl/CmnIfCfg</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>${SERVICE}</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service>
</serviceList></device></deviceList></device></deviceList></device></root>
`
