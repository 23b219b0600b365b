import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import bencodeAnchor from 'bencode'
import {
  buildAnnouncePeerQuery,
  buildAnnouncePeerReply,
  buildErrorReply,
  buildFindNodeQuery,
  buildFindNodeReply,
  buildGetPeersQuery,
  buildGetPeersReply,
  buildPingQuery,
  buildPingReply,
  buildQuery,
  buildReply,
  CodecError,
  decodeNodes,
  decodePeerValues,
  encode,
  fromHex,
  fromLatin1,
  KRPC_ERROR_NAMES,
  KRPC_GENERIC_ERROR,
  KRPC_METHOD_UNKNOWN,
  KRPC_PROTOCOL_ERROR,
  KRPC_SERVER_ERROR,
  KrpcError,
  type KrpcMessage,
  latin1,
  parseKrpc,
  query,
  reply,
  toHex,
} from '../../src/codec/index.js'

const fixture = (name: string) => fromHex(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8').trim())!
const b = (s: string) => fromLatin1(s)
const tid = Uint8Array.from([0xaa, 0x01])
const nid = new Uint8Array(20).fill(0x41)
const target = new Uint8Array(20).fill(0x42)
const token = Uint8Array.from([1, 2, 3, 4])

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

describe('KRPC error codes', () => {
  it('has BEP 5 names', () => {
    assert.equal(KRPC_GENERIC_ERROR, 201)
    assert.equal(KRPC_SERVER_ERROR, 202)
    assert.equal(KRPC_PROTOCOL_ERROR, 203)
    assert.equal(KRPC_METHOD_UNKNOWN, 204)
    assert.equal(KRPC_ERROR_NAMES[203], 'Protocol Error')
    assert.equal(KRPC_ERROR_NAMES[204], 'Method Unknown')
  })
})

describe('KRPC builders write canonical bencode', () => {
  // Each builder's bytes must equal the generic encoder's for the same message (sorted keys, exact forms).
  const peers = [Uint8Array.from([192, 0, 2, 1, 0x1a, 0xe1]), new Uint8Array(18).fill(1)]
  const nodes = new Uint8Array(26 * 2).fill(7)
  const nodes6 = new Uint8Array(38).fill(8)
  const ip6 = Uint8Array.from([127, 0, 0, 1, 0x1a, 0xe1])
  const v = Uint8Array.from([0x4c, 0x54, 0x02, 0x08])
  const cases: [string, Uint8Array, Record<string, unknown>][] = [
    ['ping query', buildPingQuery(tid, nid), { t: tid, y: 'q', q: 'ping', a: { id: nid } }],
    [
      'ping query, all options',
      buildPingQuery(tid, nid, { v, ip: ip6, ro: true }),
      { t: tid, y: 'q', q: 'ping', a: { id: nid }, v, ip: ip6, ro: 1 },
    ],
    [
      'find_node query with want',
      buildFindNodeQuery(tid, nid, target, { want: ['n4', 'n6'] }),
      { t: tid, y: 'q', q: 'find_node', a: { id: nid, target, want: ['n4', 'n6'] } },
    ],
    [
      'get_peers query',
      buildGetPeersQuery(tid, nid, target, { v: 'XY12' }),
      { t: tid, y: 'q', q: 'get_peers', a: { id: nid, info_hash: target }, v: 'XY12' },
    ],
    [
      'announce_peer query',
      buildAnnouncePeerQuery(tid, nid, target, token, 6881),
      { t: tid, y: 'q', q: 'announce_peer', a: { id: nid, info_hash: target, port: 6881, token } },
    ],
    [
      'announce_peer query, implied port',
      buildAnnouncePeerQuery(tid, nid, target, token, 0, { impliedPort: true }),
      { t: tid, y: 'q', q: 'announce_peer', a: { id: nid, implied_port: 1, info_hash: target, port: 0, token } },
    ],
    ['ping reply', buildPingReply(tid, nid, { ip: ip6 }), { t: tid, y: 'r', r: { id: nid }, ip: ip6 }],
    [
      'find_node reply',
      buildFindNodeReply(tid, nid, nodes, { nodes6 }),
      { t: tid, y: 'r', r: { id: nid, nodes, nodes6 } },
    ],
    [
      'get_peers reply',
      buildGetPeersReply(tid, nid, peers, nodes, token, { v }),
      { t: tid, y: 'r', r: { id: nid, nodes, token, values: peers }, v },
    ],
    ['announce_peer reply', buildAnnouncePeerReply(tid, nid), { t: tid, y: 'r', r: { id: nid } }],
    [
      'error reply',
      buildErrorReply(tid, [203, 'invalid token'], { ip: ip6 }),
      { t: tid, y: 'e', e: [203, 'invalid token'], ip: ip6 },
    ],
  ]
  for (const [name, ours, obj] of cases) {
    it(name, () => {
      assert.equal(latin1(ours), latin1(encode(obj as never)))
      assert.equal(toHex(ours), toHex(bencodeAnchor.encode(obj)))
    })
  }

  it('query and reply groups are the same builders', () => {
    assert.deepEqual(query.ping(tid, nid), buildPingQuery(tid, nid))
    assert.deepEqual(query.findNode(tid, nid, target), buildFindNodeQuery(tid, nid, target))
    assert.deepEqual(query.getPeers(tid, nid, target), buildGetPeersQuery(tid, nid, target))
    assert.deepEqual(query.announcePeer(tid, nid, target, token, 1), buildAnnouncePeerQuery(tid, nid, target, token, 1))
    assert.deepEqual(reply.ping(tid, nid), buildPingReply(tid, nid))
    assert.deepEqual(reply.findNode(tid, nid, undefined), buildFindNodeReply(tid, nid, undefined))
    assert.deepEqual(reply.getPeers(tid, nid, [], undefined, token), buildGetPeersReply(tid, nid, [], undefined, token))
    assert.deepEqual(reply.announcePeer(tid, nid), buildAnnouncePeerReply(tid, nid))
    assert.deepEqual(reply.error(tid, [204, 'x']), buildErrorReply(tid, [204, 'x']))
  })

  it('accepts endpoints and node lists as well as compact bytes', () => {
    const m = parseKrpc(
      buildGetPeersReply(
        tid,
        nid,
        [
          { host: '198.51.100.1', port: 1 },
          { host: '2001:db8::1', port: 2 },
        ],
        [{ id: target, host: '203.0.113.5', port: 6881 }],
        token,
        { ip: { host: '198.51.100.9', port: 9 } },
      ),
    )
    assert.equal(m.y, 'r')
    if (m.y !== 'r') return
    assert.deepEqual(decodePeerValues(m.r.values!), [
      { host: '198.51.100.1', port: 1 },
      { host: '2001:db8::1', port: 2 },
    ])
    assert.deepEqual(decodeNodes(m.r.nodes!, 4), [{ id: target, host: '203.0.113.5', port: 6881 }])
    assert.equal(toHex(m.ip!), 'c63364090009')
  })

  it('rejects bad arguments with CodecError', () => {
    const bad: [string, () => unknown][] = [
      ['short node id', () => buildPingQuery(tid, new Uint8Array(19))],
      ['short target', () => buildFindNodeQuery(tid, nid, new Uint8Array(21))],
      ['port 0', () => buildAnnouncePeerQuery(tid, nid, target, token, 0)],
      ['port 65536', () => buildAnnouncePeerQuery(tid, nid, target, token, 65536)],
      ['nodes not a multiple of 26', () => buildFindNodeReply(tid, nid, new Uint8Array(27))],
      ['nodes6 not a multiple of 38', () => buildFindNodeReply(tid, nid, undefined, { nodes6: new Uint8Array(26) })],
      ['values entry of 7 bytes', () => buildGetPeersReply(tid, nid, [new Uint8Array(7)], undefined, token)],
      ['ip of 5 bytes', () => buildPingReply(tid, nid, { ip: new Uint8Array(5) })],
      ['want other than n4/n6', () => buildGetPeersQuery(tid, nid, target, { want: ['n5' as 'n4'] })],
      ['tid not bytes', () => buildPingQuery('ab' as unknown as Uint8Array, nid)],
      ['error code not an integer', () => buildErrorReply(tid, [1.5, 'x'])],
    ]
    for (const [name, fn] of bad) assert.throws(fn, CodecError, name)
    // A failed build leaves nothing behind for the next one.
    assert.equal(latin1(buildPingReply(tid, nid)), latin1(encode({ t: tid, y: 'r', r: { id: nid } })))
  })

  it('generic builders for other methods', () => {
    const q = parseKrpc(buildQuery(tid, 'sample_infohashes', { id: nid, target }, { ro: true }))
    assert.ok(q.y === 'q' && !q.known && q.q === 'sample_infohashes' && q.ro === true)
    if (q.y === 'q') assert.deepEqual(q.a.target, target)
    const r = parseKrpc(buildReply(tid, { id: nid, interval: 21600, num: 3, samples: new Uint8Array(20) }))
    assert.ok(r.y === 'r')
    if (r.y === 'r') assert.equal(r.r.interval, 21600)
  })
})

describe('parseKrpc: round trips', () => {
  it('every builder round-trips through the parser', () => {
    const msgs: [Uint8Array, (m: KrpcMessage) => void][] = [
      [
        buildPingQuery(tid, nid, { ro: true, v: 'ab' }),
        (m) => {
          assert.ok(m.y === 'q' && m.known && m.q === 'ping')
          assert.deepEqual(m.a, { id: nid })
          assert.equal(m.ro, true)
          assert.equal(latin1(m.v!), 'ab')
        },
      ],
      [
        buildFindNodeQuery(tid, nid, target, { want: ['n6'] }),
        (m) => {
          assert.ok(m.y === 'q' && m.known && m.q === 'find_node')
          assert.deepEqual(m.a, { id: nid, target, want: ['n6'] })
        },
      ],
      [
        buildGetPeersQuery(tid, nid, target),
        (m) => {
          assert.ok(m.y === 'q' && m.known && m.q === 'get_peers')
          assert.deepEqual(m.a, { id: nid, info_hash: target })
        },
      ],
      [
        buildAnnouncePeerQuery(tid, nid, target, token, 6881, { impliedPort: true }),
        (m) => {
          assert.ok(m.y === 'q' && m.known && m.q === 'announce_peer')
          assert.deepEqual(m.a, { id: nid, info_hash: target, port: 6881, token, implied_port: true })
        },
      ],
      [
        buildPingReply(tid, nid),
        (m) => {
          assert.ok(m.y === 'r')
          assert.deepEqual(m.r, { id: nid })
        },
      ],
      [
        buildFindNodeReply(tid, nid, new Uint8Array(26), { nodes6: new Uint8Array(38) }),
        (m) => {
          assert.ok(m.y === 'r')
          assert.deepEqual(m.r, { id: nid, nodes: new Uint8Array(26), nodes6: new Uint8Array(38) })
        },
      ],
      [
        buildGetPeersReply(tid, nid, [new Uint8Array(6).fill(1)], undefined, token),
        (m) => {
          assert.ok(m.y === 'r')
          assert.deepEqual(m.r, { id: nid, token, values: [new Uint8Array(6).fill(1)] })
        },
      ],
      [
        buildAnnouncePeerReply(tid, nid),
        (m) => {
          assert.ok(m.y === 'r')
          assert.deepEqual(m.r, { id: nid })
        },
      ],
      [
        buildErrorReply(tid, [201, 'naïve']),
        (m) => {
          assert.ok(m.y === 'e')
          assert.deepEqual(m.e, [201, 'naïve'])
        },
      ],
    ]
    for (const [wire, check] of msgs) {
      const m = parseKrpc(wire)
      assert.deepEqual(m.t, tid)
      check(m)
    }
  })

  it('parses a Node Buffer (views are plain Uint8Arrays)', () => {
    const wire = buildPingQuery(tid, nid)
    const big = new Uint8Array(wire.length + 10)
    big.set(wire, 5)
    const m = parseKrpc(big.subarray(5, 5 + wire.length))
    assert.ok(m.y === 'q')
    assert.deepEqual(m.a.id, nid)
    assert.equal(Object.getPrototypeOf(m.t), Uint8Array.prototype)
  })
})

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
      assert.equal(e.reason.replace(/ \(at byte \d+\)$/, ''), reason)
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
