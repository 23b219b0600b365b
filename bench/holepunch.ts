// Holepunch latency through real NATs with link delay, timed from outside the code under test (root only; prints a
// skip line otherwise).
//
// The lab: two port-preserving NATs, a mainline relay, and 20 ms each way on each of the three public links (relay,
// routerA's wan, routerB's wan: 40 ms one way, 80 ms round trip between any two of relay, A and B), added by the
// userspace delay line of test/nat/delay.ts (this kernel has no sch_netem). Each run gets a fresh mainline relay and
// a fresh mainline peer B behind NAT B, connected to the relay, with the routers' conntrack flushed, and then a
// fresh initiator process in A's namespace on a new port, so neither NAT has a mapping between the two peers yet:
// - ours:   `mainline holepunch connect --relay R --target B` (rendezvous at once, then the uTP punch);
// - anchor: libtorrent 2.0 (test/nat/lt_nat_peer.py, uTP only) connecting to the same relay. libtorrent has no
//           "punch to X" call: it sends a rendezvous only after its own uTP dials to a PEX peer flagged 0x08 have
//           failed, so its total includes those failed dials (libtorrent's utp_connect_timeout, default 3 s).
// The harness timestamps each JSON line as it arrives on the processes' stdout and reports:
// - start → verified: from spawning the initiator process to the line that reports the connection to B with B's
//   peer id (the harness checks the endpoint and the peer id: the first bytes B sent over the punched path);
// - connect → verified: from B's `hp_punching` line (B acting on the relay's `connect`, which the relay sends to
//   both sides at once over equally delayed paths) to the same line: the punch and the BitTorrent handshake.
// Runs alternate between the two sides.

import type { ChildProcess } from 'node:child_process'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { addLinkDelay } from '../test/nat/delay.js'
import { createLab, type Lab, labFile, RELAY_IP } from '../test/nat/lab.js'
import type { ProbeEvent } from '../test/nat/proc.js'
import { labSupport } from '../test/nat/support.js'
import { note } from './record.js'
import { report } from './report.js'

const RUNS = 20
const DELAY_MS = 20
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const INFO_HASH = 'c0ffee00112233445566778899aabbccddeeff00'
const LT = labFile('lt_nat_peer.py')

interface Line {
  at: number
  e: ProbeEvent
}

/** A child's JSON-lines stdout, each line stamped with the harness's clock when it arrived. */
class Timed {
  readonly lines: Line[] = []
  stderr = ''
  private readonly waiters = new Set<() => void>()
  exited = false

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const at = performance.now()
      if (!l.startsWith('{')) return
      try {
        this.lines.push({ at, e: JSON.parse(l) as ProbeEvent })
      } catch {
        return
      }
      for (const w of [...this.waiters]) w()
    })
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-2000)
    })
    child.on('close', () => {
      this.exited = true
      for (const w of [...this.waiters]) w()
    })
  }

  /** The first line matching `pred`, or undefined once the process exited or `ms` passed. */
  waitFor(pred: (e: ProbeEvent) => boolean, ms: number): Promise<Line | undefined> {
    return new Promise((resolve) => {
      const done = (l: Line | undefined) => {
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve(l)
      }
      const check = () => {
        const hit = this.lines.find((l) => pred(l.e))
        if (hit || this.exited) done(hit)
      }
      const timer = setTimeout(() => done(undefined), ms)
      this.waiters.add(check)
      check()
    })
  }

  /** Kills the process after `ms` unless it exited by itself; resolves once it is gone. */
  exit(ms = 30_000): Promise<void> {
    if (this.exited) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), ms)
      this.child.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  tail(): string {
    return `${this.lines
      .slice(-6)
      .map((l) => JSON.stringify(l.e).slice(0, 200))
      .join(' | ')} stderr=${JSON.stringify(this.stderr.slice(-300))}`
  }
}

const ECHO = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 9000))
print('{"event":"ready"}', flush=True)
while True:
    data, addr = s.recvfrom(2048); s.sendto(data, addr)
`
const PING = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); out = []
for i in range(10):
    t = time.monotonic(); s.sendto(b'%d' % i, ('${RELAY_IP}', 9000))
    while s.recv(64) != b'%d' % i: pass
    out.append('%.1f' % ((time.monotonic() - t) * 1000))
print(' '.join(out))
`

/** Round trips a → relay and b → relay as a UDP probe sees them: the delay the runs will see. */
async function linkRtts(lab: Lab): Promise<{ a: string; b: string }> {
  const echo = new Timed(lab.relay.spawn('/usr/bin/python3', ['-u', '-c', ECHO]))
  try {
    if (!(await echo.waitFor((e) => e.event === 'ready', 10_000))) throw new Error(`echo: ${echo.tail()}`)
    const a = await lab.a.mustExec('/usr/bin/python3', ['-c', PING])
    const b = await lab.b.mustExec('/usr/bin/python3', ['-c', PING])
    return { a: a.stdout.trim(), b: b.stdout.trim() }
  } finally {
    echo.child.kill('SIGKILL')
  }
}

