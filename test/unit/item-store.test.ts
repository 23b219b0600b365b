// The BEP 44 item store: what it accepts and refuses (with which code), what `get` answers, expiry, the caps, and
// a flood of puts under many keys from many addresses.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encode, signatureBuffer, toHex } from '../../src/codec/index.js'
import {
  generateKeypair,
  immutableTargetOf,
  type LocalKeypair,
  mutableTargetOf,
  verifyMutableItem,
} from '../../src/dht/bep44-crypto.js'
import { ItemStore, type MutablePut } from '../../src/dht/item-store.js'

const HOUR = 3600_000

function clock(start = 1000) {
  const c = { t: start, now: () => c.t }
  return c
}

const keys = new Map<number, LocalKeypair>()
function key(n: number): LocalKeypair {
  let k = keys.get(n)
  if (!k) {
    const seed = new Uint8Array(32)
    new DataView(seed.buffer).setUint32(0, n + 1)
    k = generateKeypair(seed)
    keys.set(n, k)
  }
  return k
}

/** A signed mutable put by key `n`. */
function signed(n: number, value: unknown, seq: bigint | number, extra: { salt?: Uint8Array; cas?: bigint } = {}) {
  const kp = key(n)
  const v = encode(value as string)
  const s = BigInt(seq)
  const sig = kp.sign(signatureBuffer(v, s, extra.salt)) as Uint8Array
  const put: MutablePut = { v, k: kp.publicKey, sig, seq: s, ...extra }
  return put
}

describe('ItemStore: immutable items', () => {
  it('stores under SHA-1 of the value, refreshes on a second put, refuses sizes with 205', () => {
    const st = new ItemStore({ clock: clock() })
    const v = encode('Hello World!')
    const r = st.putImmutable(v, '198.51.100.1')
    assert.ok(r.ok && r.stored === 'new')
    assert.equal(toHex(r.target), 'e5f96f6f38320f0f33959cb4d3d656452117aadb')
    assert.deepEqual(st.get(r.target), { v })
    const again = st.putImmutable(v, '198.51.100.2')
    assert.ok(again.ok && again.stored === 'refreshed')
    assert.equal(st.size, 1)
    assert.deepEqual(st.putImmutable(new Uint8Array(0), '198.51.100.1'), {
      ok: false,
      code: 205,
      message: 'Message (v field) too big',
    })
    const big = encode('x'.repeat(997))
    assert.equal(st.putImmutable(big, '198.51.100.1').ok, false)
    assert.equal(st.size, 1)
    // A get with `seq` asks for a mutable item: the immutable one is not returned.
    assert.equal(st.get(r.target, 0n), undefined)
  })

  it('keeps its own copy of the value', () => {
    const st = new ItemStore({ clock: clock() })
    const v = encode('abc')
    const r = st.putImmutable(v, '198.51.100.1')
    v[2] = 0x7a
    assert.ok(r.ok)
    assert.deepEqual(st.get(r.target), { v: encode('abc') })
  })
})

