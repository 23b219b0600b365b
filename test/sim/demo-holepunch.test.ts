import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { holepunchChapter } from '../../src/cli/demo/holepunch.js'
import { Output } from '../../src/cli/output.js'

describe('demo chapter "holepunch" (net/sim)', { timeout: 60_000 }, () => {
  it('tells the story: DHT discovery, failed direct dial, rendezvous, uTP punch, data both ways', async () => {
    const stdout = new PassThrough()
    let text = ''
    stdout.on('data', (b: Buffer) => {
      text += b.toString()
    })
    const ok = await holepunchChapter.run({
      out: new Output(true, stdout, new PassThrough()),
      signal: new AbortController().signal,
      nodes: 100,
    })
    assert.equal(ok, true)
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(
      events.map((e) => e.event),
      ['world', 'bob_ready', 'holepunch', 'data'],
    )
    const hp = events[2]
    assert.equal(hp.transport, 'utp')
    assert.deepEqual(hp.directDialFailed, { host: '203.0.113.1', port: 6881 })
    assert.ok((hp.droppedAtBobsNat as number) > 0)
    assert.equal(events[3].verified, true)
  })
})
