import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { splitHostPort } from '../../src/dht/bootstrap.js'
import { IpVoter } from '../../src/dht/ip-voter.js'
import { PeerStore } from '../../src/dht/peer-store.js'
import { RateLimiter } from '../../src/dht/rate-limit.js'
import { parseState, serializeState } from '../../src/dht/state.js'
import { loadState, saveState } from '../../src/dht/state-file.js'
import { TOKEN_ROTATE_MS, TokenManager } from '../../src/dht/tokens.js'
import { idOf, ManualClock, seededRandom } from '../helpers/dht-fixtures.js'

describe('tokens', () => {
  it('are bound to the IP and info hash, survive one rotation and expire after two', () => {
    const clock = new ManualClock()
    const tm = new TokenManager(seededRandom(1), () => clock.now())
    const ih = idOf(1)
    const tok = tm.issue('198.51.100.7', ih)
    assert.ok(tm.check(tok, '198.51.100.7', ih))
    assert.ok(!tm.check(tok, '198.51.100.8', ih))
    assert.ok(!tm.check(tok, '198.51.100.7', idOf(2)))
    assert.ok(!tm.check(tok.subarray(0, 4), '198.51.100.7', ih))
    clock.advance(TOKEN_ROTATE_MS + 1)
    assert.ok(tm.check(tok, '198.51.100.7', ih), 'previous secret still accepted')
    tm.issue('x', ih)
    clock.advance(TOKEN_ROTATE_MS + 1)
    assert.ok(!tm.check(tok, '198.51.100.7', ih), 'two rotations later it is gone')
  })
})

describe('peer store', () => {
  it('stores, refreshes, expires after 30 minutes, and filters by family', () => {
    const clock = new ManualClock()
    const s = new PeerStore({ now: () => clock.now(), random: seededRandom(2) })
    const ih = idOf(9)
    s.add(ih, { host: '127.0.0.1', port: 1 })
    s.add(ih, { host: '::1', port: 2 })
    s.add(ih, { host: '127.0.0.1', port: 1 }) // refresh, not a duplicate
    assert.equal(s.peers, 2)
    assert.deepEqual(s.get(ih, 4, 10), [{ host: '127.0.0.1', port: 1 }])
    assert.deepEqual(s.get(ih, 6, 10), [{ host: '::1', port: 2 }])
    clock.advance(29 * 60_000)
    s.add(ih, { host: '127.0.0.1', port: 1 })
    clock.advance(2 * 60_000)
    assert.deepEqual(s.get(ih, 4, 10), [{ host: '127.0.0.1', port: 1 }])
    assert.deepEqual(s.get(ih, 6, 10), [])
    assert.equal(s.peers, 1)
    clock.advance(31 * 60_000)
    s.sweep()
    assert.equal(s.peers, 0)
    assert.equal(s.infoHashes, 0)
  })

  it('caps peers per info hash, info hashes and peers overall; one network makes room from its own entries', () => {
    const clock = new ManualClock()
    const s = new PeerStore({
      now: () => clock.now(),
      random: seededRandom(3),
      maxPerHash: 5,
      maxHashes: 3,
      maxPeers: 12,
      maxPerPrefix: 12,
      maxPerAddress: 12,
    })
    // One /24 (one network) only ever replaces its own: the oldest of them goes first.
    const host = (i: number) => `198.51.100.${i}`
    for (let i = 0; i < 20; i++) assert.ok(s.add(idOf(1), { host: host(i), port: 6881 }))
    assert.equal(s.get(idOf(1), 4, 100).length, 5)
    assert.ok(
      s.get(idOf(1), 4, 100).every((p) => Number(p.host.split('.')[3]) >= 15),
      'oldest dropped first',
    )
    s.add(idOf(2), { host: host(1), port: 1 })
    s.add(idOf(3), { host: host(1), port: 1 })
    // A fourth info hash from the same network replaces one that network alone announced.
    assert.ok(s.add(idOf(4), { host: host(1), port: 1 }))
    assert.equal(s.infoHashes, 3)
    assert.deepEqual(s.get(idOf(4), 4, 10), [{ host: host(1), port: 1 }])
    // Another network takes room from the one holding the most, and the caps hold.
    for (let i = 0; i < 10; i++) s.add(idOf(4), { host: `203.0.113.${i}`, port: 1 })
    assert.ok(s.peers <= 12)
    assert.ok(s.infoHashes <= 3)
    assert.ok(s.get(idOf(4), 4, 10).some((p) => p.host.startsWith('203.0.113.')))
  })

  it('is never locked by a flood: one address announcing thousands of ports leaves room for the next announce', () => {
    const clock = new ManualClock()
    const s = new PeerStore({ now: () => clock.now(), random: seededRandom(4) })
    for (let h = 0; h < 120; h++) {
      for (let port = 1; port <= 200; port++) s.add(idOf(h), { host: '203.0.113.5', port })
    }
    assert.ok(s.peers <= s.maxPeers)
    s.add(idOf(200), { host: '198.51.100.1', port: 6881 })
    assert.deepEqual(s.get(idOf(200), 4, 10), [{ host: '198.51.100.1', port: 6881 }])
  })
})

