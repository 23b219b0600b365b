import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { LinkConditions } from '../../src/net/sim/conditions.js'
import { SIM_BYTES, simPair, transfer } from './utp-helpers.js'

const MiB = 1024 * 1024

const scenarios: [string, LinkConditions][] = [
  ['5% loss', { latencyMs: 20, loss: 0.05 }],
  ['20% loss', { latencyMs: 20, loss: 0.2 }],
  ['reordering', { latencyMs: 20, reorder: 0.1 }],
  ['duplication', { latencyMs: 20, duplicate: 0.1 }],
  ['200 ms delay with jitter', { latencyMs: 200, jitterMs: 40 }],
  ['all at once', { latencyMs: 100, jitterMs: 20, loss: 0.05, reorder: 0.05, duplicate: 0.05 }],
]

describe(`uTP on net/sim: ${SIM_BYTES / MiB} MiB byte-identical`, { timeout: 600_000 }, () => {
  scenarios.forEach(([name, cond], i) => {
    it(name, async () => {
      const p = simPair(cond, 100 + i)
      const r = await transfer(p, SIM_BYTES)
      assert.equal(r.error, null)
      assert.equal(r.bytes, SIM_BYTES)
      assert.equal(r.got, r.want)
      assert.ok(r.ended)
      // Everything is released once the linger time passes.
      await p.clock.runFor(70_000)
      assert.equal(p.a.size, 0)
      assert.equal(p.b.size, 0)
      const s = r.client.conn.stats
      console.log(
        `# ${name}: ${(SIM_BYTES / MiB / r.seconds).toFixed(2)} MiB/s virtual, ${r.seconds.toFixed(1)} virtual s, ` +
          `resent ${s.resent}, timeouts ${s.timeouts}, net ${JSON.stringify(p.net.stats().dropped.loss)} lost`,
      )
    })
  })
})
