// `mainline dht …` against a small in-process testnet on 127.0.0.1 (real UDP). Every command is given
// --bootstrap explicitly: tests never touch the public routers.
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startTestnet, type Testnet } from '../../src/cli/demo/testnet.js'
import { fromHex, toHex } from '../../src/codec/bytes.js'
import { ipv6LoopbackSkip } from '../helpers/ipv6.js'
import { runCli } from './cli-run.js'

const hex = (s: string): Uint8Array => fromHex(s) ?? assert.fail(`bad hex ${s}`)
const IH = '1f2e3d4c5b6a79880123456789abcdef01234567'
const IH2 = '00112233445566778899aabbccddeeff00112233'

describe('mainline dht (CLI)', { timeout: 180_000 }, () => {
  let net: Testnet
  let boot: string[]
  let localPort: string
  let announcer: { host: string; port: number }

  before(async () => {
    net = await startTestnet({ size: 8 })
    // Every CLI run binds the same local port: one-shot commands are read-only and never tabled, but `dht node`
    // is, and a later run answering on its address spares lookups waiting out a dead node (5 s query timeout).
    const probe = createSocket('udp4')
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r))
    localPort = String(probe.address().port)
    await new Promise<void>((r) => probe.close(() => r()))
    boot = ['--host', '127.0.0.1', '--bootstrap', `${net.seed.host}:${net.seed.port}`]
    const alice = net.nodes[3]
    announcer = alice.address()
    const r = await alice.announce(hex(IH), { impliedPort: true })
    assert.ok(r.nodes > 0, 'the testnet stored the announce')
  })
  after(() => net?.close())

  it('lookup finds the announced peer, prints it and "done", and exits 0', async () => {
    const r = await runCli(['dht', 'lookup', IH, ...boot, '--port', localPort, '--timeout', '20', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const peers = r.events.filter((e) => e.event === 'peer')
    assert.ok(
      peers.some((p) => p.host === announcer.host && p.port === announcer.port),
      r.stdout,
    )
    const done = r.events.at(-1)
    assert.equal(done?.event, 'done')
    assert.equal(done?.peers, peers.length)
    assert.ok((done?.queries as number) > 0)
    assert.equal(typeof done?.ms, 'number')
  })

  it('lookup without --json prints human lines', async () => {
    const r = await runCli(['dht', 'lookup', IH, ...boot, '--port', localPort, '--timeout', '20'])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.stdout.includes(`${announcer.host}:${announcer.port}`), r.stdout)
    assert.match(r.stdout, /peers? found with \d+ queries/)
    assert.ok(!r.stdout.trimStart().startsWith('{'))
  })

  it('announce prints the nodes that stored it, and the testnet then finds that peer', async () => {
    const args = ['dht', 'announce', IH2, '--port', '7777', ...boot, '--local-port', localPort, '--timeout', '20']
    const r = await runCli([...args, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const ev = r.events.find((e) => e.event === 'announced')
    assert.ok(ev && (ev.nodes as number) > 0, r.stdout)
    const found = await runCli(['dht', 'lookup', IH2, ...boot, '--port', localPort, '--timeout', '20', '--json'])
    assert.ok(
      found.events.some((e) => e.event === 'peer' && e.host === '127.0.0.1' && e.port === 7777),
      found.stdout,
    )
  })

  it('one-shot commands run read-only (BEP 43): the testnet does not table the CLI node', async () => {
    // A port no other test uses, so any table entry on it can only come from these runs.
    const probe = createSocket('udp4')
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r))
    const port = probe.address().port
    await new Promise<void>((r) => probe.close(() => r()))
    const r = await runCli(['dht', 'lookup', IH, ...boot, '--port', String(port), '--timeout', '20', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const a = await runCli(['dht', 'announce', IH2, '--port', '7778', ...boot, '--local-port', String(port), '--json'])
    assert.equal(a.code, 0, a.stderr)
    assert.ok((a.events.find((e) => e.event === 'announced')?.nodes as number) > 0, 'read-only nodes may announce')
    const tabled = net.nodes.filter((n) => n.nodes().some((x) => x.port === port))
    assert.equal(tabled.length, 0, `${tabled.length} testnet nodes tabled the CLI node`)
  })

  it('ping gets a pong with the node id', async () => {
    const r = await runCli(['dht', 'ping', `${net.seed.host}:${net.seed.port}`, '--host', '127.0.0.1', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const pong = r.events.find((e) => e.event === 'pong')
    assert.equal(pong?.id, toHex(net.nodes[0].id))
    assert.equal(typeof pong?.rttMs, 'number')
  })

  it('find-node lists nodes of the testnet', async () => {
    const target = toHex(net.nodes[5].id)
    const r = await runCli(['dht', 'find-node', target, ...boot, '--port', localPort, '--timeout', '20', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const nodes = r.events.filter((e) => e.event === 'node')
    assert.equal(nodes[0]?.id, target, 'the closest node to an id is the node with that id')
    assert.equal(r.events.at(-1)?.event, 'done')
  })

  it('node prints "listening" and "stats", and stops by itself at --timeout', async () => {
    const r = await runCli([
      'dht',
      'node',
      '--port',
      localPort,
      ...boot,
      '--timeout',
      '2',
      '--stats-interval',
      '0.5',
      '--json',
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.events[0]?.event, 'listening')
    assert.match(String(r.events[0]?.id), /^[0-9a-f]{40}$/)
    assert.equal(r.events[0]?.host, '127.0.0.1')
    const stats = r.events.filter((e) => e.event === 'stats')
    assert.ok(stats.length >= 1)
    assert.ok((stats.at(-1)?.nodes as number) >= 1, 'it bootstrapped into the testnet')
  })

  it('node --host6 runs a dual-stack node on 127.0.0.1 and ::1', async (t) => {
    const noV6 = await ipv6LoopbackSkip()
    if (noV6) return t.skip(noV6)
    const r = await runCli(['dht', 'node', ...boot, '--port', '0', '--host6', '::1', '--timeout', '1', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const l = r.events[0]
    assert.equal(l?.event, 'listening')
    assert.equal(l?.host, '127.0.0.1')
    assert.equal(l?.host6, '::1')
    assert.equal(l?.port6, l?.port)
  })

  it('node --state saves its routing table and loads it on the next start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mainline-cli-'))
    try {
      const state = join(dir, 'dht.state')
      const args = ['dht', 'node', '--port', localPort, ...boot, '--state', state, '--timeout', '1', '--json']
      const first = await runCli(args)
      assert.equal(first.code, 0, first.stderr)
      assert.ok((await stat(state)).size > 0, 'state file written on exit')
      // Second start: no bootstrap at all, yet it knows the testnet from the state file, with the same id.
      const again = await runCli([
        'dht',
        'node',
        '--port',
        localPort,
        '--host',
        '127.0.0.1',
        '--bootstrap',
        'none',
        '--state',
        state,
        '--timeout',
        '1',
        '--json',
      ])
      assert.equal(again.code, 0, again.stderr)
      assert.equal(again.events[0]?.id, first.events[0]?.id, 'the node id is kept')
      assert.ok((again.events.at(-1)?.nodes as number) >= 1, JSON.stringify(again.events.at(-1)))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a ping nobody answers times out by itself with exit 1', async () => {
    const silent = createSocket('udp4')
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r))
    try {
      const r = await runCli([
        'dht',
        'ping',
        `127.0.0.1:${silent.address().port}`,
        '--host',
        '127.0.0.1',
        '--timeout',
        '1',
      ])
      assert.equal(r.signal, null, 'exited by itself')
      assert.equal(r.code, 1)
      assert.match(r.stderr, /timed out/)
    } finally {
      silent.close()
    }
  })

  it('a lookup with nobody to ask ends by itself with exit 1', async () => {
    const r = await runCli(['dht', 'lookup', IH, '--host', '127.0.0.1', '--bootstrap', 'none', '--timeout', '3'])
    assert.equal(r.signal, null)
    assert.equal(r.code, 1)
  })

  it('bad arguments exit 2 with a message on stderr', async () => {
    for (const args of [
      ['dht', 'lookup', 'not-hex'],
      ['dht', 'lookup'],
      ['dht', 'announce', IH, '--bootstrap', 'none'],
      ['dht', 'announce', IH, '--port', '1', '--implied-port', '--bootstrap', 'none'],
      ['dht', 'ping', 'nowhere'],
      ['dht', 'lookup', IH, '--frobnicate'],
      ['dht', 'lookup', IH, '--timeout', '-1'],
      ['dht', 'bogus'],
    ]) {
      const r = await runCli(args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /mainline: /)
      assert.equal(r.stdout, '')
    }
  })

  it('--help documents every command and option', async () => {
    const r = await runCli(['dht', '--help'])
    assert.equal(r.code, 0)
    for (const word of [
      'node',
      'lookup',
      'announce',
      'ping',
      'find-node',
      '--bootstrap',
      '--timeout',
      '--json',
      '--state',
      '--implied-port',
      '--port',
      '--host',
    ])
      assert.ok(r.stdout.includes(word), word)
  })
})