describe('ItemStore: mutable items', () => {
  it('stores a signed item under SHA-1(k ‖ salt); get answers by seq as BEP 44 says', () => {
    const st = new ItemStore({ clock: clock() })
    const p = signed(1, 'one', 5)
    const r = st.putMutable(p, '198.51.100.1')
    assert.ok(r.ok && r.stored === 'new')
    assert.deepEqual(r.target, mutableTargetOf(p.k))
    assert.deepEqual(st.get(r.target), { v: p.v, k: p.k, sig: p.sig, seq: 5n })
    assert.deepEqual(st.get(r.target, 4n), { v: p.v, k: p.k, sig: p.sig, seq: 5n })
    assert.deepEqual(st.get(r.target, 5n), { seq: 5n })
    assert.deepEqual(st.get(r.target, 9n), { seq: 5n })
    assert.equal(st.get(immutableTargetOf(p.v)), undefined)
  })

  it('206 for a bad signature: nothing is stored', () => {
    const st = new ItemStore({ clock: clock() })
    const p = signed(1, 'one', 5)
    const forged = { ...p, v: encode('two') }
    assert.deepEqual(st.putMutable(forged, '198.51.100.1'), { ok: false, code: 206, message: 'Invalid signature' })
    const otherSeq = { ...p, seq: 6n }
    assert.equal(st.putMutable(otherSeq, '198.51.100.1').ok, false)
    const otherKey = { ...p, k: key(2).publicKey }
    assert.equal(st.putMutable(otherKey, '198.51.100.1').ok, false)
    assert.equal(st.size, 0)
  })

  it('203 for a malformed item, 207 for a long salt, 205 for a big value, before the signature', () => {
    const st = new ItemStore({ clock: clock() })
    const p = signed(1, 'one', 5)
    assert.equal((st.putMutable({ ...p, k: p.k.subarray(1) }, '198.51.100.1') as { code: number }).code, 203)
    assert.equal(
      (st.putMutable({ ...p, seq: -1n }, '198.51.100.1') as { message: string }).message,
      'invalid (negative) sequence number',
    )
    assert.equal(
      (st.putMutable(signed(1, 'x', 1, { salt: new Uint8Array(65) }), '198.51.100.1') as { code: number }).code,
      207,
    )
    assert.equal((st.putMutable(signed(1, 'x'.repeat(997), 1), '198.51.100.1') as { code: number }).code, 205)
    assert.equal(st.size, 0)
  })

  it('302 for an older seq, carrying the stored one; a newer seq replaces the item', () => {
    const st = new ItemStore({ clock: clock() })
    assert.ok(st.putMutable(signed(1, 'five', 5), '198.51.100.1').ok)
    const old = st.putMutable(signed(1, 'four', 4), '198.51.100.1')
    assert.deepEqual(old, { ok: false, code: 302, message: 'Sequence number less than current', seq: 5n })
    const up = st.putMutable(signed(1, 'six', 6), '198.51.100.9')
    assert.ok(up.ok && up.stored === 'updated')
    assert.deepEqual(st.get(up.target)?.v, encode('six'))
    assert.equal(st.size, 1)
    assert.equal(st.itemsFrom('198.51.100.1'), 0)
    assert.equal(st.itemsFrom('198.51.100.9'), 1)
  })

  it('301 when cas differs from the stored seq (checked before seq); cas is ignored when nothing is stored', () => {
    const st = new ItemStore({ clock: clock() })
    assert.ok(st.putMutable(signed(1, 'a', 1, { cas: 77n }), '198.51.100.1').ok)
    assert.deepEqual(st.putMutable(signed(1, 'b', 2, { cas: 0n }), '198.51.100.1'), {
      ok: false,
      code: 301,
      message: 'CAS mismatch',
      seq: 1n,
    })
    // A stale seq with a wrong cas is a cas mismatch (libtorrent's order).
    assert.equal((st.putMutable(signed(1, 'z', 0, { cas: 3n }), '198.51.100.1') as { code: number }).code, 301)
    const ok = st.putMutable(signed(1, 'b', 2, { cas: 1n }), '198.51.100.1')
    assert.ok(ok.ok && ok.stored === 'updated')
  })

  it('the same seq: the same value refreshes its lifetime, another value leaves the stored one', () => {
    const c = clock()
    const st = new ItemStore({ clock: c })
    const p = signed(1, 'same', 3)
    const r = st.putMutable(p, '198.51.100.1')
    assert.ok(r.ok)
    c.t += 1.5 * HOUR
    const again = st.putMutable(p, '198.51.100.2')
    assert.ok(again.ok && again.stored === 'refreshed')
    const other = st.putMutable(signed(1, 'different', 3), '198.51.100.2')
    assert.ok(other.ok && other.stored === 'kept')
    assert.deepEqual(st.get(r.target)?.v, encode('same'))
    c.t += 1.5 * HOUR // 3 h after the first put, 1.5 h after the refresh
    assert.deepEqual(st.get(r.target)?.v, encode('same'))
  })

  it('salts: each salt is its own target; an empty salt is none', () => {
    const st = new ItemStore({ clock: clock() })
    const a = st.putMutable(signed(1, 'a', 1, { salt: new TextEncoder().encode('a') }), '198.51.100.1')
    const b = st.putMutable(signed(1, 'b', 1, { salt: new TextEncoder().encode('b') }), '198.51.100.1')
    const none = st.putMutable(signed(1, 'n', 1, { salt: new Uint8Array(0) }), '198.51.100.1')
    assert.ok(a.ok && b.ok && none.ok)
    assert.notDeepEqual(a.target, b.target)
    assert.deepEqual(none.target, mutableTargetOf(key(1).publicKey))
    const item = st.peek(a.target)
    assert.ok(item?.kind === 'mutable')
    assert.deepEqual(item.salt, new TextEncoder().encode('a'))
    assert.ok(verifyMutableItem(item))
  })
})

