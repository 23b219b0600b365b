// NAT behaviour detection and hole punching through one symmetric NAT (docs/symmetric-nat.md), in the lab:
// - each peer classifies its own mapping from the DHT nodes' BEP 42 reports (`reachability` events);
// - the matrix of NAT pairs, with and without 5% loss: A (the asker) behind natA, B (the target) behind natB;
//   one symmetric side → the birthday strategy connects; both symmetric → `hp_failed` with reason `symmetric`;
// - the success rate of the one-symmetric cases over several runs (MAINLINE_BIRTHDAY_RUNS, default 3; the
//   20-run figure in the docs was measured with 20).
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { libtorrentSkip } from '../interop/lt-peer-process.js'
import { createLab, type Host, type Lab, labFile, RELAY_IP } from './lab.js'
import type { NatType } from './nft.js'
import { EventReader, type ProbeEvent } from './proc.js'
import { natSuite } from './support.js'

const PEER = labFile('hp-peer.ts')
const LT = labFile('lt_nat_peer.py')
/** The CLI, run from source. */
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const INFO_HASH = 'c0ffee00112233445566778899aabbccddeeff01'
const PORT = '6881'
const RUNS = Number(process.env.MAINLINE_BIRTHDAY_RUNS ?? 3)

const is = (name: string) => (e: ProbeEvent) => e.event === name

function start(host: Host, args: string[]): EventReader {
  return new EventReader(host.spawnNode(PEER, ['--port', PORT, ...args]))
}

type Outcome =
  | { ok: true; ms: number; kindA: string; kindB: string; bdA?: ProbeEvent; bdB?: ProbeEvent }
  | { ok: false; reason: string; ms: number }

/** Kills every process the lab runs (SIGTERM: nodes close their uTP connections) and empties both NATs' tables. */
async function reset(lab: Lab, readers: EventReader[]): Promise<void> {
  await Promise.all(
    readers.map(async (r) => {
      if (r.child.exitCode !== null || r.child.signalCode !== null) return
      r.child.kill('SIGTERM')
      if ((await r.exit(5000).catch(() => null)) === null) r.child.kill('SIGKILL')
    }),
  )
  await lab.flushConntrack()
}

/**
 * One run: relay and two DHT nodes on the public segment, B (target) connected to the relay, A (asker) finds B on
 * the DHT, fails to dial it and asks the relay for a rendezvous. Resolves with A's outcome.
 */