describe('rate limiter', () => {
  it('bans a source that overdraws its bucket, for banMs, and caps its map', () => {
    const clock = new ManualClock()
    const rl = new RateLimiter({ now: () => clock.now(), perSecond: 10, burst: 20, banMs: 1000, maxEntries: 100 })
    let ok = 0
    for (let i = 0; i < 25; i++) if (rl.allow('a')) ok++
    assert.equal(ok, 20)
    assert.ok(rl.banned('a'))
    assert.ok(rl.allow('b'))
    clock.advance(1001)
    assert.ok(rl.allow('a'))
    for (let i = 0; i < 1000; i++) rl.allow(`k${i}`)
    assert.ok(rl.size <= 100)
    // A steady sender under the rate is never banned.
    for (let i = 0; i < 100; i++) {
      clock.advance(150)
      assert.ok(rl.allow('steady'))
    }
  })
})

describe('IP voter', () => {
  it('believes an address once enough distinct voters agree, and follows a change', () => {
    const v = new IpVoter({ minVotes: 3 })
    assert.equal(v.vote('192.0.2.1', '203.0.113.5'), undefined)
    assert.equal(v.vote('192.0.2.1', '203.0.113.5'), undefined) // same voter twice counts once
    assert.equal(v.vote('192.0.2.2', '203.0.113.5'), undefined)
    assert.equal(v.vote('192.0.2.3', '203.0.113.5'), '203.0.113.5')
    assert.equal(v.external, '203.0.113.5')
    for (let i = 0; i < 4; i++) v.vote(`192.0.2.${10 + i}`, '198.51.100.9')
    assert.equal(v.external, '203.0.113.5') // more votes, but not twice as many: no switch
    for (let i = 4; i < 5; i++) assert.equal(v.vote(`192.0.2.${10 + i}`, '198.51.100.9'), undefined)
    assert.equal(v.vote('192.0.2.19', '198.51.100.9'), '198.51.100.9') // 6 against 3
  })

  it('does not flip between two addresses that split the votes, nor change more than once per 5 minutes', () => {
    let now = 0
    const v = new IpVoter({ now: () => now })
    let i = 0
    const voter = () => `192.0.2.${(i++ % 250) + 1}`
    for (let k = 0; k < 4; k++) v.vote(voter(), '203.0.113.1')
    assert.equal(v.external, '203.0.113.1')
    // 2,000 votes split 50/50 between two egress addresses, over 20 minutes.
    let changes = 0
    for (let k = 0; k < 2000; k++) {
      now += 600
      if (v.vote(voter(), k % 2 ? '203.0.113.1' : '203.0.113.2')) changes++
    }
    assert.equal(changes, 0)
    // A real change of address: every voter now sees the new one; the switch waits out the 5 minutes.
    const t0 = now
    let changedAt = -1
    for (let k = 0; k < 400 && changedAt < 0; k++) {
      now += 1000
      if (v.vote(voter(), '198.51.100.7')) changedAt = now
    }
    assert.equal(v.external, '198.51.100.7')
    assert.ok(changedAt - t0 < 60_000, `switched after ${changedAt - t0} ms`)
    for (let k = 0; k < 60; k++) v.vote(voter(), '203.0.113.9')
    assert.equal(v.external, '198.51.100.7', 'no second change within 5 minutes')
  })
})

describe('state file', () => {
  it('round-trips, skips bad entries, and rejects garbage', () => {
    const st = { id: idOf(5), nodes: [{ id: idOf(6), host: '127.0.0.1', port: 6881 }] }
    const back = parseState(serializeState(st))
    assert.deepEqual(back, st)
    const doc = JSON.parse(serializeState(st))
    doc.nodes.push(['zz', '127.0.0.1', 1], [doc.id, 'not-an-ip', 1], [doc.id, '::1', 70000])
    assert.equal(parseState(JSON.stringify(doc)).nodes.length, 1)
    assert.throws(() => parseState('{"format":"x"}'), { code: 'STATE_FILE' })
    assert.throws(() => parseState('{'), { code: 'STATE_FILE' })
  })

  it('writes atomically: no temp files left, a torn temp file never replaces the real one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dht-state-'))
    try {
      const path = join(dir, 'dht.json')
      assert.equal(await loadState(path), undefined)
      await saveState(path, { id: idOf(1), nodes: [] })
      await writeFile(join(dir, '.dht.json.999.tmp'), '{"format":"mainline-dht-state","ver') // a kill mid-write
      const all = await Promise.all(
        Array.from({ length: 20 }, (_, i) => saveState(path, { id: idOf(i + 1), nodes: [] })),
      )
      assert.equal(all.length, 20)
      const loaded = await loadState(path)
      assert.ok(loaded && loaded.id.length === 20)
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.endsWith('.tmp') && !f.includes('.999.')),
        [],
      )
      JSON.parse(await readFile(path, 'utf8'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('bootstrap entries', () => {
  it('splits host:port and [v6]:port, rejects the rest', () => {
    assert.deepEqual(splitHostPort('127.0.0.1:6881'), { host: '127.0.0.1', port: 6881 })
    assert.deepEqual(splitHostPort('[::1]:6881'), { host: '::1', port: 6881 })
    assert.deepEqual(splitHostPort('router.example.org:6881'), { host: 'router.example.org', port: 6881 })
    for (const bad of ['127.0.0.1', '::1:6881', 'host:0', 'host:70000', ':6881', '[::1]']) {
      assert.equal(splitHostPort(bad), undefined, bad)
    }
  })
})
