// The port-mapping wire formats against byte fixtures written from the RFCs (6886, 6887) and the UPnP IGD
// documents, and their behaviour on malformed input (a typed PortMapError MALFORMED, nothing else).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { PortMapError } from '../../src/net/portmap/errors.js'
import { parseProcNetRoute } from '../../src/net/portmap/gateway.js'
import {
  buildMSearch,
  buildSoapRequest,
  parseDeviceDescription,
  parseSoapResponse,
  parseSsdpReply,
} from '../../src/net/portmap/igd-codec.js'
import {
  decodeNatPmpResponse,
  encodeNatPmpAddressRequest,
  encodeNatPmpMapRequest,
} from '../../src/net/portmap/natpmp-codec.js'
import { decodePcpResponse, encodePcpMapRequest } from '../../src/net/portmap/pcp-codec.js'

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const malformed = (e: unknown) => e instanceof PortMapError && e.code === 'MALFORMED'

describe('NAT-PMP codec (RFC 6886)', () => {
  it('encodes the public address request and a mapping request', () => {
    assert.equal(toHex(encodeNatPmpAddressRequest()), '0000')
    // §3.3: version 0, op 1 (UDP), reserved, internal 6881, suggested external 6881, lifetime 7200.
    const b = encodeNatPmpMapRequest({ protocol: 'udp', internalPort: 6881, externalPort: 6881, lifetime: 7200 })
    assert.equal(toHex(b), '00010000' + '1ae1' + '1ae1' + '00001c20')
    const del = encodeNatPmpMapRequest({ protocol: 'tcp', internalPort: 6881, externalPort: 0, lifetime: 0 })
    assert.equal(toHex(del), '00020000' + '1ae1' + '0000' + '00000000')
  })

  it('decodes address and map replies', () => {
    assert.deepEqual(decodeNatPmpResponse(hex('0080 0000 00000010 cb007107')), {
      op: 'address',
      result: 0,
      epoch: 16,
      address: '203.0.113.7',
    })
    assert.deepEqual(decodeNatPmpResponse(hex('0082 0000 00000011 1ae1 1ae2 00000e10')), {
      op: 'map',
      protocol: 'tcp',
      result: 0,
      epoch: 17,
      internalPort: 6881,
      externalPort: 6882,
      lifetime: 3600,
    })
    // A refusal (result 2, not authorized) may stop after the epoch.
    const r = decodeNatPmpResponse(hex('0081 0002 00000001'))
    assert.equal(r.result, 2)
  })

  it('rejects malformed replies with MALFORMED only', () => {
    for (const bad of [
      '',
      '00',
      '0080 0000',
      '0100 0000 00000000 01020304',
      '0001 0000 00000000 01020304',
      '0085 0000 00000000',
    ]) {
      assert.throws(() => decodeNatPmpResponse(hex(bad)), malformed, bad)
    }
    assert.throws(() => decodeNatPmpResponse(hex('0081 0000 00000001')), malformed, 'a success cut short')
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        try {
          decodeNatPmpResponse(b)
        } catch (e) {
          assert.ok(malformed(e), String(e))
        }
      }),
    )
  })
})

describe('PCP codec (RFC 6887)', () => {
  const nonce = hex('0102030405060708090a0b0c')

  it('encodes a MAP request: 24-byte header + 36-byte MAP body, IPv4 as ::ffff:a.b.c.d', () => {
    const b = encodePcpMapRequest({
      clientAddress: '192.0.2.2',
      lifetime: 7200,
      nonce,
      protocol: 'udp',
      internalPort: 6881,
      externalPort: 6881,
    })
    assert.equal(
      toHex(b),
      '0201 0000 00001c20 00000000000000000000ffffc0000202'.replace(/ /g, '') +
        '0102030405060708090a0b0c 11 000000 1ae1 1ae1 00000000000000000000ffff00000000'.replace(/ /g, ''),
    )
  })

  it('decodes a MAP success, an error and a NAT-PMP server\'s "unsupported version"', () => {
    const ok = decodePcpResponse(
      hex(
        '0281 0000 00000e10 0000002a 000000000000000000000000' +
          '0102030405060708090a0b0c 06 000000 1ae1 1ae2 00000000000000000000ffffcb007107',
      ),
    )
    assert.equal(ok.result, 0)
    assert.equal(ok.lifetime, 3600)
    assert.equal(ok.epoch, 42)
    assert.deepEqual(ok.map?.nonce, nonce)
    assert.equal(ok.map?.protocol, 6)
    assert.equal(ok.map?.externalPort, 6882)
    assert.equal(ok.map?.externalAddress, '203.0.113.7')
    const denied = decodePcpResponse(hex('0281 0002 00000000 00000001 000000000000000000000000'))
    assert.equal(denied.result, 2)
    assert.equal(denied.map, undefined)
    assert.deepEqual(decodePcpResponse(hex('0081 0001 00000000')), {
      version: 0,
      opcode: 1,
      result: 1,
      lifetime: 0,
      epoch: 0,
    })
  })

  it('rejects malformed replies with MALFORMED only', () => {
    // Too short; a request; version 3; not a multiple of 4; a MAP success without its body.
    for (const bad of [
      '02',
      '0201 0000 00000000 00000000 000000000000000000000000',
      '0381 0000',
      '0281 0000 00',
      '0281 0000 00000e10 00000000 000000000000000000000000',
    ]) {
      assert.throws(() => decodePcpResponse(hex(bad)), malformed, bad)
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        try {
          decodePcpResponse(b)
        } catch (e) {
          assert.ok(malformed(e), String(e))
        }
      }),
    )
  })
})

