// PortMapper against a fake router on loopback (test/helpers/fake-gateway.ts): each protocol maps, renews and
// deletes; a router that speaks only some protocols is served by the next one; every failure is a typed event.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { afterEach, describe, it } from 'node:test'
import {
  type PortMapFailure,
  PortMapper,
  type PortMapperOptions,
  type PortMapping,
} from '../../src/net/portmap/port-mapper.js'
import { VirtualClock } from '../../src/net/sim/clock.js'
import { FAKE_EXTERNAL_IP, FakeGateway, type FakeGatewayOptions } from '../helpers/fake-gateway.js'

const PORTS = [
  { protocol: 'udp', port: 6881 },
  { protocol: 'tcp', port: 6881 },
] as const

let gw: FakeGateway | undefined
let mapper: PortMapper | undefined
afterEach(async () => {
  await mapper?.close()
  await gw?.close()
  mapper = gw = undefined
})

async function run(fake: FakeGatewayOptions, opts: PortMapperOptions = {}) {
  gw = await FakeGateway.start(fake)
  mapper = new PortMapper({
    gateway: '127.0.0.1',
    serverPort: gw.serverPort,
    ssdp: { host: '127.0.0.1', port: gw.ssdpPort },
    timeout: 300,
    resend: [100],
    ssdpTimeout: 300,
    ...opts,
  })
  const mapped: PortMapping[] = []
  const failed: PortMapFailure[] = []
  mapper.on('mapped', (m) => mapped.push(m))
  mapper.on('failed', (f) => failed.push(f))
  await mapper.start(PORTS)
  return { gw, mapper, mapped, failed }
}

describe('PortMapper with a fake gateway on loopback', () => {
  for (const via of ['pcp', 'natpmp', 'upnp'] as const) {
    it(`${via}: maps UDP and TCP, learns the external address, deletes both on close()`, async () => {
      const fake: FakeGatewayOptions = {
        pcp: via === 'pcp' ? 'ok' : 'silent',
        natpmp: via === 'upnp' ? 'silent' : 'ok',
      }
      const { gw, mapper, mapped, failed } = await run(fake, { protocols: via === 'upnp' ? undefined : [via] })
      assert.deepEqual(failed, [])
      assert.deepEqual(
        mapped.map((m) => [m.protocol, m.via, m.external.host, m.external.port]),
        [
          ['udp', via, FAKE_EXTERNAL_IP, 6881],
          ['tcp', via, FAKE_EXTERNAL_IP, 6881],
        ],
      )
      assert.equal(gw.mappings.size, 2)
      assert.deepEqual(mapper.mapping('udp')?.external, { host: FAKE_EXTERNAL_IP, port: 6881 })
      const removed: PortMapping[] = []
      mapper.on('removed', (m) => removed.push(m))
      await mapper.close()
      assert.equal(gw.mappings.size, 0, 'both mappings deleted on the router')
      assert.equal(removed.length, 2)
      assert.deepEqual(mapper.mappings, [])
    })
  }

  it('a NAT-PMP-only router answers PCP with version 0: NAT-PMP is used, without waiting for a timeout', async () => {
    const t0 = performance.now()
    const { gw, mapped } = await run({ pcp: 'natpmp-only' }, { timeout: 5000 })
    assert.ok(performance.now() - t0 < 4000, 'no PCP timeout was waited for')
    assert.deepEqual(
      mapped.map((m) => m.via),
      ['natpmp', 'natpmp'],
    )
    assert.equal(gw.seen[0], 'pcp-map')
  })

  it('the granted external port (not the one asked for) is the one reported', async () => {
    const { mapped } = await run({ portOffset: 7 }, { protocols: ['natpmp'] })
    assert.equal(mapped[0].external.port, 6888)
  })

  it('a router refusing over every protocol: failed events say NOT_AUTHORIZED, with each attempt', async () => {
    const { mapped, failed } = await run({ pcp: 'deny', natpmp: 'deny', upnp: 'deny' })
    assert.deepEqual(mapped, [])
    assert.deepEqual(
      failed.map((f) => [f.protocol, f.reason]),
      [
        ['udp', 'NOT_AUTHORIZED'],
        ['tcp', 'NOT_AUTHORIZED'],
      ],
    )
    assert.deepEqual(
      failed[0].attempts.map((a) => [a.via, a.code]),
      [
        ['pcp', 'NOT_AUTHORIZED'],
        ['natpmp', 'NOT_AUTHORIZED'],
        ['upnp', 'NOT_AUTHORIZED'],
      ],
    )
  })

  it('silence, a UPnP conflict, garbage, and no IGD at all each end in their own reason', async () => {
    let r = await run({ pcp: 'silent', natpmp: 'silent', upnp: 'conflict' })
    assert.deepEqual(
      r.failed[0].attempts.map((a) => a.code),
      ['TIMEOUT', 'TIMEOUT', 'CONFLICT'],
    )
    assert.equal(r.failed[0].reason, 'CONFLICT')
    await mapper?.close()
    await gw?.close()
    r = await run({ pcp: 'garbage', natpmp: 'garbage', upnp: 'off' })
    assert.deepEqual(
      r.failed[0].attempts.map((a) => a.code),
      ['MALFORMED', 'MALFORMED', 'NO_GATEWAY'],
    )
  })

  it('an SSDP answer whose LOCATION names another host than the sender is not followed', async () => {
    const { gw, failed } = await run({ upnp: 'foreign-location' }, { protocols: ['upnp'] })
    assert.equal(failed[0].reason, 'NO_GATEWAY')
    assert.ok(gw.seen.includes('ssdp'))
    assert.ok(!gw.seen.some((s) => s.startsWith('http:')), 'no description was fetched')
  })

  it('nothing listening on the gateway port: NETWORK (ICMP port unreachable), not a timeout', async () => {
    const t0 = performance.now()
    const { failed } = await run({}, { protocols: ['pcp'], serverPort: 9, timeout: 3000 })
    assert.equal(failed[0].reason, 'NETWORK')
    assert.ok(performance.now() - t0 < 2500)
  })

  it('renews at half the granted lifetime, with the same PCP nonce', async () => {
    const clock = new VirtualClock()
    const { gw, mapper } = await run({ maxLifetime: 120 }, { protocols: ['pcp'], clock })
    assert.equal(mapper.mapping('udp')?.lifetime, 120)
    const renewed = once(mapper, 'renewed')
    const before = gw.seen.length
    await clock.runFor(59_000)
    assert.equal(gw.seen.length, before, 'not renewed before half-life')
    await clock.runFor(1_001)
    const [m] = (await renewed) as [PortMapping]
    assert.equal(m.via, 'pcp')
    assert.equal(gw.mappings.size, 2)
    assert.ok(gw.seen.length > before, 'renewal requests were sent')
    assert.ok(!gw.seen.includes('pcp-nonce-mismatch'), 'the renewal repeated the nonce')
  })

  it('a UPnP router keeping only permanent leases: mapped with lifetime 0, never renewed, deleted on close', async () => {
    const clock = new VirtualClock()
    const { gw, mapper, mapped } = await run({ pcp: 'silent', natpmp: 'silent', upnp: 'permanent-only' }, { clock })
    assert.deepEqual(
      mapped.map((m) => m.lifetime),
      [0, 0],
    )
    assert.equal(clock.nextTime(), undefined, 'no renewal timer')
    await mapper.close()
    assert.equal(gw.mappings.size, 0)
  })
})
