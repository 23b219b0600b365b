// BEP 51 sample_infohashes: the messages, fitting samples into a packet, and the sampler's subset and interval.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  buildSampleInfohashesQuery,
  buildSampleInfohashesReply,
  CodecError,
  encode,
  parseKrpc,
  samplesThatFit,
  splitSamples,
} from '../../src/codec/index.js'
import { InfohashSampler } from '../../src/dht/infohash-sampler.js'
import { seededRandom } from '../helpers/dht-fixtures.js'

const T = Uint8Array.of(1, 2)
const NID = new Uint8Array(20).fill(1)
const TARGET = new Uint8Array(20).fill(2)
const hashes = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => {
    const h = new Uint8Array(20)
    new DataView(h.buffer).setUint32(0, from + i)
    return h
  })

describe('sample_infohashes messages', () => {
  it('canonical bytes, and typed round trips', () => {
    assert.deepEqual(
      buildSampleInfohashesQuery(T, NID, TARGET, { want: ['n4', 'n6'], ro: true }),
      encode({ a: { id: NID, target: TARGET, want: ['n4', 'n6'] }, q: 'sample_infohashes', ro: 1, t: T, y: 'q' }),
    )
    const q = parseKrpc(buildSampleInfohashesQuery(T, NID, TARGET), { allMethods: true })
    assert.ok(q.y === 'q' && q.known && q.q === 'sample_infohashes')
    assert.deepEqual(q.a, { id: NID, target: TARGET })

    const samples = hashes(3)
    const nodes = new Uint8Array(52).fill(7)
    const wire = buildSampleInfohashesReply(T, NID, { interval: 60, num: 1234, samples, nodes })
    assert.deepEqual(
      wire,
      encode({
        r: { id: NID, interval: 60, nodes, num: 1234, samples: Uint8Array.from(samples.flatMap((h) => [...h])) },
        t: T,
        y: 'r',
      }),
    )
    const r = parseKrpc(wire)
    assert.ok(r.y === 'r')
    assert.equal(r.r.interval, 60)
    assert.equal(r.r.num, 1234)
    assert.deepEqual(splitSamples(r.r.samples!), samples)
    // An empty sample is still sent (BEP 51: it tells a supporting node from one that answers like find_node).
    const empty = parseKrpc(buildSampleInfohashesReply(T, NID, { interval: 0, num: 0, samples: [] }))
    assert.ok(empty.y === 'r')
    assert.deepEqual(empty.r.samples, new Uint8Array(0))
  })

  it('a reply with a broken samples, interval or num drops that key', () => {
    const r = parseKrpc(encode({ r: { id: NID, interval: 21601, num: -1, samples: new Uint8Array(21) }, t: T, y: 'r' }))
    assert.ok(r.y === 'r')
    assert.deepEqual(r.r, { id: NID })
  })

  it('builders refuse out-of-range fields', () => {
    assert.throws(() => buildSampleInfohashesReply(T, NID, { interval: 21601, num: 0, samples: [] }), CodecError)
    assert.throws(() => buildSampleInfohashesReply(T, NID, { interval: 1, num: -1, samples: [] }), CodecError)
    assert.throws(
      () => buildSampleInfohashesReply(T, NID, { interval: 1, num: 0, samples: new Uint8Array(19) }),
      CodecError,
    )
    assert.throws(() => buildSampleInfohashesQuery(T, NID, new Uint8Array(19)), CodecError)
  })

  it('samplesThatFit fills the room and no more', () => {
    const nodes = new Uint8Array(8 * 26)
    const base = buildSampleInfohashesReply(T, NID, { interval: 21600, num: 99999, samples: [], nodes }).length
    const room = 1024 - base
    const n = samplesThatFit(room)
    const full = buildSampleInfohashesReply(T, NID, { interval: 21600, num: 99999, samples: hashes(n), nodes })
    assert.ok(full.length <= 1024, `${full.length}`)
    const over = buildSampleInfohashesReply(T, NID, { interval: 21600, num: 99999, samples: hashes(n + 1), nodes })
    assert.ok(over.length > 1024)
    for (let r = 0; r < 3000; r += 7) {
      const k = samplesThatFit(r)
      const cost = (m: number) => String(20 * m).length - 1 + 20 * m
      assert.ok(cost(k) <= Math.max(r, 0) && cost(k + 1) > r, `room ${r}`)
    }
  })
})

function store(list: Uint8Array[]) {
  let walks = 0
  return {
    get size() {
      return list.length
    },
    keys() {
      walks++
      return list
    },
    walks: () => walks,
  }
}

describe('InfohashSampler', () => {
  it('returns every infohash when they fit, with num and the interval', () => {
    const c = { now: () => 0 }
    const s = new InfohashSampler({ clock: c, random: seededRandom(1), intervalSeconds: 300 })
    const st = store(hashes(5))
    const out = s.sample(st)
    assert.equal(out.num, 5)
    assert.equal(out.interval, 300)
    assert.deepEqual(splitSamples(out.samples), hashes(5))
  })

  it('draws a random subset, serves it unchanged for the interval, then draws again', () => {
    const c = { t: 0, now: () => c.t }
    const s = new InfohashSampler({ clock: c, random: seededRandom(2), intervalSeconds: 600, maxSamples: 20 })
    const st = store(hashes(1000))
    const a = s.sample(st)
    assert.equal(a.num, 1000)
    assert.equal(a.samples.length, 400)
    assert.equal(new Set(splitSamples(a.samples).map((h) => h.join())).size, 20)
    c.t = 599_999
    assert.deepEqual(s.sample(st).samples, a.samples)
    assert.equal(st.walks(), 1)
    c.t = 600_000
    assert.notDeepEqual(s.sample(st).samples, a.samples)
    assert.equal(st.walks(), 2)
  })

  it('the subset is uniform: every infohash is drawn about equally often', () => {
    const c = { t: 0, now: () => c.t }
    const s = new InfohashSampler({ clock: c, random: seededRandom(3), intervalSeconds: 0, maxSamples: 10 })
    const st = store(hashes(100))
    const counts = new Array(100).fill(0)
    for (let i = 0; i < 2000; i++) {
      c.t++
      for (const h of splitSamples(s.sample(st).samples)) counts[new DataView(h.buffer, h.byteOffset).getUint32(0)]++
    }
    // Expected 200 each; a reservoir bug (e.g. never replacing) leaves the first ten at 2000.
    for (const n of counts) assert.ok(n > 120 && n < 290, `count ${n}`)
  })

  it('fits the room left in the packet', () => {
    const s = new InfohashSampler({ clock: { now: () => 0 }, random: seededRandom(4), maxSamples: 20 })
    const out = s.sample(store(hashes(100)), 205)
    assert.equal(out.samples.length, 200)
    assert.equal(s.sample(store(hashes(100)), 0).samples.length, 0)
    assert.throws(
      () => new InfohashSampler({ clock: { now: () => 0 }, random: seededRandom(4), intervalSeconds: 21601 }),
      RangeError,
    )
  })
})
