// The NAT lab itself: proves it behaves like real NATs do (docs/nat-lab.md), so later scenarios can trust it.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  createLab,
  type Host,
  ipPath,
  type Lab,
  labFile,
  listNamespaces,
  RELAY_IP,
  sweepStale,
  TSX_IMPORT,
} from './lab.js'
import { EventReader, mustRun, type ProbeEvent, run } from './proc.js'
import { natSuite } from './support.js'

const UDP = labFile('udp-punch.ts')
const TCP = labFile('tcp-probe.ts')

function udp(host: Host, args: string[], stdin = false): EventReader {
  return new EventReader(host.spawnNode(UDP, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] }))
}

/** Starts an echo probe on the relay and waits until it is bound. */
async function relayEcho(lab: Lab, port: number, durationMs: number): Promise<EventReader> {
  const echo = udp(lab.relay, ['--port', String(port), '--echo', '--id', 'relay', '--duration', String(durationMs)])
  await echo.waitFor((e) => e.event === 'listening')
  return echo
}

/** Stops a probe started with a long --duration (it prints its "done" line on SIGTERM) and waits for it. */
async function stop(r: EventReader): Promise<void> {
  r.child.kill('SIGTERM')
  await r.exit()
}

function recvFrom(r: EventReader, from: string): ProbeEvent[] {
  return r.named('recv').filter((e) => e.from === from)
}

/**
 * A and B punch at once: each sends every 100 ms to the other's public endpoint, predicted as its router's wan
 * address with the same port (right for a port-preserving NAT), and also to the relay's echo, which reports the
 * mapping each NAT really made.
 */
async function punch(lab: Lab, echoPort: number): Promise<{ a: EventReader; b: EventReader }> {
  const echo = await relayEcho(lab, echoPort, 30_000)
  try {
    const relay = `${RELAY_IP}:${echoPort}`
    const common = ['--duration', '2500', '--go', '--peer', relay]
    const a = udp(lab.a, ['--id', 'a', '--port', '40001', '--peer', `${lab.routerB.wanIp}:40002`, ...common], true)
    const b = udp(lab.b, ['--id', 'b', '--port', '40002', '--peer', `${lab.routerA.wanIp}:40001`, ...common], true)
    await Promise.all([a, b].map((p) => p.waitFor((e) => e.event === 'listening')))
    for (const p of [a, b]) p.child.stdin?.end('go\n')
    await Promise.all([a.exit(), b.exit()])
    assert.equal(a.code, 0, a.describe())
    assert.equal(b.code, 0, b.describe())
    return { a, b }
  } finally {
    echo.child.kill()
  }
}

function seenByRelay(r: EventReader, echoPort: number): Set<unknown> {
  return new Set(recvFrom(r, `${RELAY_IP}:${echoPort}`).map((e) => e.seen))
}