describe('ItemStore: expiry and caps', () => {
  it('an item lives 2 hours after its last put', () => {
    const c = clock()
    const st = new ItemStore({ clock: c })
    const r = st.putImmutable(encode('x'), '198.51.100.1')
    assert.ok(r.ok)
    c.t += 2 * HOUR - 1
    assert.ok(st.get(r.target))
    c.t += 1
    assert.equal(st.get(r.target), undefined)
    assert.equal(st.size, 0)
    assert.equal(st.bytes, 0)
    assert.equal(st.sources, 0)
  })

  it('when full, the least recently announced item goes first', () => {
    const c = clock()
    const st = new ItemStore({ clock: c, maxItems: 3, maxPerPrefix: 3 })
    const t = [0, 1, 2].map((i) => {
      c.t += 1
      const r = st.putImmutable(encode(`v${i}`), `198.51.100.${i}`)
      assert.ok(r.ok)
      return r.target
    })
    st.putImmutable(encode('v0'), '203.0.113.1') // re-announce v0: v1 is now the oldest
    st.putImmutable(encode('v3'), '203.0.113.2')
    assert.equal(st.size, 3)
    assert.ok(st.get(t[0]))
    assert.equal(st.get(t[1]), undefined)
    assert.ok(st.get(t[2]))
  })

  it('the byte cap holds, counting what an item costs', () => {
    const st = new ItemStore({ clock: clock(), maxBytes: 5000 })
    for (let i = 0; i < 50; i++) st.putImmutable(encode(`${i}`.padEnd(900, 'x')), `198.51.100.${i}`)
    assert.ok(st.bytes <= 5000)
    assert.ok(st.size >= 4 && st.size <= 5, `size ${st.size}`)
  })

  it('an IP at its cap replaces its own oldest item; other IPs keep theirs', () => {
    const st = new ItemStore({ clock: clock(), maxPerIp: 3 })
    const honest = st.putImmutable(encode('honest'), '203.0.113.5')
    for (let i = 0; i < 20; i++) st.putImmutable(encode(`spam${i}`), '198.51.100.66')
    assert.equal(st.itemsFrom('198.51.100.66'), 3)
    assert.equal(st.itemsFrom('::ffff:198.51.100.66'), 3)
    assert.ok(honest.ok && st.get(honest.target))
    assert.equal(st.size, 4)
    // The three kept are the newest three.
    assert.ok(st.get(immutableTargetOf(encode('spam19'))))
    assert.equal(st.get(immutableTargetOf(encode('spam16'))), undefined)
  })

  it('a flood of puts under many keys from many addresses stays within every cap and stores nothing invalid', () => {
    const c = clock()
    const maxItems = 150
    const maxBytes = 60_000
    const maxPerIp = 4
    const st = new ItemStore({ clock: c, maxItems, maxBytes, maxPerIp })
    let s = 0x9e3779b9
    const rnd = (n: number) => {
      s ^= s << 13
      s ^= s >>> 17
      s ^= s << 5
      return (s >>> 0) % n
    }
    const refused: Record<number, number> = {}
    const seqs = new Map<number, bigint>()
    for (let i = 0; i < 3000; i++) {
      c.t += 100
      const ip = rnd(4) === 0 ? `2001:db8::${rnd(300).toString(16)}` : `198.51.100.${rnd(250)}`
      const n = rnd(400)
      const kind = rnd(10)
      let r: ReturnType<ItemStore['putMutable']>
      if (kind < 3) r = st.putImmutable(encode(`imm-${n}-${'y'.repeat(rnd(900))}`), ip)
      else {
        const seq = BigInt(rnd(20))
        const p = signed(
          n,
          `m-${n}-${seq}-${'z'.repeat(rnd(800))}`,
          seq,
          rnd(3) === 0 ? { salt: Uint8Array.of(rnd(5)) } : {},
        )
        if (kind === 9) r = st.putMutable({ ...p, sig: p.sig.map((b, j) => (j === 5 ? b ^ 1 : b)) }, ip)
        else r = st.putMutable(p, ip)
        if (r.ok && r.stored !== 'kept') seqs.set(n, seq)
      }
      if (!r.ok) refused[r.code] = (refused[r.code] ?? 0) + 1
      assert.ok(st.size <= maxItems && st.bytes <= maxBytes, `over a cap at put ${i}`)
    }
    // Every kind of refusal happened, and each bad signature was refused.
    assert.ok((refused[206] ?? 0) > 200, JSON.stringify(refused))
    assert.ok((refused[302] ?? 0) > 0, JSON.stringify(refused))
    // Within the caps, per IP too.
    assert.ok(st.size > 20 && st.size <= maxItems)
    assert.ok(st.bytes <= maxBytes)
    assert.ok(st.sources <= st.size)
    for (let i = 0; i < 250; i++) assert.ok(st.itemsFrom(`198.51.100.${i}`) <= maxPerIp)
    // Nothing stored fails verification.
    let checked = 0
    for (let n = 0; n < 400; n++) {
      for (const salt of [undefined, ...[0, 1, 2, 3, 4].map((x) => Uint8Array.of(x))]) {
        const item = st.peek(mutableTargetOf(key(n).publicKey, salt))
        if (item?.kind !== 'mutable') continue
        assert.ok(verifyMutableItem(item))
        checked++
      }
    }
    assert.ok(checked > 0)
    // Still serving: a new put is stored and readable.
    const fresh = st.putImmutable(encode('after the flood'), '203.0.113.200')
    assert.ok(fresh.ok && st.get(fresh.target))
  })
})

