// BEP 55 over IPv6 through stateful firewalls (lab6.ts): two mainline peers, each behind a firewall that drops
// every unsolicited inbound packet, find each other on an IPv6 DHT (nodes6, 18-byte peer values) and through the
// relay's PEX (added6), fail to dial each other directly (the firewall drops it), and meet through a rendezvous
// (24-byte addresses) and a simultaneous uTP open; then 16 MiB go each way, hash-checked.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { type Host, labFile } from './lab.js'
import { createLab6, type Lab6, RELAY6_IP } from './lab6.js'
import { EventReader, type ProbeEvent } from './proc.js'
import { natSuite } from './support.js'

const PEER = labFile('hp-peer.ts')
const INFO_HASH = 'c0ffee00112233445566778899aabbccddeeff06'
const PORT = '6881'

function start(host: Host, args: string[]): EventReader {
  return new EventReader(host.spawnNode(PEER, ['--host', '::', '--port', PORT, ...args]))
}

const is = (name: string) => (e: ProbeEvent) => e.event === name
const trail = (r: EventReader) => r.events.map((e) => JSON.stringify(e).slice(0, 300)).join('\n  ')

/** Relay + public DHT nodes, then B (connected to the relay, not dialing PEX peers) and A (discovering on the DHT). */
async function world(lab: Lab6, extra: string[] = []) {
  const relay = start(lab.relay, ['--infohash', INFO_HASH, '--pex-interval', '1000', '--announce'])
  await relay.waitFor(is('listening'))
  const boot = `[${RELAY6_IP}]:${PORT}`
  const dht = lab.publicHosts.map((h) => start(h, ['--bootstrap', boot]))
  await Promise.all(dht.map((d) => d.waitFor(is('dht_ready'), 20_000)))
  const peerArgs = ['--infohash', INFO_HASH, '--bootstrap', boot, '--dht-read-only', '--announce', ...extra]
  const b = start(lab.b, [...peerArgs, '--connect', boot, '--no-autodial'])
  await b.waitFor((e) => e.event === 'connected' && e.host === RELAY6_IP, 20_000)
  const a = start(lab.a, [...peerArgs, '--discover'])
  return { relay, dht, a, b }
}

await natSuite(import.meta.filename, 'holepunch over IPv6 through stateful firewalls', () => {
  describe('mainline peers, relay and DHT on 2001:db8::/32', { timeout: 180_000 }, () => {
    let lab: Lab6 | undefined
    after(() => lab?.destroy())

    it('firewall × firewall: DHT (nodes6) + PEX discovery, direct dial dropped, rendezvous, uTP punch, 16 MiB each way', async (t) => {
      lab = await createLab6({ publicHosts: 2 })
      const w = await world(lab, ['--exchange', '16'])
      try {
        const { a, b } = w
        const B = lab.b.ip
        const A = lab.a.ip
        // Every node runs its DHT on IPv6: B's announce reached the public nodes, A's get_peers found B there.
        await a.waitFor((e) => e.event === 'dht_peer' && e.host === B && e.port === Number(PORT), 30_000)
        // A's direct dial to B (uTP, then TCP) died at B's firewall.
        await a.waitFor((e) => e.event === 'dial_failed' && e.host === B, 30_000)
        const dropped = await lab.fwB.dropped()
        assert.ok(dropped.tcp > 0, `B's firewall dropped A's TCP SYN (${JSON.stringify(dropped)})`)
        // The relay's PEX named B in added6, flagged holepunch-capable.
        await a.waitFor((e) => e.event === 'peer' && e.source === 'pex' && e.host === B, 30_000)
        const sent = await a.waitFor(is('hp_rendezvous_sent'), 30_000)
        assert.deepEqual(sent.target, { host: B, port: Number(PORT) })
        assert.equal((sent.relay as { host: string }).host, RELAY6_IP)
        const ca = await a.waitFor(is('hp_connected'), 30_000)
        const cb = await b.waitFor(is('hp_connected'), 30_000)
        assert.equal(ca.transport, 'utp')
        assert.deepEqual([ca.host, ca.port], [B, Number(PORT)], 'A reached B at its own address: no NAT')
        assert.deepEqual([cb.host, cb.port], [A, Number(PORT)], 'B reached A from its shared UDP port')
        const direct = a.events.filter((e) => e.event === 'connected' && e.host === B)
        assert.equal(direct.length, 1, 'exactly one connection A→B, the punched one')
        const [da, db] = await Promise.all([a.waitFor(is('data'), 120_000), b.waitFor(is('data'), 120_000)])
        assert.equal(da.received, 16 << 20)
        assert.equal(db.received, 16 << 20)
        assert.equal(da.sentSha256, db.receivedSha256, 'A→B bytes arrive intact')
        assert.equal(db.sentSha256, da.receivedSha256, 'B→A bytes arrive intact')
        t.diagnostic(`rendezvous→uTP ${ca.ms} ms (punch ${ca.punchMs} ms); 16 MiB each way in ${da.ms} / ${db.ms} ms`)
      } catch (err) {
        throw new Error(`${(err as Error).message}\nA:\n  ${trail(w.a)}\nB:\n  ${trail(w.b)}`, { cause: err })
      } finally {
        await lab.destroy()
      }
    })
  })
})
