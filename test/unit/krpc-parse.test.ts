// parseKrpc: libtorrent fixtures, leniency, and malformed input with libtorrent's 203 texts.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fromLatin1, latin1 } from '../../src/codec/bytes.js'
import {
  CodecError,
  decodeNodes,
  decodePeerValues,
  fromHex,
  KrpcError,
  parseKrpc,
  toHex,
} from '../../src/codec/index.js'

const fixture = (name: string) => fromHex(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8').trim())!
const b = (s: string) => fromLatin1(s)

function krpcError(input: Uint8Array | string): KrpcError {
  try {
    parseKrpc(typeof input === 'string' ? b(input) : input)
  } catch (e) {
    assert.ok(e instanceof KrpcError, `expected KrpcError, got ${e}`)
    assert.ok(e instanceof CodecError)
    return e
  }
  assert.fail(`parsed: ${typeof input === 'string' ? input : latin1(input)}`)
}

describe('parseKrpc: libtorrent 2.0.8 fixtures', () => {
  it('ping reply with ip, v and the non-standard r.p', () => {
    const m = parseKrpc(fixture('lt-2.0.8-ping-reply.hex'))
    assert.ok(m.y === 'r')
    if (m.y !== 'r') return
    assert.equal(toHex(m.t), '0001')
    assert.equal(toHex(m.r.id), '594088545c7d84cc38b3d7266e3dc4a0c6eb9f56')
    assert.equal(m.r.p, 44627) // the requester's port, kept as an extra key
    assert.equal(toHex(m.v!), '4c540208')
    assert.equal(toHex(m.ip!), '7f000001ae53')
  })
  it('error reply (203 invalid token) that also carries r and ip', () => {
    const m = parseKrpc(fixture('lt-2.0.8-error-invalid-token.hex'))
    assert.ok(m.y === 'e')
    if (m.y !== 'e') return
    assert.deepEqual(m.e, [203, 'invalid token'])
    assert.equal(toHex(m.t), '0008')
    assert.equal(toHex((m.r as { id: Uint8Array }).id), '594088545c7d84cc38b3d7266e3dc4a0c6eb9f56')
  })
})

describe('parseKrpc: libtorrent 2.0.8 captures (test/interop/lt_krpc_peer.py)', () => {
  const ltId = '5256f3e7e5479dd31ea079ed65643149' + '64b5ee42'
  const us = { host: '127.0.0.1', port: 53458 }
  it('get_peers reply with values, nodes, token and r.p', () => {
    const m = parseKrpc(fixture('lt-2.0.8-get-peers-reply-values.hex'))
    assert.ok(m.y === 'r')
    if (m.y !== 'r') return
    assert.equal(toHex(m.r.id), ltId)
    assert.equal(toHex(m.r.token!), 'ec580ad0') // 4-byte tokens
    assert.deepEqual(decodePeerValues(m.r.values!), [{ host: '127.0.0.1', port: 6881 }])
    assert.deepEqual(decodeNodes(m.r.nodes!, 4), [{ id: new Uint8Array(20).fill(0x5a), ...us }])
    assert.equal(m.r.nodes6, undefined) // want n6 asked, but this node has no IPv6
    assert.equal(m.r.p, us.port)
    assert.equal(toHex(m.ip!), '7f000001d0d2')
  })
  it('find_node reply', () => {
    const m = parseKrpc(fixture('lt-2.0.8-find-node-reply.hex'))
    assert.ok(m.y === 'r' && m.r.nodes?.length === 26 && m.r.values === undefined && m.r.token === undefined)
  })
  it('an unknown method gets 203 "unknown message", not 204', () => {
    const m = parseKrpc(fixture('lt-2.0.8-error-unknown-message.hex'))
    assert.ok(m.y === 'e')
    if (m.y === 'e') assert.deepEqual(m.e, [203, 'unknown message'])
  })
})

describe('parseKrpc: leniency', () => {
  it('tolerates unsorted keys, leading zeros and duplicates (first wins)', () => {
    const m = parseKrpc(b(`d1:y1:q1:t2:aa1:q4:ping1:ad2:id20:${'A'.repeat(20)}2:id20:${'B'.repeat(20)}ee`))
    assert.ok(m.y === 'q' && m.known && m.q === 'ping')
    assert.equal(latin1(m.a.id), 'A'.repeat(20))
    const z = parseKrpc(b(`d1:ad2:id020:${'A'.repeat(20)}e1:q4:ping1:t1:x1:y1:qe`))
    assert.ok(z.y === 'q')
  })
  it('keeps unknown keys at every level, and unknown methods as known: false', () => {
    const m = parseKrpc(b(`d1:ad2:id20:${'A'.repeat(20)}1:xli1eee1:q17:sample_infohashes1:t1:x1:y1:q3:zzzi9ee`))
    assert.ok(m.y === 'q' && !m.known)
    if (m.y !== 'q' || m.known) return
    assert.equal(m.q, 'sample_infohashes')
    assert.deepEqual(m.a.x, [1])
    assert.equal(m.zzz, 9)
  })
  it('skips values entries that are not 6 or 18 bytes', () => {
    const m = parseKrpc(
      b(`d1:rd2:id20:${'A'.repeat(20)}6:valuesl6:abcdef7:abcdefgi5e18:${'z'.repeat(18)}ee1:t1:x1:y1:re`),
    )
    assert.ok(m.y === 'r')
    if (m.y === 'r')
      assert.deepEqual(
        m.r.values?.map((x) => x.length),
        [6, 18],
      )
  })
  it('drops an ip of the wrong size and reads ro', () => {
    const m = parseKrpc(b(`d1:ad2:id20:${'A'.repeat(20)}e2:ip3:abc1:q4:ping2:roi1e1:t1:x1:y1:qe`))
    assert.equal(m.ip, undefined)
    assert.ok(m.y === 'q' && m.ro === true)
  })
  it('announce_peer with implied_port may omit the port', () => {
    const m = parseKrpc(
      b(
        `d1:ad2:id20:${'A'.repeat(20)}12:implied_porti1e9:info_hash20:${'B'.repeat(20)}5:token2:tke1:q13:announce_peer1:t1:x1:y1:qe`,
      ),
    )
    assert.ok(m.y === 'q' && m.known && m.q === 'announce_peer')
    if (m.y === 'q' && m.known && m.q === 'announce_peer') assert.equal(m.a.port, 0)
  })
  it('a key named __proto__ stays a plain key', () => {
    const m = parseKrpc(b(`d1:rd9:__proto__d1:xi1ee2:id20:${'A'.repeat(20)}e1:t1:x1:y1:re`))
    assert.ok(m.y === 'r')
    if (m.y !== 'r') return
    assert.equal(Object.getPrototypeOf(m.r), Object.prototype)
    assert.ok(Object.hasOwn(m.r, '__proto__'))
  })
})

describe('parseKrpc: malformed input → KrpcError with libtorrent texts', () => {
  const A20 = 'A'.repeat(20)
  const cases: [string, string, string, boolean, string | undefined][] = [
    // input, reason, codec code, isQuery, tid
    ['', 'not a dictionary', 'BAD_TYPE', false, undefined],
    ['li1ee', 'not a dictionary', 'BAD_TYPE', false, undefined],
    [`d1:t2:ab1:y1:q1:q4:ping`, 'bencode: input ended inside a dictionary', 'TRUNCATED', true, 'ab'],
    [`d1:ad2:id20:${A20}e1:q4:ping1:t2:abe`, "missing 'y' key", 'MISSING_KEY', false, 'ab'],
    [`d1:ad2:id20:${A20}e1:q4:ping1:t2:ab1:y1:xe`, "invalid value for 'y'", 'BAD_VALUE', false, 'ab'],
    [`d1:ad2:id20:${A20}e1:q4:ping1:y1:qe`, "missing 't' key", 'MISSING_KEY', true, undefined],
    [`d1:ad2:id20:${A20}e1:q4:ping1:ti1e1:y1:qe`, "invalid value for 't'", 'BAD_TYPE', true, undefined],
    [`d1:t2:ab1:y1:qe`, "missing 'q' key", 'MISSING_KEY', true, 'ab'],
    [`d1:q4:ping1:t2:ab1:y1:qe`, "missing 'a' key", 'MISSING_KEY', true, 'ab'],
    [`d1:ali1ee1:q4:ping1:t2:ab1:y1:qe`, "invalid value for 'a'", 'BAD_TYPE', true, 'ab'],
    [`d1:ade1:q4:ping1:t2:ab1:y1:qe`, "missing 'id' key", 'MISSING_KEY', true, 'ab'],
    [`d1:ad2:id19:${A20.slice(1)}e1:q4:ping1:t2:ab1:y1:qe`, "invalid value for 'id'", 'BAD_LENGTH', true, 'ab'],
    [`d1:ad2:idi5ee1:q4:ping1:t2:ab1:y1:qe`, "invalid value for 'id'", 'BAD_LENGTH', true, 'ab'],
    [`d1:ad2:id20:${A20}e1:q9:get_peers1:t2:ab1:y1:qe`, "missing 'info_hash' key", 'MISSING_KEY', true, 'ab'],
    [
      `d1:ad2:id20:${A20}6:target3:abce1:q9:find_node1:t2:ab1:y1:qe`,
      "invalid value for 'target'",
      'BAD_LENGTH',
      true,
      'ab',
    ],
    [
      `d1:ad2:id20:${A20}9:info_hash20:${A20}4:porti0e5:token1:xe1:q13:announce_peer1:t2:ab1:y1:qe`,
      'invalid port',
      'BAD_VALUE',
      true,
      'ab',
    ],
    [
      `d1:ad2:id20:${A20}9:info_hash20:${A20}4:porti65536e5:token1:xe1:q13:announce_peer1:t2:ab1:y1:qe`,
      'invalid port',
      'BAD_VALUE',
      true,
      'ab',
    ],
    [
      `d1:ad2:id20:${A20}9:info_hash20:${A20}5:token1:xe1:q13:announce_peer1:t2:ab1:y1:qe`,
      "missing 'port' key",
      'MISSING_KEY',
      true,
      'ab',
    ],
    [
      `d1:ad2:id20:${A20}9:info_hash20:${A20}4:porti1ee1:q13:announce_peer1:t2:ab1:y1:qe`,
      "missing 'token' key",
      'MISSING_KEY',
      true,
      'ab',
    ],
    [
      `d1:ad2:id20:${A20}e1:q7:unknown1:t2:ab1:y1:qe`.replace('id20', 'xx20'),
      "missing 'id' key",
      'MISSING_KEY',
      true,
      'ab',
    ],
    [`d1:t2:ab1:y1:re`, "missing 'r' key", 'MISSING_KEY', false, 'ab'],
    [
      `d1:rd2:id20:${A20}5:nodes25:${'n'.repeat(25)}e1:t2:ab1:y1:re`,
      "invalid value for 'nodes'",
      'BAD_LENGTH',
      false,
      'ab',
    ],
    [
      `d1:rd2:id20:${A20}6:nodes626:${'n'.repeat(26)}e1:t2:ab1:y1:re`,
      "invalid value for 'nodes6'",
      'BAD_LENGTH',
      false,
      'ab',
    ],
    [`d1:rd2:id20:${A20}6:values3:abce1:t2:ab1:y1:re`, "invalid value for 'values'", 'BAD_LENGTH', false, 'ab'],
    [`d1:t2:ab1:y1:ee`, "missing 'e' key", 'MISSING_KEY', false, 'ab'],
    [`d1:eli201ee1:t2:ab1:y1:ee`, "invalid value for 'e'", 'BAD_VALUE', false, 'ab'],
    [`d1:el3:abc3:defe1:t2:ab1:y1:ee`, "invalid value for 'e'", 'BAD_VALUE', false, 'ab'],
    [`d1:t2:ab1:y1:qexx`, 'bencode: trailing bytes after the message', 'TRAILING_BYTES', true, 'ab'],
    [`d1:t2:ab1:y1:q1:a${'d1:a'.repeat(20)}`, 'bencode: nesting deeper than 16', 'TOO_DEEP', true, 'ab'],
  ]
  for (const [input, reason, code, isQuery, t] of cases) {
    it(`${JSON.stringify(input.slice(0, 60))} → ${reason}`, () => {
      const e = krpcError(input)
      assert.equal(e.reason, reason)
      assert.equal(e.code, code)
      assert.equal(e.krpcCode, 203)
      assert.equal(e.isQuery, isQuery)
      assert.equal(e.tid === undefined ? undefined : latin1(e.tid), t)
      assert.equal(e.shouldReply, isQuery && t !== undefined)
    })
  }
  it('reports the method of a bad query', () => {
    const e = krpcError(`d1:ade1:q9:get_peers1:t2:ab1:y1:qe`)
    assert.equal(e.method, 'get_peers')
  })
  it('bounds values lists by maxItems', () => {
    const many = `d1:rd2:id20:${'A'.repeat(20)}6:valuesl${'6:abcdef'.repeat(11)}ee1:t1:x1:y1:re`
    assert.throws(
      () => parseKrpc(b(many), { maxItems: 10 }),
      (e: unknown) => e instanceof KrpcError && e.code === 'TOO_MANY_ITEMS',
    )
    const m = parseKrpc(b(many), { maxItems: 11 })
    assert.ok(m.y === 'r' && m.r.values?.length === 11)
  })
})