describe('UPnP IGD texts', () => {
  it('M-SEARCH and the search reply', () => {
    const m = buildMSearch('urn:schemas-upnp-org:device:InternetGatewayDevice:1')
    assert.match(m, /^M-SEARCH \* HTTP\/1\.1\r\nHOST: 239\.255\.255\.250:1900\r\nMAN: "ssdp:discover"\r\n/)
    assert.ok(m.endsWith('\r\n\r\n'))
    const reply =
      'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n' +
      'USN: uuid:x::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\nSERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n' +
      'Location: http://192.0.2.1:34137/rootDesc.xml\r\n\r\n'
    assert.equal(parseSsdpReply(reply)?.location, 'http://192.0.2.1:34137/rootDesc.xml')
    assert.equal(parseSsdpReply('NOTIFY * HTTP/1.1\r\nLOCATION: http://x/\r\n\r\n'), undefined)
    assert.equal(parseSsdpReply('HTTP/1.1 200 OK\r\nLOCATION: file:///etc/passwd\r\n\r\n'), undefined)
  })

  it('finds the best WAN connection service and resolves its control URL', () => {
    const xml = `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device><serviceList>
      <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>/ppp</controlURL></service>
      <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service>
      <service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/l3f</controlURL></service>
      </serviceList></device></root>`
    assert.deepEqual(parseDeviceDescription(xml, 'http://192.0.2.1:5000/rootDesc.xml'), [
      { serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: 'http://192.0.2.1:5000/ctl/IPConn' },
      { serviceType: 'urn:schemas-upnp-org:service:WANPPPConnection:1', controlUrl: 'http://192.0.2.1:5000/ppp' },
    ])
    assert.throws(() => parseDeviceDescription('<html></html>', 'http://192.0.2.1/'), malformed)
  })

  it('SOAP: the envelope, a response and a fault', () => {
    const r = buildSoapRequest('urn:schemas-upnp-org:service:WANIPConnection:1', 'AddPortMapping', [
      ['NewExternalPort', 6881],
      ['NewPortMappingDescription', 'a<b&c'],
    ])
    assert.equal(r.soapAction, '"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"')
    assert.match(r.body, /<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">/)
    assert.match(r.body, /<NewPortMappingDescription>a&lt;b&amp;c<\/NewPortMappingDescription>/)
    const ok = parseSoapResponse(
      200,
      '<s:Envelope><s:Body><u:GetExternalIPAddressResponse xmlns:u="x"><NewExternalIPAddress>198.51.100.1</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>',
      'GetExternalIPAddress',
    )
    assert.ok(ok.ok && ok.values.get('NewExternalIPAddress') === '198.51.100.1')
    const fault = parseSoapResponse(
      500,
      '<s:Envelope><s:Body><s:Fault><detail><UPnPError><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>',
      'AddPortMapping',
    )
    assert.deepEqual(fault, { ok: false, code: 718, description: 'ConflictInMappingEntry' })
    assert.throws(() => parseSoapResponse(500, '<html>oops</html>', 'AddPortMapping'), malformed)
    assert.throws(() => parseSoapResponse(200, '<s:Envelope/>', 'AddPortMapping'), malformed)
  })
})

describe('default gateway from /proc/net/route', () => {
  it('takes the default route with the lowest metric', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth1\t00000000\t4100A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0',
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    ].join('\n')
    assert.deepEqual(parseProcNetRoute(text), { gateway: '192.0.2.1', iface: 'eth0', metric: 100 })
    assert.equal(parseProcNetRoute(text.split('\n').slice(0, 1).concat(text.split('\n')[3]).join('\n')), undefined)
  })
})
