// KRPC builders: canonical bytes (checked against two generic encoders), arguments, and round trips.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import bencodeAnchor from 'bencode'
import { latin1 } from '../../src/codec/bytes.js'
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
  KRPC_ERROR_NAMES,
  KRPC_GENERIC_ERROR,
  KRPC_METHOD_UNKNOWN,
  KRPC_PROTOCOL_ERROR,
  KRPC_SERVER_ERROR,
  type KrpcMessage,
  parseKrpc,
  query,
  reply,
  toHex,
} from '../../src/codec/index.js'

const tid = Uint8Array.from([0xaa, 0x01])
const nid = new Uint8Array(20).fill(0x41)
const target = new Uint8Array(20).fill(0x42)
const token = Uint8Array.from([1, 2, 3, 4])

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