describe('ItemStore: per-network shares (issue 14)', () => {
  it('an attacker with many addresses in a few networks cannot push out the items of many networks', () => {
    const c = clock()
    const st = new ItemStore({ clock: c, maxItems: 100, maxPerIp: 5, maxPerPrefix: 20 })
    // 60 honest items, one each from 60 networks.
    const honest: Uint8Array[] = []
    for (let i = 0; i < 60; i++) {
      c.t += 1
      const r = st.putImmutable(encode(`honest-${i}`), `203.0.${i}.7`)
      assert.ok(r.ok)
      honest.push(r.target)
    }
    // Then 5,000 puts from 1,000 addresses spread over 4 networks.
    const codes: Record<number, number> = {}
    for (let i = 0; i < 5000; i++) {
      c.t += 1
      const r = st.putImmutable(encode(`spam-${i}`), `198.51.${100 + (i % 4)}.${(i >> 2) % 250}`)
      if (!r.ok) codes[r.code] = (codes[r.code] ?? 0) + 1
      assert.ok(st.size <= 100)
    }
    // The attacker's networks hold at most their share each, and every honest item is still there.
    for (let n = 0; n < 4; n++) assert.ok(st.itemsFromNetwork(`198.51.${100 + n}.1`) <= 20)
    for (const t of honest) assert.ok(st.get(t), 'an honest item was evicted')
    assert.equal(st.size, 100)
    // Once full with the attacker at its share, its further puts only replace its own items.
    assert.equal(codes[202] ?? 0, 0, JSON.stringify(codes))
  })

  it('a full store refuses with 202 rather than evict a network holding no more than the newcomer', () => {
    const c = clock()
    const st = new ItemStore({ clock: c, maxItems: 10, maxPerIp: 5, maxPerPrefix: 5 })
    for (let i = 0; i < 10; i++) assert.ok(st.putImmutable(encode(`n${i}`), `203.0.${i}.1`).ok)
    const r = st.putImmutable(encode('newcomer'), '198.51.100.1')
    assert.ok(!r.ok && r.code === 202, JSON.stringify(r))
    assert.equal(st.refused, 1)
    assert.equal(st.size, 10)
    assert.equal(st.get(immutableTargetOf(encode('newcomer'))), undefined)
  })
})