await natSuite(import.meta.filename, 'NAT lab', () => {
  describe('two port-preserving NATs', () => {
    let lab: Lab
    before(async () => {
      lab = await createLab({ publicHosts: 1 })
    })
    after(() => lab?.destroy())

    it('(a) a simultaneous UDP punch gets through both ways; external port = internal port', async () => {
      const { a, b } = await punch(lab, 7000)
      assert.deepEqual([...seenByRelay(a, 7000)], [`${lab.routerA.wanIp}:40001`])
      assert.deepEqual([...seenByRelay(b, 7000)], [`${lab.routerB.wanIp}:40002`])
      const aFromB = recvFrom(a, `${lab.routerB.wanIp}:40002`)
      const bFromA = recvFrom(b, `${lab.routerA.wanIp}:40001`)
      // Both send for 2.5 s at 10 datagrams/s from the same moment; only datagrams that reach the other NAT before
      // its own host's first one (which creates the mapping) are lost.
      assert.ok(aFromB.length >= 3 && aFromB.every((e) => e.id === 'b'), `A got ${aFromB.length} from B`)
      assert.ok(bFromA.length >= 3 && bFromA.every((e) => e.id === 'a'), `B got ${bFromA.length} from A`)

      // The hole is a conntrack entry on each router: A's flow to B, masqueraded to routerA:40001 (the mapping).
      const hole = (await lab.routerA.conntrack()).find(
        (c) => c.proto === 17 && c.orig.sport === 40001 && c.orig.dst === lab.routerB.wanIp,
      )
      assert.deepEqual(hole?.orig, { src: '192.0.2.2', dst: lab.routerB.wanIp, sport: 40001, dport: 40002 })
      assert.deepEqual(hole?.reply, { src: lab.routerB.wanIp, dst: lab.routerA.wanIp, sport: 40002, dport: 40001 })
      assert.equal(hole?.seen_reply, true)
      await lab.flushConntrack()
      assert.deepEqual(await lab.routerA.conntrack(), [])
      assert.deepEqual(await lab.routerB.conntrack(), [])
    })

    it("(a) datagrams reaching a NAT before its host punches do not move the host's port", async () => {
      await lab.flushConntrack()
      const echo = await relayEcho(lab, 7000, 30_000)
      try {
        const relay = `${RELAY_IP}:7000`
        const toB = `${lab.routerB.wanIp}:40004`
        const a = udp(lab.a, ['--id', 'a', '--port', '40003', '--peer', toB, '--peer', relay, '--duration', '30000'])
        // A's datagram #5 came back from the relay: A has been knocking on router B's port 40004 for ~0.5 s.
        await a.waitFor((e) => e.from === relay && typeof e.seq === 'number' && e.seq >= 5)
        const toA = `${lab.routerA.wanIp}:40003`
        const b = udp(lab.b, ['--id', 'b', '--port', '40004', '--peer', toA, '--peer', relay, '--duration', '2000'])
        await b.exit()
        await stop(a)
        assert.deepEqual([...seenByRelay(b, 7000)], [toB])
        assert.ok(recvFrom(b, toA).length >= 3, b.describe())
        assert.ok(recvFrom(a, toB).length >= 3, a.describe())
      } finally {
        echo.child.kill()
      }
    })

    it('(c) drops unsolicited inbound UDP, even from the relay host on another port', async () => {
      await lab.flushConntrack()
      const echo = await relayEcho(lab, 7000, 30_000)
      try {
        // quiet: a listener with no mapping at all; talker: a mapping to relay:7000 only. The intruder on relay:7001
        // sends to both ports of router A while both listen (they run until stopped).
        const long = ['--duration', '30000']
        const quiet = udp(lab.a, ['--id', 'quiet', '--port', '40010', ...long])
        const talker = udp(lab.a, ['--id', 'talker', '--port', '40011', '--peer', `${RELAY_IP}:7000`, ...long])
        await quiet.waitFor((e) => e.event === 'listening')
        await talker.waitFor((e) => e.event === 'recv')
        const targets = ['--peer', `${lab.routerA.wanIp}:40010`, '--peer', `${lab.routerA.wanIp}:40011`]
        const intruder = udp(lab.relay, ['--port', '7001', '--interval', '50', '--count', '30', ...targets])
        await intruder.exit()
        await Promise.all([stop(quiet), stop(talker)])
        assert.equal(intruder.named('done')[0]?.sent, 60, intruder.describe())
        assert.equal(quiet.named('recv').length, 0, 'unsolicited datagrams reached a host behind NAT')
        const intruded = recvFrom(talker, `${RELAY_IP}:7001`).length
        assert.equal(intruded, 0, 'a datagram from an endpoint never contacted got in')
        assert.ok(recvFrom(talker, `${RELAY_IP}:7000`).length >= 3, 'replies from the contacted endpoint must get in')
      } finally {
        echo.child.kill()
      }
    })

    it('(c) TCP out through the NAT works and is masqueraded port-preserving', async () => {
      const server = new EventReader(lab.relay.spawnNode(TCP, ['serve', '--port', '8000', '--duration', '30000']))
      try {
        await server.waitFor((e) => e.event === 'listening')
        const client = new EventReader(
          lab.a.spawnNode(TCP, ['connect', '--host', RELAY_IP, '--port', '8000', '--local-port', '40020']),
        )
        const reply = await client.waitFor((e) => e.event === 'reply' || e.event === 'error')
        assert.deepEqual(reply, { event: 'reply', local: '192.0.2.2:40020', seen: `${lab.routerA.wanIp}:40020` })
      } finally {
        server.child.kill()
      }
    })

    it('reaches every public host; the public segment is one flat /24', async () => {
      const p0 = lab.publicHosts[0]
      assert.equal(p0.ip, '198.51.100.20')
      const echo = udp(p0, ['--port', '7100', '--echo', '--duration', '30000'])
      try {
        await echo.waitFor((e) => e.event === 'listening')
        const fromRelay = udp(lab.relay, ['--port', '7101', '--peer', `${p0.ip}:7100`, '--duration', '1000'])
        await fromRelay.exit()
        assert.ok(recvFrom(fromRelay, `${p0.ip}:7100`).length >= 3, fromRelay.describe())
      } finally {
        echo.child.kill()
      }
    })

    it('runs Python programs in a namespace (for libtorrent scenarios)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'natlab-'))
      let sender: EventReader | undefined
      try {
        const script = join(dir, 'udp_once.py')
        // Receives one datagram and reports its source, as libtorrent helpers will report JSON lines.
        writeFileSync(
          script,
          [
            'import json, socket',
            's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
            's.bind(("0.0.0.0", 7300))',
            'print(json.dumps({"event": "listening"}))',
            'data, addr = s.recvfrom(2048)',
            'print(json.dumps({"event": "recv", "from": "%s:%d" % addr}))',
          ].join('\n'),
        )
        const py = new EventReader(lab.relay.spawnPython(script))
        await py.waitFor((e) => e.event === 'listening')
        sender = udp(lab.b, ['--port', '40050', '--peer', `${RELAY_IP}:7300`, '--duration', '30000'])
        const got = await py.waitFor((e) => e.event === 'recv')
        assert.equal(got.from, `${lab.routerB.wanIp}:40050`)
        assert.equal(await py.exit(), 0)
      } finally {
        sender?.child.kill()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })

  describe('one symmetric NAT', () => {
    let lab: Lab
    before(async () => {
      lab = await createLab({ natB: 'symmetric' })
    })
    after(() => lab?.destroy())

    it('(b) no direct datagram gets through either way; B maps each destination to a random port', async () => {
      const { a, b } = await punch(lab, 7000)
      assert.deepEqual([...seenByRelay(a, 7000)], [`${lab.routerA.wanIp}:40001`])
      const bSeen = [...seenByRelay(b, 7000)]
      assert.equal(bSeen.length, 1, 'one mapping towards the relay')
      assert.notEqual(bSeen[0], `${lab.routerB.wanIp}:40002`, 'the symmetric NAT must not preserve the port')
      // Router B's own table agrees with what the relay saw: the mapping is the reply tuple's destination.
      const toRelay = (await lab.routerB.conntrack()).find((c) => c.orig.sport === 40002 && c.orig.dst === RELAY_IP)
      assert.equal(`${toRelay?.reply.dst}:${toRelay?.reply.dport}`, bSeen[0])
      assert.equal(recvFrom(a, `${lab.routerB.wanIp}:40002`).length, 0)
      assert.equal(a.named('recv').filter((e) => e.id === 'b').length, 0, 'A heard from B')
      assert.equal(b.named('recv').filter((e) => e.id === 'a').length, 0, 'B heard from A')
    })
  })

  describe('random loss', () => {
    let lab: Lab
    before(async () => {
      lab = await createLab({ lossPercent: 30 })
    })
    after(() => lab?.destroy())

    it('(d) drops roughly the configured share on the wan links, and can be changed at run time', async () => {
      for (const r of [lab.routerA, lab.routerB]) assert.match(await r.ruleset(), /numgen random mod 100 < 30 drop/)
      const sink = udp(lab.relay, ['--port', '7200', '--quiet', '--duration', '30000'])
      await sink.waitFor((e) => e.event === 'listening')
      const n = 400
      const src = udp(lab.a, ['--port', '40030', '--peer', `${RELAY_IP}:7200`, '--interval', '2', '--count', String(n)])
      await src.exit()
      await stop(sink)
      const bySource = (sink.named('done')[0]?.bySource ?? {}) as Record<string, number>
      const got = bySource[`${lab.routerA.wanIp}:40030`] ?? 0
      // Binomial(400, 0.7): mean 280, sd 9.2; the bounds are ~8 sd wide.
      assert.ok(got > 200 && got < 360, `received ${got} of ${n} at 30% loss`)

      await lab.routerA.setLoss(0)
      assert.doesNotMatch(await lab.routerA.ruleset(), /numgen/)
      assert.equal(lab.routerA.lossPercent, 0)
    })
  })

  describe('teardown', () => {
    it('(e) destroy() kills every process in the lab and leaves no namespace behind', async () => {
      const lab = await createLab({ publicHosts: 2 })
      try {
        const ours = (await listNamespaces()).filter((n) => n.startsWith(`${lab.id}-`))
        assert.equal(ours.length, 8, ours.join(' ')) // pub, relay, 2 public hosts, 2 routers, a, b
        const tracked = lab.b.spawnNode(UDP, ['--port', '40040', '--duration', '60000'])
        // A process the lab did not start itself (e.g. a daemon a test script forked).
        const stray = Number((await lab.a.mustExec('sh', ['-c', 'sleep 60 >/dev/null 2>&1 & echo $!'])).stdout.trim())
        assert.ok(stray > 1)
        await lab.destroy()
        assert.ok(tracked.exitCode !== null || tracked.signalCode !== null, 'spawned process still running')
        assert.ok(!running(stray), 'stray process still running')
        assert.deepEqual(
          (await listNamespaces()).filter((n) => n.startsWith(`${lab.id}-`)),
          [],
        )
        await assert.rejects(lab.a.exec('true'), { code: 'DESTROYED' })
        await lab.destroy() // idempotent
      } finally {
        await lab.destroy()
      }
    })

    it('a process that exits or dies without destroy() still removes its namespaces; SIGKILL leaves them to sweepStale()', async () => {
      const crash = labFile('lab-crash.ts')
      const ended = async (mode: string, signal?: NodeJS.Signals) => {
        const r = new EventReader(
          spawn(process.execPath, ['--import', TSX_IMPORT, crash, mode], { stdio: ['ignore', 'pipe', 'pipe'] }),
        )
        const { id } = (await r.waitFor((e) => e.event === 'ready', 15_000)) as { id: string }
        if (signal) r.child.kill(signal)
        await r.exit(15_000)
        return { id, left: (await listNamespaces()).filter((n) => n.startsWith(`${id}-`)) }
      }
      const results = await Promise.all([
        ended('exit'),
        ended('throw'),
        ended('wait', 'SIGTERM'),
        ended('wait', 'SIGKILL'),
      ])
      assert.deepEqual(
        results.slice(0, 3).map((r) => r.left),
        [[], [], []],
      )
      const killed = results[3]
      assert.equal(killed.left.length, 6, 'SIGKILL gives no chance to clean up')
      // Another test process's createLab() may sweep them first: check the end state, not who removed them.
      await sweepStale()
      assert.deepEqual(
        (await listNamespaces()).filter((n) => n.startsWith(`${killed.id}-`)),
        [],
      )
    })

    it('sweepStale() removes namespaces of a crashed run and keeps those of live ones', async () => {
      let dead = 4_194_303
      while (running(dead)) dead--
      const staleName = `mlnat${dead}x1-pub`
      const liveName = `mlnat${process.pid}x999-pub`
      const ip = ipPath()
      await mustRun(ip, ['netns', 'add', staleName])
      await mustRun(ip, ['netns', 'add', liveName])
      try {
        await sweepStale()
        const left = await listNamespaces()
        assert.ok(!left.includes(staleName))
        assert.ok(left.includes(liveName))
      } finally {
        await run(ip, ['-force', '-batch', '-'], { input: `netns del ${staleName}\nnetns del ${liveName}\n` })
      }
    })
  })
})

/** True if `pid` is a process that has not exited (a zombie counts as exited). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}