/**
 * A fresh relay and B for one run, then `body`; afterwards both are killed and the routers' conntrack
 * flushed. Fresh each run because killed initiators leave connections behind that count against the relay's and
 * B's per-IP limit (3 connections per public address): every run must start from the same state.
 */
async function inWorld(
  lab: Lab,
  body: (w: { relay: Timed; b: Timed; bPeerId: string }) => Promise<void>,
): Promise<void> {
  const peer = labFile('hp-peer.ts')
  const relay = new Timed(lab.relay.spawnNode(peer, ['--port', '6881', '--infohash', INFO_HASH, '--no-dht']))
  let b: Timed | undefined
  try {
    if (!(await relay.waitFor((e) => e.event === 'listening', 20_000))) throw new Error(`relay: ${relay.tail()}`)
    const bArgs = ['--port', '6881', '--infohash', INFO_HASH, '--no-dht', '--no-autodial']
    b = new Timed(lab.b.spawnNode(peer, [...bArgs, '--connect', `${RELAY_IP}:6881`]))
    const listening = await b.waitFor((e) => e.event === 'listening', 20_000)
    if (!(await b.waitFor((e) => e.event === 'connected' && e.host === RELAY_IP, 20_000)))
      throw new Error(`B did not reach the relay: ${b.tail()}`)
    await body({ relay, b, bPeerId: String(listening?.e.peerId ?? '') })
  } finally {
    await Promise.all([relay.exit(0), b?.exit(0)])
    await lab.flushConntrack()
  }
}

/** B's `hp_punching` line towards A's NAT at `port`: B acting on the relay's `connect`. */
function punchingTowards(b: Timed, host: string, port: number): Promise<Line | undefined> {
  return b.waitFor((e) => {
    const t = e.target as { host?: string; port?: number } | undefined
    return e.event === 'hp_punching' && t?.host === host && t?.port === port
  }, 5_000)
}

/** Nearest-rank quantile. */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.max(0, Math.ceil(q * s.length) - 1)]
}

interface Sample {
  /** Initiator process spawned → its line reporting B's verified handshake. */
  total: number
  /** Initiator process spawned → the relay's line reporting the initiator's connection (start-up and dial). */
  relay: number
  /** B's `hp_punching` line → the initiator's verified line. */
  punch: number
}

/** The relay's first `connected` line for A's NAT at `port`. */
function relayConnected(relay: Timed, host: string, port: number): Promise<Line | undefined> {
  return relay.waitFor((e) => e.event === 'connected' && e.host === host && e.port === port, 1_000)
}

type LtPeer = { host: string; port: number; pid: string; handshake: boolean; holepunched: boolean; utp: boolean }

