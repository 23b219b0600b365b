// The IPv6 lab itself (lab6.ts): addresses are global (no NAT), the firewalls let replies in and drop every
// unsolicited inbound datagram, a simultaneous UDP punch opens both, and destroy() leaves nothing behind.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Host, labFile, listNamespaces } from './lab.js'
import { createLab6, type Lab6, RELAY6_IP } from './lab6.js'
import { EventReader, type ProbeEvent } from './proc.js'
import { natSuite } from './support.js'

const UDP = labFile('udp-punch.ts')

function udp(host: Host, args: string[], stdin = false): EventReader {
  const stdio: ['pipe' | 'ignore', 'pipe', 'pipe'] = [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe']
  return new EventReader(host.spawnNode(UDP, ['--v6', ...args], { stdio }))
}

const recvFrom = (r: EventReader, from: string): ProbeEvent[] => r.named('recv').filter((e) => e.from === from)

async function stop(r: EventReader): Promise<void> {
  r.child.kill('SIGTERM')
  await r.exit()
}

await natSuite(import.meta.filename, 'IPv6 lab', () => {
  describe('two stateful firewalls', () => {
    let lab: Lab6
    before(async () => {
      lab = await createLab6()
    })
    after(() => lab?.destroy())

    it('outgoing datagrams and their replies pass; the outside sees the host’s own address and port', async () => {
      const echo = udp(lab.relay, ['--port', '7000', '--echo', '--duration', '30000'])
      try {
        await echo.waitFor((e) => e.event === 'listening')
        const a = udp(lab.a, ['--port', '40001', '--peer', `${RELAY6_IP}:7000`, '--duration', '1000'])
        await a.exit()
        const replies = recvFrom(a, `${RELAY6_IP}:7000`)
        assert.ok(replies.length >= 3, a.describe())
        assert.deepEqual(new Set(replies.map((e) => e.seen)), new Set([`${lab.a.ip}:40001`]))
      } finally {
        await stop(echo)
      }
    })

    it('drops unsolicited inbound UDP, even from the contacted host on another port, and counts it', async () => {
      const echo = udp(lab.relay, ['--port', '7000', '--echo', '--duration', '30000'])
      try {
        await echo.waitFor((e) => e.event === 'listening')
        const before = await lab.fwA.dropped()
        const long = ['--duration', '30000']
        const quiet = udp(lab.a, ['--id', 'quiet', '--port', '40010', ...long])
        const talker = udp(lab.a, ['--id', 'talker', '--port', '40011', '--peer', `${RELAY6_IP}:7000`, ...long])
        await quiet.waitFor((e) => e.event === 'listening')
        await talker.waitFor((e) => e.event === 'recv')
        const targets = ['--peer', `${lab.a.ip}:40010`, '--peer', `${lab.a.ip}:40011`]
        const intruder = udp(lab.relay, ['--port', '7001', '--interval', '20', '--count', '20', ...targets])
        await intruder.exit()
        await Promise.all([stop(quiet), stop(talker)])
        assert.equal(intruder.named('done')[0]?.sent, 40, intruder.describe())
        assert.equal(quiet.named('recv').length, 0, 'an unsolicited datagram reached the host')
        assert.equal(recvFrom(talker, `${RELAY6_IP}:7001`).length, 0, 'an endpoint never contacted got in')
        assert.ok(recvFrom(talker, `${RELAY6_IP}:7000`).length >= 3, 'replies from the contacted endpoint get in')
        const after = await lab.fwA.dropped()
        assert.equal(after.udp - before.udp, 40, 'every intruding datagram died at the firewall')
      } finally {
        await stop(echo)
      }
    })

    it('a simultaneous UDP punch gets through both firewalls, both ways', async () => {
      const common = ['--duration', '2500', '--go']
      const a = udp(lab.a, ['--id', 'a', '--port', '40001', '--peer', `${lab.b.ip}:40002`, ...common], true)
      const b = udp(lab.b, ['--id', 'b', '--port', '40002', '--peer', `${lab.a.ip}:40001`, ...common], true)
      await Promise.all([a, b].map((p) => p.waitFor((e) => e.event === 'listening')))
      for (const p of [a, b]) p.child.stdin?.end('go\n')
      await Promise.all([a.exit(), b.exit()])
      const aFromB = recvFrom(a, `${lab.b.ip}:40002`)
      const bFromA = recvFrom(b, `${lab.a.ip}:40001`)
      assert.ok(aFromB.length >= 3 && aFromB.every((e) => e.id === 'b'), `A got ${aFromB.length} from B`)
      assert.ok(bFromA.length >= 3 && bFromA.every((e) => e.id === 'a'), `B got ${bFromA.length} from A`)
    })
  })

  it('destroy() leaves no namespace behind; names follow the sweepStale() pattern', async () => {
    const lab = await createLab6({ publicHosts: 1 })
    try {
      assert.match(lab.id, /^mlnat\d+x\d+$/)
      const ours = (await listNamespaces()).filter((n) => n.startsWith(`${lab.id}-`))
      assert.equal(ours.length, 7, ours.join(' ')) // pub, relay, 1 public host, 2 firewalls, a, b
      const child = lab.b.spawnNode(UDP, ['--v6', '--port', '40040', '--duration', '60000'])
      await lab.destroy()
      assert.ok(child.exitCode !== null || child.signalCode !== null, 'spawned process still running')
      assert.deepEqual(
        (await listNamespaces()).filter((n) => n.startsWith(`${lab.id}-`)),
        [],
      )
      await assert.rejects(lab.a.exec('true'), { code: 'DESTROYED' })
    } finally {
      await lab.destroy()
    }
  })
})