async function runOnce(lab: Lab, expectConnected: boolean): Promise<Outcome> {
  const readers: EventReader[] = []
  const trail = () => readers.map((r) => r.describe()).join('\n')
  try {
    const relay = start(lab.relay, ['--infohash', INFO_HASH, '--pex-interval', '1000', '--announce'])
    readers.push(relay)
    await relay.waitFor(is('listening'), 30_000)
    const boot = `${RELAY_IP}:${PORT}`
    const dht = lab.publicHosts.map((h) => start(h, ['--bootstrap', boot]))
    readers.push(...dht)
    await Promise.all(dht.map((d) => d.waitFor(is('dht_ready'), 20_000)))
    const peerArgs = [
      '--infohash',
      INFO_HASH,
      '--bootstrap',
      boot,
      '--dht-read-only',
      '--announce',
      '--punch-timeout',
      '5000',
    ]
    const b = start(lab.b, [...peerArgs, '--connect', boot, '--no-autodial'])
    readers.push(b)
    // B knows its kind before anyone asks it to punch (three DHT nodes have answered it).
    const kb = await b.waitFor((e) => e.event === 'reachability' && e.kind !== 'unknown', 20_000)
    await b.waitFor((e) => e.event === 'connected' && e.host === RELAY_IP, 20_000)
    const a = start(lab.a, [...peerArgs, '--discover'])
    readers.push(a)
    const ka = await a.waitFor((e) => e.event === 'reachability' && e.kind !== 'unknown', 20_000)
    const sent = await a.waitFor(is('hp_rendezvous_sent'), 30_000)
    const t0 = Date.now()
    const end = await a.waitFor((e) => e.event === 'hp_connected' || e.event === 'hp_failed', 30_000)
    void sent
    if (end.event === 'hp_connected') {
      if (expectConnected) await b.waitFor(is('hp_connected'), 10_000)
      const bdA = a.named('hp_birthday')[0]
      const bdB = await b.waitFor(is('hp_birthday'), 12_000).catch(() => undefined)
      return {
        ok: true,
        ms: Number(end.ms ?? Date.now() - t0),
        kindA: String(ka.kind),
        kindB: String(kb.kind),
        bdA,
        bdB,
      }
    }
    return { ok: false, reason: String(end.reason), ms: Date.now() - t0 }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${trail()}`, { cause: err })
  } finally {
    await reset(lab, readers)
  }
}

const expectedKind = (n: NatType) => (n === 'symmetric' ? 'random' : 'consistent')

await natSuite(import.meta.filename, 'NAT kinds and the birthday strategy', () => {
  const cases: [NatType, NatType][] = [
    ['port-preserving', 'port-preserving'],
    ['full-cone', 'symmetric'],
    ['port-restricted', 'symmetric'],
    ['symmetric', 'symmetric'],
  ]
  for (const [natA, natB] of cases) {
    describe(`${natA} × ${natB}`, { timeout: 600_000 }, () => {
      let lab: Lab | undefined
      after(() => lab?.destroy())
      const both = natA === 'symmetric' && natB === 'symmetric'
      const oneSym = !both && (natA === 'symmetric' || natB === 'symmetric')
      for (const loss of [0, 5]) {
        const runs = oneSym ? RUNS : 1
        it(`${loss}% loss: ${both ? 'hp_failed (symmetric)' : 'connected'}${runs > 1 ? ` (${runs} runs)` : ''}`, async (t) => {
          lab ??= await createLab({ natA, natB, publicHosts: 2 })
          await lab.routerA.setLoss(loss)
          await lab.routerB.setLoss(loss)
          const outcomes: Outcome[] = []
          for (let i = 0; i < runs; i++) outcomes.push(await runOnce(lab, !both))
          if (both) {
            for (const o of outcomes) assert.deepEqual(o.ok ? 'connected' : o.reason, 'symmetric')
            const o = outcomes[0]
            assert.ok(o.ms < 2000, `failed quickly (${o.ms} ms)`)
            return
          }
          const ok = outcomes.filter((o) => o.ok)
          for (const o of ok) {
            if (!o.ok) continue
            assert.equal(o.kindA, expectedKind(natA), "A's kind")
            assert.equal(o.kindB, expectedKind(natB), "B's kind")
            if (!oneSym) {
              // Both consistent: the plain punch connects before late probes would start (with no loss).
              if (loss === 0) assert.equal(Number(o.bdA?.sent ?? 0), 0, `no probe: ${JSON.stringify(o.bdA)}`)
              continue
            }
            // The symmetric target opened sockets, within the caps. Behind port-restricted filtering the asker
            // probed (nothing else gets in); a full-cone asker may also be reached by B's plain punch (when the relay
            // named B by its listen port, over TCP, A could not tell B is symmetric).
            if (o.bdA || natA !== 'full-cone') assert.equal(o.bdA?.role, 'probe', JSON.stringify(o.bdA))
            if (natA === 'port-restricted') assert.ok(Number(o.bdA?.sent) > 0, 'only a probe gets through')
            // (A full-cone asker may be reached by B's plain punch before its first probe: none sent then.)
            if (o.bdA) assert.ok(Number(o.bdA.sent) <= 4096, JSON.stringify(o.bdA))
            assert.equal(o.bdB?.role, 'sockets', JSON.stringify(o.bdB))
            assert.ok(Number(o.bdB?.sockets) <= 256 && Number(o.bdB?.sent) <= 1024, JSON.stringify(o.bdB))
          }
          const within10 = ok.filter((o) => o.ms <= 10_000).length
          const msList = outcomes.map((o) => (o.ok ? String(Math.round(o.ms)) : `failed:${o.reason}`)).join(',')
          t.diagnostic(`${natA}×${natB} ${loss}% loss: ${within10}/${runs} connected within 10 s (ms: ${msList})`)
          process.stdout.write(
            `# birthday ${natA}x${natB} loss=${loss}% runs=${runs} ok10s=${within10} ms=[${msList}]\n`,
          )
          // At least 90% (rounded down) within 10 s; a single run must connect.
          assert.ok(within10 >= Math.floor(runs * 0.9), `${within10}/${runs} within 10 s`)
        })
      }

      it("mainline nat reports each side's mapping kind (and public on the public segment)", async () => {
        lab ??= await createLab({ natA, natB, publicHosts: 2 })
        await lab.routerA.setLoss(0)
        await lab.routerB.setLoss(0)
        const boot = `${RELAY_IP}:${PORT}`
        const readers = [start(lab.relay, [])]
        try {
          await readers[0].waitFor(is('listening'), 30_000)
          const dht = lab.publicHosts.map((h) => start(h, ['--bootstrap', boot]))
          readers.push(...dht)
          await Promise.all(dht.map((d) => d.waitFor(is('dht_ready'), 20_000)))
          const cli = ['nat', '--bootstrap', boot, '--port', '7001', '--timeout', '15', '--json']
          const hosts: [Host, string][] = [
            [lab.a, expectedKind(natA)],
            [lab.b, expectedKind(natB)],
            [lab.publicHosts[0], 'public'],
          ]
          for (const [host, kind] of hosts) {
            const r = new EventReader(host.spawnNode(CLI, cli))
            assert.equal(await r.exit(60_000), 0, r.describe())
            const [end] = r.named('nat')
            assert.equal(end.kind, kind, `${host.name}: ${r.describe()}`)
            assert.equal(
              end.portMapping,
              false,
              'port mapping was tried (no router in this lab answers): none is active',
            )
            const ext = end.external as string[]
            if (kind === 'random') assert.ok(ext.length >= 2, 'a port per destination')
            else
              assert.equal(
                ext[0],
                `${host === lab.a ? lab.routerA.wanIp : host === lab.b ? lab.routerB.wanIp : host.ip}:7001`,
              )
          }
        } finally {
          await reset(lab, readers)
        }
      })

      if (natA === 'port-restricted' && natB === 'symmetric') {
        it('libtorrent as the asker (port-restricted) to a symmetric mainline target: never connects', {
          skip: libtorrentSkip(),
        }, async () => {
          lab ??= await createLab({ natA, natB, publicHosts: 2 })
          await lab.routerA.setLoss(0)
          await lab.routerB.setLoss(0)
          const boot = `${RELAY_IP}:${PORT}`
          const readers: EventReader[] = []
          try {
            const relay = start(lab.relay, ['--infohash', INFO_HASH, '--pex-interval', '1000', '--announce'])
            readers.push(relay)
            await relay.waitFor(is('listening'), 30_000)
            const dht = lab.publicHosts.map((h) => start(h, ['--bootstrap', boot]))
            readers.push(...dht)
            await Promise.all(dht.map((d) => d.waitFor(is('dht_ready'), 20_000)))
            const b = start(lab.b, [
              '--infohash',
              INFO_HASH,
              '--bootstrap',
              boot,
              '--dht-read-only',
              '--connect',
              boot,
              '--no-autodial',
            ])
            readers.push(b)
            await b.waitFor((e) => e.event === 'reachability' && e.kind === 'random', 20_000)
            await b.waitFor((e) => e.event === 'connected' && e.host === RELAY_IP, 20_000)
            const lt = new EventReader(
              lab.a.spawnPython(LT, [
                '--host',
                lab.a.ip,
                '--port',
                PORT,
                '--infohash',
                INFO_HASH,
                '--utp-only',
                '--connect',
                boot,
              ]),
            )
            readers.push(lt)
            // libtorrent hears of B from the relay's PEX, fails to dial it, asks the relay; B gets the connect and
            // opens its sockets towards libtorrent, which only punches plainly: nothing meets.
            const bd = await b.waitFor(is('hp_birthday'), 40_000).catch((err: Error) => {
              throw new Error(`${err.message}\nB: ${b.describe()}\nlibtorrent: ${lt.describe()}`)
            })
            assert.equal(bd.role, 'sockets')
            assert.equal(bd.ok, false)
            assert.equal(b.named('hp_connected').length, 0, 'libtorrent never connects to the symmetric side')
            process.stdout.write('# birthday libtorrent(port-restricted)->mainline(symmetric): 0/1 connected\n')
          } finally {
            await reset(lab, readers)
          }
        })
      }
    })
  }
})