export async function run(): Promise<void> {
  note(
    `load average at start (1, 5, 15 min): ${loadavg()
      .map((x) => x.toFixed(1))
      .join(', ')}`,
  )
  const s = await labSupport()
  if (s.mode !== 'root') {
    console.log(`skipped: the holepunch bench needs root (${s.mode === 'missing' ? s.reason : 'not root'})`)
    return
  }
  const lab = await createLab({ natA: 'port-preserving', natB: 'port-preserving' })
  try {
    await addLinkDelay(lab, [lab.relay, lab.routerA, lab.routerB], DELAY_MS)
    const rtt = await linkRtts(lab)
    console.log(`UDP round trips through the delayed links (ms): a→relay ${rtt.a}, b→relay ${rtt.b}`)
    note(
      `UDP round trips through the delayed links before the runs (10 probes each, ms): a→relay ${rtt.a}; b→relay ${rtt.b}`,
    )
    const boot = `${RELAY_IP}:6881`
    const bWan = lab.routerB.wanIp
    const aWan = lab.routerA.wanIp
    const ours: Sample[] = []
    const theirs: Sample[] = []
    const failures: string[] = []
    let ltHolepunched = 0
    const ltIncoming: number[] = []
    let ltDuplicate = 0
    for (let i = 0; i < RUNS; i++) {
      // ours
      await inWorld(lab, async ({ relay, b, bPeerId }) => {
        const port = 7000 + i
        const cli = ['holepunch', 'connect', '--relay', boot, '--infohash', INFO_HASH, '--target', `${bWan}:6881`]
        const t0 = performance.now()
        const a = new Timed(lab.a.spawnNode(MAIN, [...cli, '--port', String(port), '--json']))
        const ok = await a.waitFor(
          (e) => e.event === 'connected' && e.host === bWan && e.port === 6881 && e.peerId === bPeerId,
          30_000,
        )
        const punching = await punchingTowards(b, aWan, port)
        const atRelay = await relayConnected(relay, aWan, port)
        if (ok && punching && atRelay)
          ours.push({ total: ok.at - t0, relay: atRelay.at - t0, punch: ok.at - punching.at })
        else failures.push(`ours run ${i}: ${a.tail()}`)
        await a.exit()
      })
      // libtorrent
      await inWorld(lab, async ({ relay, b, bPeerId }) => {
        const port = 7100 + i
        const args = ['--host', lab.a.ip, '--port', String(port), '--infohash', INFO_HASH, '--utp-only']
        const t0 = performance.now()
        const lt = new Timed(lab.a.spawnPython(LT, [...args, '--connect', boot, '--poll-ms', '2', '--seconds', '40']))
        const isB = (p: LtPeer) => p.host === bWan && p.pid.toLowerCase() === bPeerId && p.handshake
        const ok = await lt.waitFor((e) => e.event === 'peers' && (e.peers as LtPeer[]).some(isB), 40_000)
        const punching = await punchingTowards(b, aWan, port)
        const atRelay = await relayConnected(relay, aWan, port)
        if (ok && punching && atRelay) {
          theirs.push({ total: ok.at - t0, relay: atRelay.at - t0, punch: ok.at - punching.at })
          if ((ok.e.peers as LtPeer[]).find(isB)?.holepunched) ltHolepunched++
          // What libtorrent's peer log says about the punch: how many uTP connections B's SYNs opened.
          const log = (l: Line) => (l.e.event === 'log' ? String(l.e.msg) : '')
          ltIncoming.push(
            lt.lines.filter((l) => /INCOMING_CONNECTION \[ ep: ([\d.]+):6881/.exec(log(l))?.[1] === bWan).length,
          )
          ltDuplicate += lt.lines.some((l) => log(l).includes('duplicate peer-id')) ? 1 : 0
        } else failures.push(`libtorrent run ${i}: ${lt.tail()}`)
        await lt.exit(0)
      })
    }
    for (const f of failures) console.log(f)
    const fmt = (xs: Sample[], k: keyof Sample) => xs.map((x) => x[k].toFixed(0)).join(' ')
    const phases = [
      ['total', 'start_to_verified'],
      ['relay', 'start_to_relay'],
      ['punch', 'connect_to_verified'],
    ] as const
    for (const [side, xs] of [
      ['ours', ours],
      ['libtorrent', theirs],
    ] as const)
      for (const [k, name] of phases) console.log(`${side} ${name} ms: ${fmt(xs, k)}`)
    note(
      `NAT lab: two port-preserving nftables NATs, mainline relay and target B; ${DELAY_MS} ms each way on the ` +
        "relay's, routerA's and routerB's links (userspace delay line test/nat/delay.py: this kernel has no " +
        'sch_netem), so 80 ms round trip between any two of relay, A, B. A fresh relay and B for every run. Times ' +
        "are taken by the bench harness from line arrival on the processes' stdout, not reported by the code under test.",
    )
    note(
      'ours: `mainline holepunch connect --target B` (node + tsx start-up included). anchor: libtorrent ' +
        '(python3-libtorrent, uTP only) connecting to the same relay; it sends a rendezvous only after its own uTP ' +
        "dials to B (from the relay's PEX, flag 0x08) fail, so its start→verified includes those failed dials.",
    )
    note(
      `ours connected ${ours.length}/${RUNS}; libtorrent ${theirs.length}/${RUNS}, ${ltHolepunched} flagged holepunched`,
    )
    note(
      `libtorrent's peer log, per run: incoming uTP connections from B ${ltIncoming.join(' ')}; runs where it ` +
        `closed one as "duplicate peer-id": ${ltDuplicate}`,
    )
    for (const [side, xs] of [
      ['ours', ours],
      ['libtorrent', theirs],
    ] as const)
      note(`${side} ms, per run: ${phases.map(([k, name]) => `${name} ${fmt(xs, k)}`).join('; ')}`)
    for (const f of failures) note(f)
    if (ours.length === 0) throw new Error('no run of ours connected')
    if (theirs.length === 0) throw new Error('no libtorrent run connected')
    const rows = phases.flatMap(([k, name]) =>
      [0.5, 0.9].map((p) => ({
        key: `holepunch.${name}.${p === 0.5 ? 'median' : 'p90'}`,
        ours: quantile(
          ours.map((x) => x[k]),
          p,
        ),
        anchor: quantile(
          theirs.map((x) => x[k]),
          p,
        ),
        unit: 'ms',
      })),
    )
    report(
      `Holepunch through two NATs, ${DELAY_MS} ms each way per public link, ${RUNS} runs each (harness-timed)`,
      'libtorrent',
      rows,
    )
  } finally {
    await lab.destroy()
  }
}
