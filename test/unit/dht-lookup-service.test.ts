// The lookup service alone, with a fake query function over a made-up topology: it seeds from the table (and
// from the saved and bootstrap nodes only while the table is short), waits for the bootstrap names, walks the
// family asked for, and hands the query function's extra reply data through untouched.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compareDistance } from '../../src/codec/node-id.js'
import { LookupService, type SeedList } from '../../src/dht/lookup-service.js'
import type { DHTNode } from '../../src/dht/options.js'
import type { QueryFn, TraversalContact } from '../../src/dht/traversal.js'
import { idOf } from '../helpers/dht-fixtures.js'

/** 64 nodes; each knows the 8 nearest to any target among all (a perfect network). */
function world(family: 4 | 6) {
  const nodes: DHTNode[] = Array.from({ length: 64 }, (_, i) => ({
    id: idOf(i * 4, i),
    host: family === 4 ? `198.51.100.${i + 1}` : `2001:db8::${(i + 1).toString(16)}`,
    port: 6881,
  }))
  const asked: TraversalContact[] = []
  const query: QueryFn = async (node) => {
    asked.push(node)
    const me = nodes.find((n) => n.host === node.host && n.port === node.port)
    if (!me) throw new Error('nobody there')
    return { id: me.id, nodes: [], token: new Uint8Array([me.id[0]]) }
  }
  const closestTo = (target: Uint8Array, n: number) =>
    [...nodes].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, n)
  const knowing: QueryFn = async (node, ctx) => {
    const r = await query(node, ctx)
    return { ...r, nodes: closestTo(TARGET, 8) }
  }
  return { nodes, asked, query, knowing, closestTo }
}

const TARGET = idOf(0x55, 0x55)
/** The made-up nodes share a /24: without this, lookup diversity would keep one of them. */
const OPEN = { restrictSearchIps: false }

function table(list: DHTNode[]) {
  return { closest: (_t: Uint8Array, n: number) => list.slice(0, n).map((x) => ({ ...x })) }
}

describe('lookup service', () => {
  it('finds the K closest with any query function; its extra reply data (a token) comes through', async () => {
    const w = world(4)
    const seeds: SeedList = { saved: [], bootstrap: [], ready: Promise.resolve() }
    const s = new LookupService({
      k: 8,
      alpha: 4,
      table: () => table(w.nodes.slice(0, 3)),
      seeds,
      family: () => 4,
      ...OPEN,
    })
    const r = await s.run({ target: TARGET, query: w.knowing })
    assert.deepEqual(
      r.closest.map((n) => n.id),
      w.closestTo(TARGET, 8).map((n) => n.id),
    )
    assert.deepEqual(r.withToken[0].token, new Uint8Array([r.withToken[0].id[0]]))
    assert.ok(r.queries >= 8)
  })

  it('seeds from the table; the saved and bootstrap nodes join only while it has fewer than K', () => {
    const w = world(4)
    const saved = [{ id: idOf(1, 1), host: '203.0.113.1', port: 1 }]
    const bootstrap = [
      { host: '203.0.113.2', port: 2 },
      { host: '2001:db8::9', port: 3 },
    ]
    const seeds: SeedList = { saved, bootstrap, ready: Promise.resolve() }
    let known = w.nodes.slice(0, 3)
    const s = new LookupService({ k: 8, alpha: 4, table: () => table(known), seeds, family: () => 4, ...OPEN })
    const few = s.seeds(TARGET, 4)
    assert.deepEqual(
      few.map((n) => n.host),
      ['198.51.100.1', '198.51.100.2', '198.51.100.3', '203.0.113.1', '203.0.113.2'],
    )
    known = w.nodes.slice(0, 20)
    assert.equal(s.seeds(TARGET, 4).length, 16, 'the table alone: 2 K of its closest')
  })

  it('a run waits until the bootstrap names are resolved, then uses them', async () => {
    const w = world(4)
    let resolve!: () => void
    const seeds: SeedList = { saved: [], bootstrap: [], ready: new Promise<void>((r) => (resolve = r)) }
    const s = new LookupService({ k: 8, alpha: 4, table: () => table([]), seeds, family: () => 4, ...OPEN })
    const run = s.run({ target: TARGET, query: w.knowing })
    await new Promise((r) => setImmediate(r))
    assert.equal(w.asked.length, 0)
    seeds.bootstrap = [{ host: w.nodes[0].host, port: w.nodes[0].port }]
    resolve()
    const r = await run
    assert.equal(w.asked[0].host, w.nodes[0].host)
    assert.equal(r.closest.length, 8)
  })

  it("walks the family asked for, on that family's table; default the main one", async () => {
    const w4 = world(4)
    const w6 = world(6)
    const seeds: SeedList = { saved: [], bootstrap: [], ready: Promise.resolve() }
    const s = new LookupService({
      k: 8,
      alpha: 4,
      table: (f) => table(f === 4 ? w4.nodes.slice(0, 2) : w6.nodes.slice(0, 2)),
      seeds,
      family: () => 6,
      ...OPEN,
    })
    await s.run({ target: TARGET, query: w6.query })
    assert.ok(w6.asked.length > 0 && w6.asked.every((n) => n.host.includes(':')))
    await s.run({ target: TARGET, family: 4, query: w4.query })
    assert.ok(w4.asked.length > 0 && w4.asked.every((n) => !n.host.includes(':')))
  })

  it('events: each reply as it comes, then the result; breaking out cancels the lookup', async () => {
    const w = world(4)
    const seeds: SeedList = { saved: [], bootstrap: [], ready: Promise.resolve() }
    const s = new LookupService({
      k: 8,
      alpha: 4,
      table: () => table(w.nodes.slice(0, 3)),
      seeds,
      family: () => 4,
      ...OPEN,
    })
    const types: string[] = []
    for await (const e of s.events({ target: TARGET, query: w.knowing })) types.push(e.type)
    assert.equal(types.at(-1), 'done')
    assert.ok(types.filter((t) => t === 'reply').length >= 8)
    // The first node answers at once, the others never: breaking out after that reply aborts their queries.
    const signals: AbortSignal[] = []
    const stuck: QueryFn = (node, ctx) => {
      if (node.host === w.nodes[0].host) return w.knowing(node, ctx)
      signals.push(ctx.signal)
      return new Promise(() => {})
    }
    for await (const e of s.events({ target: TARGET, query: stuck })) if (e.type === 'reply') break
    assert.ok(signals.length > 0)
    assert.ok(signals.every((x) => x.aborted))
  })
})
