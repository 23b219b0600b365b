// `mainline demo`: offline, no set-up; it must end with exit 0 and say that the peer was found.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runCli } from './cli-run.js'

describe('mainline demo', { timeout: 90_000 }, () => {
  it('runs the DHT chapter on 100+ local nodes and finds the announced peer', async () => {
    const r = await runCli(['demo', '--json', '--timeout', '60'], 75_000)
    assert.equal(r.code, 0, r.stderr)
    const testnet = r.events.find((e) => e.event === 'testnet')
    assert.ok((testnet?.nodes as number) >= 100)
    const ann = r.events.find((e) => e.event === 'announced') as { by: { host: string; port: number } } | undefined
    const lookup = r.events.find((e) => e.event === 'lookup') as
      | { found: { host: string; port: number } | null }
      | undefined
    assert.ok(ann && lookup)
    assert.deepEqual(lookup.found, ann.by, 'Bob found Alice at her own address')
    // The second chapter: two NATed peers punch a uTP connection and move data through it.
    assert.deepEqual(
      r.events.filter((e) => e.event === 'chapter').map((e) => e.name),
      ['dht', 'holepunch', 'magnet'],
    )
    const hp = r.events.find((e) => e.event === 'holepunch') as { transport?: string; directDialFailed?: unknown }
    assert.equal(hp?.transport, 'utp')
    assert.ok(hp.directDialFailed, 'the direct dial failed first')
    const data = r.events.find((e) => e.event === 'data') as { verified?: boolean } | undefined
    assert.equal(data?.verified, true)
    // The third: Bob, given only the magnet link, fetches Alice's metadata through the DHT and checks it.
    const serving = r.events.find((e) => e.event === 'serving') as { infoHash?: string; by?: unknown } | undefined
    const meta = r.events.find((e) => e.event === 'metadata') as
      | { infoHash?: string; verified?: boolean; from?: unknown[] }
      | undefined
    assert.equal(meta?.verified, true)
    assert.equal(meta?.infoHash, serving?.infoHash)
    assert.deepEqual(meta?.from, [serving?.by], 'from Alice')
    assert.deepEqual(r.events.at(-1), { event: 'end', ok: true, ms: r.events.at(-1)?.ms })
  })

  it('tells the story in words without --json', async () => {
    const r = await runCli(['demo', 'dht', '--nodes', '100'], 50_000)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /found Alice at 127\.0\.0\.1:\d+/)
    assert.match(r.stdout, /Started 100 DHT nodes/)
  })

  it('rejects an unknown chapter with exit 2', async () => {
    const r = await runCli(['demo', 'nope'])
    assert.equal(r.code, 2)
  })
})
