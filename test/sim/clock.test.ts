import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { SimError, VirtualClock } from '../../src/net/sim/clock.js'

const sleep = (clock: VirtualClock, ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms))

describe('VirtualClock', () => {
  it('fires timers in time order, equal times in scheduling order', async () => {
    const c = new VirtualClock()
    const log: string[] = []
    c.setTimeout(() => log.push('c30'), 30)
    c.setTimeout(() => log.push('a10'), 10)
    c.setTimeout(() => log.push('b10'), 10)
    c.setTimeout(() => log.push('z0'), 0)
    c.setTimeout(() => log.push('d10'), 10)
    await c.runUntilIdle()
    assert.deepEqual(log, ['z0', 'a10', 'b10', 'd10', 'c30'])
    assert.equal(c.now(), 30)
  })

  it('keeps a stable order for many equal times (heap ties)', async () => {
    const c = new VirtualClock()
    const log: number[] = []
    for (let i = 0; i < 500; i++) c.setTimeout(() => log.push(i), (i % 3) * 5)
    await c.runUntilIdle()
    const expected = [0, 1, 2].flatMap((m) => [...Array(500).keys()].filter((i) => i % 3 === m))
    assert.deepEqual(log, expected)
  })

  it('cancels timers, including after compaction; a late cancel is a no-op', async () => {
    const c = new VirtualClock()
    const fired: number[] = []
    const timers = [...Array(5000).keys()].map((i) => c.setTimeout(() => fired.push(i), 1 + (i % 97)))
    for (let i = 0; i < 5000; i++) if (i % 5 !== 0) timers[i].cancel()
    assert.equal(c.pending, 1000)
    const once = c.setTimeout(() => fired.push(-1), 0)
    await c.step()
    once.cancel() // already fired
    assert.equal(c.pending, 1000)
    await c.runUntilIdle()
    assert.equal(fired.length, 1001)
    assert.deepEqual(
      fired.slice(1).sort((a, b) => a - b),
      [...Array(1000).keys()].map((i) => i * 5),
    )
    assert.equal(c.pending, 0)
  })

  it('runs intervals until cancelled, also from inside the callback', async () => {
    const c = new VirtualClock()
    const at: number[] = []
    const t = c.setInterval(() => {
      at.push(c.now())
      if (at.length === 4) t.cancel()
    }, 25)
    await c.runFor(1000)
    assert.deepEqual(at, [25, 50, 75, 100])
    assert.equal(c.now(), 1000)
    assert.equal(c.pending, 0)
  })

  it('runFor fires what is due, including timers scheduled inside the window, and stops at the end', async () => {
    const c = new VirtualClock({ start: 1000 })
    const log: number[] = []
    c.setTimeout(() => {
      log.push(c.now())
      c.setTimeout(() => log.push(c.now()), 5)
      c.setTimeout(() => log.push(c.now()), 50)
    }, 10)
    await c.runFor(20)
    assert.deepEqual(log, [1010, 1015])
    assert.equal(c.now(), 1020)
    await c.runFor(100)
    assert.deepEqual(log, [1010, 1015, 1060])
  })

  it('lets await chains run between events: several hops across virtual time', async () => {
    const c = new VirtualClock()
    const log: string[] = []
    async function hop(name: string, ms: number): Promise<number> {
      await sleep(c, ms)
      await Promise.resolve()
      log.push(`${name}@${c.now()}`)
      return c.now()
    }
    async function chain(): Promise<number> {
      let t = 0
      for (let i = 0; i < 5; i++) t = await hop(`h${i}`, 10)
      // Nested async functions add microtask hops; each must still see its timer at the right time.
      const [x, y] = await Promise.all([hop('p', 3), hop('q', 7)])
      return t + x + y
    }
    const result = c.settle(chain())
    assert.equal(await result, 50 + 53 + 57)
    assert.deepEqual(log, ['h0@10', 'h1@20', 'h2@30', 'h3@40', 'h4@50', 'p@53', 'q@57'])
  })

  it('drains process.nextTick and nested promise chains between steps, one or many steps per event-loop turn', async () => {
    for (const stepsPerTurn of [1, 64]) {
      const c = new VirtualClock({ stepsPerTurn })
      const log: string[] = []
      for (let i = 0; i < 20; i++) {
        c.setTimeout(() => {
          process.nextTick(() => {
            void (async () => {
              for (let k = 0; k < 10; k++) await Promise.resolve()
              c.setTimeout(() => log.push(`echo${i}@${c.now()}`), 0)
            })()
          })
        }, 10 * i)
        c.setTimeout(() => log.push(`next${i}@${c.now()}`), 10 * i + 1)
      }
      await c.runUntilIdle()
      const expected = [...Array(20).keys()].flatMap((i) => [`echo${i}@${10 * i}`, `next${i}@${10 * i + 1}`])
      assert.deepEqual(log, expected, `stepsPerTurn ${stepsPerTurn}`)
    }
  })

  it('a continuation scheduling a zero-delay timer runs before a later timer', async () => {
    const c = new VirtualClock()
    const log: string[] = []
    c.setTimeout(() => log.push('later@11'), 11)
    void (async () => {
      await sleep(c, 10)
      await null
      await null
      c.setTimeout(() => log.push(`reply@${c.now()}`), 0)
    })()
    await c.runUntilIdle()
    assert.deepEqual(log, ['reply@10', 'later@11'])
  })

  it('runUntil returns true when the predicate holds, false at the timeout with time moved to it', async () => {
    const c = new VirtualClock()
    let n = 0
    c.setInterval(() => n++, 10)
    assert.equal(await c.runUntil(() => n >= 3), true)
    assert.equal(c.now(), 30)
    assert.equal(await c.runUntil(() => n >= 1000, { timeout: 55 }), false)
    assert.equal(c.now(), 85)
    assert.equal(n, 8)
  })

  it('settle rejects with IDLE when nothing can settle the promise, TIMEOUT when time runs out', async () => {
    const c = new VirtualClock()
    await assert.rejects(c.settle(new Promise(() => {})), (e: unknown) => e instanceof SimError && e.code === 'IDLE')
    c.setInterval(() => {}, 1000)
    await assert.rejects(c.settle(new Promise(() => {}), { timeout: 5000 }), { code: 'TIMEOUT' })
    assert.equal(c.now(), 5000)
    await assert.rejects(
      c.settle(
        (async () => {
          await sleep(c, 1)
          throw new Error('inner')
        })(),
      ),
      { message: 'inner' },
    )
  })

  it('a throwing timer rejects the driver', async () => {
    const c = new VirtualClock()
    c.setTimeout(() => {
      throw new Error('timer boom')
    }, 5)
    await assert.rejects(c.runFor(10), { message: 'timer boom' })
    // The clock is usable again afterwards.
    await c.runFor(10)
  })

  it('autoAdvance runs ordinary async code on virtual time; other drivers are BUSY meanwhile', async () => {
    const c = new VirtualClock()
    const stop = c.autoAdvance()
    try {
      const t0 = Date.now()
      await sleep(c, 60_000)
      assert.equal(c.now(), 60_000)
      await Promise.all([sleep(c, 5), sleep(c, 10)])
      assert.equal(c.now(), 60_010)
      assert.ok(Date.now() - t0 < 5_000, 'virtual minutes must not take real minutes')
      await assert.rejects(c.runFor(1), (e: unknown) => e instanceof SimError && e.code === 'BUSY')
      // Idle (nothing queued): the loop parks, and wakes when something is scheduled.
      await new Promise((r) => setTimeout(r, 5))
      await sleep(c, 1)
      assert.equal(c.now(), 60_011)
    } finally {
      stop()
    }
    await c.runFor(1) // no longer busy
  })

  it('fires exactly the live timers in (time, scheduling order), whatever the schedule/cancel mix', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), ms: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('cancel' as const), which: fc.nat() }),
    )
    // Small runs explore orderings; large cancel-heavy ones also go through heap compaction (> 1024 cancelled).
    for (const [maxLength, numRuns] of [
      [300, 60],
      [6000, 4],
    ]) {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: maxLength / 2, maxLength }), async (ops) => {
          const c = new VirtualClock()
          const fired: number[] = []
          const timers: { id: number; at: number; cancel(): void; live: boolean }[] = []
          for (const o of ops) {
            if (o.kind === 'add') {
              const id = timers.length
              const t = c.setTimeout(() => fired.push(id), o.ms)
              timers.push({ id, at: o.ms, cancel: () => t.cancel(), live: true })
            } else if (timers.length > 0) {
              const t = timers[o.which % timers.length]
              t.cancel()
              t.live = false
            }
          }
          await c.runUntilIdle()
          const expected = timers
            .filter((t) => t.live)
            .sort((a, b) => a.at - b.at || a.id - b.id)
            .map((t) => t.id)
          assert.deepEqual(fired, expected)
          assert.equal(c.pending, 0)
        }),
        { numRuns, seed: 1 },
      )
    }
  })
})
