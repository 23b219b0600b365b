// Router port mapping against a real home router: miniupnpd (Debian miniupnpd-nftables) in the router namespace of
// test/nat/portmap-lab.ts. The node behind it maps its UDP and TCP port over PCP, NAT-PMP and UPnP IGD in turn, a
// peer outside connects to it directly (TCP and uTP; there is no relay in this world), and the forwards are gone
// once the node closed. With miniupnpd's permission rules refusing, the node reports why and is not reachable.
import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { createPortmapLab, HOST_IP, type MiniupnpdConfig, OUTSIDE_IP, type PortmapLab, WAN_IP } from './portmap-lab.js'
import type { EventReader, ProbeEvent } from './proc.js'
import { findBinary } from './proc.js'
import { natSuite } from './support.js'

const IH = 'c0ffee00112233445566778899aabbccddeeff00'
const PORT = 6881
const ALLOW = ['allow 1024-65535 192.0.2.0/24 1024-65535', 'deny 0-65535 0.0.0.0/0 0-65535']

let lab: PortmapLab

function serve(args: string[] = []): EventReader {
  return lab.cli(lab.ns.host, ['peer', 'serve', '--infohash', IH, '--port', String(PORT), '--json', ...args])
}

/** `mainline peer handshake` from outside to `port` on the router's WAN address: exit code and events. */
async function dialFromOutside(port: number, utp: boolean) {
  const args = ['peer', 'handshake', `${WAN_IP}:${port}`, '--infohash', IH, '--timeout', '1', '--json']
  const r = lab.cli(lab.ns.outside, utp ? [...args, '--utp'] : args)
  const code = await r.exit(20_000)
  return { code, handshake: r.named('handshake')[0], r }
}

const named = (name: string, protocol?: string) => (e: ProbeEvent) =>
  e.event === name && (protocol === undefined || e.protocol === protocol)

async function stop(node: EventReader): Promise<void> {
  node.child.kill('SIGTERM')
  assert.equal(await node.exit(15_000), 0, node.describe())
}

const cases: { via: 'pcp' | 'natpmp' | 'upnp'; conf: MiniupnpdConfig; args: string[] }[] = [
  { via: 'pcp', conf: { natpmp: true, upnp: false, rules: ALLOW }, args: ['--portmap-protocols', 'pcp'] },
  { via: 'natpmp', conf: { natpmp: true, upnp: false, rules: ALLOW }, args: ['--portmap-protocols', 'natpmp'] },
  // All three tried in the default order: PCP and NAT-PMP find nothing on 5351 (ICMP unreachable), UPnP maps.
  { via: 'upnp', conf: { natpmp: false, upnp: true, rules: ALLOW }, args: [] },
]

await natSuite(import.meta.filename, 'port mapping through miniupnpd', () => {
  // In CI a missing miniupnpd fails (createPortmapLab throws MISSING_TOOL), as every lab dependency does.
  const skip = findBinary('miniupnpd') || process.env.CI ? false : 'miniupnpd is not installed (miniupnpd-nftables)'
  before(async () => {
    if (!skip) lab = await createPortmapLab()
  })
  after(async () => {
    await lab?.destroy()
  })

  for (const c of cases) {
    it(`${c.via}: maps UDP and TCP, an outside peer connects directly over TCP and uTP, close() removes the forwards`, {
      skip,
      timeout: 90_000,
    }, async () => {
      await lab.startMiniupnpd(c.conf)
      const node = serve(c.args)
      try {
        const udp = await node.waitFor(named('portmap_mapped', 'udp'), 20_000)
        const tcp = await node.waitFor(named('portmap_mapped', 'tcp'), 20_000)
        for (const m of [udp, tcp]) {
          assert.equal(m.via, c.via, node.describe())
          assert.equal(m.host, WAN_IP, 'the external address is the router WAN address')
          assert.equal(m.internalPort, PORT)
        }
        assert.match(await lab.forwards(), new RegExp(`dnat ip to ${HOST_IP.replace(/\./g, '\\.')}:${PORT}`))
        const viaTcp = await dialFromOutside(tcp.port as number, false)
        assert.equal(viaTcp.code, 0, viaTcp.r.describe())
        assert.equal(viaTcp.handshake.transport, 'tcp')
        const viaUtp = await dialFromOutside(udp.port as number, true)
        assert.equal(viaUtp.code, 0, viaUtp.r.describe())
        assert.equal(viaUtp.handshake.transport, 'utp')
        // The node saw both arrive from the outside peer's own address: direct, no relay.
        const incoming = node.events.filter((e) => e.event === 'connected' && e.host === OUTSIDE_IP)
        assert.deepEqual(incoming.map((e) => e.transport).sort(), ['tcp', 'utp'])
        assert.ok(incoming.every((e) => e.direction === 'incoming'))
      } finally {
        await stop(node)
      }
      assert.equal(node.named('portmap_removed').length, 2, node.describe())
      assert.doesNotMatch(await lab.forwards(), /dnat/, 'miniupnpd holds no forward after close()')
      const after = await dialFromOutside(PORT, false)
      assert.notEqual(after.code, 0, 'the port is closed again')
    })
  }

  it('miniupnpd refusing (permission rule deny): portmap_failed says NOT_AUTHORIZED, the node is not dialable and keeps its outgoing (relay) path', {
    skip,
    timeout: 90_000,
  }, async () => {
    // UPnP only: miniupnpd 2.3.1 answers a denied PCP / NAT-PMP request only after trying all 65,535 external
    // ports (minutes with -d logging each), which a bounded client can only see as a timeout (docs/portmap.md).
    await lab.startMiniupnpd({ natpmp: false, upnp: true, rules: ['deny 0-65535 0.0.0.0/0 0-65535'] })
    // A public peer (the kind that relays BEP 55 rendezvous) the node reaches outwards.
    const outside = lab.cli(lab.ns.outside, [
      'peer',
      'serve',
      '--infohash',
      IH,
      '--port',
      String(PORT),
      '--no-portmap',
      '--json',
    ])
    await outside.waitFor((e) => e.event === 'listening', 20_000)
    const node = serve(['--connect', `${OUTSIDE_IP}:${PORT}`])
    try {
      const udp = await node.waitFor(named('portmap_failed', 'udp'), 30_000)
      await node.waitFor(named('portmap_failed', 'tcp'), 30_000)
      assert.equal(udp.reason, 'NOT_AUTHORIZED', node.describe())
      const attempts = udp.attempts as { via: string; code: string }[]
      // PCP and NAT-PMP: nothing listens on 5351 (ICMP port unreachable); UPnP: 606 Action not authorized.
      assert.deepEqual(
        attempts.map((a) => [a.via, a.code]),
        [
          ['pcp', 'NETWORK'],
          ['natpmp', 'NETWORK'],
          ['upnp', 'NOT_AUTHORIZED'],
        ],
      )
      assert.equal(node.named('portmap_mapped').length, 0)
      assert.doesNotMatch(await lab.forwards(), /dnat/)
      const dial = await dialFromOutside(PORT, false)
      assert.notEqual(dial.code, 0, 'not dialable from outside')
      const out = await node.waitFor((e) => e.event === 'connected' && e.host === OUTSIDE_IP, 20_000)
      assert.equal(out.direction, 'outgoing', 'the node still reaches a public peer (a relay) outwards')
    } finally {
      await stop(node)
      outside.child.kill('SIGTERM')
      await outside.exit(15_000)
    }
  })
})
