import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  CodecError,
  type CompactNode,
  decodeNode,
  decodeNodes,
  decodePeer,
  decodePeers,
  decodePeerValues,
  encodeNode,
  encodeNodes,
  encodePeer,
  encodePeers,
  encodePeerValues,
  fromHex,
  toHex,
} from '../../src/codec/index.js'

const isCode = (code: string) => (e: unknown) => e instanceof CodecError && e.code === code
const id = (fill: number) => new Uint8Array(20).fill(fill)

describe('compact peers', () => {
  it('encodes and decodes IPv4 (6 bytes) and IPv6 (18 bytes)', () => {
    assert.equal(toHex(encodePeer({ host: '198.51.100.7', port: 6881 })), 'c63364071ae1')
    assert.deepEqual(decodePeer(fromHex('c63364071ae1')!), { host: '198.51.100.7', port: 6881 })
    const v6 = encodePeer({ host: '2001:db8::1', port: 65535 })
    assert.equal(toHex(v6), '20010db8000000000000000000000001ffff')
    assert.deepEqual(decodePeer(v6), { host: '2001:db8::1', port: 65535 })
  })
  it('encodes a v4-mapped host as an IPv4 peer', () => {
    assert.equal(encodePeer({ host: '::ffff:198.51.100.7', port: 1 }).length, 6)
  })
  it('rejects bad input with CodecError', () => {
    assert.throws(() => decodePeer(new Uint8Array(7)), isCode('BAD_LENGTH'))
    assert.throws(() => decodePeers(new Uint8Array(13), 4), isCode('BAD_LENGTH'))
    assert.throws(() => decodePeers(new Uint8Array(19), 6), isCode('BAD_LENGTH'))
    assert.throws(() => encodePeer({ host: 'example.org', port: 1 }), isCode('BAD_ADDRESS'))
    assert.throws(() => encodePeer({ host: '192.0.2.1', port: 65536 }), isCode('BAD_VALUE'))
    assert.throws(() => encodePeer({ host: '192.0.2.1', port: 1.5 }), isCode('BAD_VALUE'))
    assert.throws(() => encodePeers([{ host: '::1', port: 1 }], 4), isCode('BAD_ADDRESS'))
    assert.throws(() => encodePeers([{ host: '192.0.2.1', port: 1 }], 6), isCode('BAD_ADDRESS'))
  })
  it('lists round-trip (property)', () => {
    const v4 = fc.record({ host: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }) })
    fc.assert(
      fc.property(fc.array(v4, { maxLength: 30 }), (peers) => {
        const b = encodePeers(peers, 4)
        assert.equal(b.length, peers.length * 6)
        assert.deepEqual(
          decodePeers(b, 4),
          peers.map((p) => ({ ...p })),
        )
      }),
    )
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 18, maxLength: 18 }), { maxLength: 10 }), (raw) => {
        const joined = new Uint8Array(raw.length * 18)
        for (let i = 0; i < raw.length; i++) joined.set(raw[i], i * 18)
        const peers = decodePeers(joined, 6).filter((p) => !p.host.startsWith('::ffff:'))
        const again = decodePeers(encodePeers(peers, 6), 6)
        assert.deepEqual(again, peers)
      }),
    )
  })
  it('values lists skip entries that are neither 6 nor 18 bytes', () => {
    const values = encodePeerValues([
      { host: '192.0.2.1', port: 1 },
      { host: '2001:db8::2', port: 2 },
    ])
    values.splice(1, 0, new Uint8Array(7))
    assert.deepEqual(decodePeerValues(values), [
      { host: '192.0.2.1', port: 1 },
      { host: '2001:db8::2', port: 2 },
    ])
  })
  it('a one-entry values list of concatenated peers is read as libtorrent reads it, by the reply family', () => {
    const v4 = [
      { host: '192.0.2.1', port: 1 },
      { host: '192.0.2.2', port: 2 },
      { host: '192.0.2.3', port: 3 },
    ]
    const joined4 = encodePeers(v4, 4)
    assert.deepEqual(decodePeerValues([joined4], 4), v4, 'three IPv4 peers in one 18-byte string, on IPv4')
    assert.equal(decodePeerValues([joined4], 6)[0]?.host.includes(':'), true, 'on IPv6 18 bytes is one v6 peer')
    assert.deepEqual(decodePeerValues([encodePeers(v4.slice(0, 2), 4)], 4), v4.slice(0, 2))
    const v6 = [
      { host: '2001:db8::1', port: 1 },
      { host: '2001:db8::2', port: 2 },
    ]
    assert.deepEqual(decodePeerValues([encodePeers(v6, 6)], 6), v6)
    // Without the family, and with more than one entry, every entry is one peer (BEP 5 as written).
    assert.deepEqual(decodePeerValues([encodePeers(v4.slice(0, 2), 4)]), [])
    assert.deepEqual(decodePeerValues([encodePeers(v4.slice(0, 2), 4), encodePeer(v4[2])], 4), [v4[2]])
    assert.deepEqual(decodePeerValues([new Uint8Array(13)], 4), [], 'not a multiple: skipped')
  })
})

describe('compact nodes', () => {
  it('encodes and decodes 26- and 38-byte nodes', () => {
    const n: CompactNode = { id: id(0xab), host: '203.0.113.9', port: 6881 }
    const b = encodeNode(n)
    assert.equal(b.length, 26)
    assert.equal(toHex(b), `${'ab'.repeat(20)}cb0071091ae1`)
    assert.deepEqual(decodeNode(b), n)
    const n6: CompactNode = { id: id(1), host: '2001:db8::9', port: 443 }
    assert.equal(encodeNode(n6).length, 38)
    assert.deepEqual(decodeNode(encodeNode(n6)), n6)
  })
  it('decoded ids are copies of the packet bytes', () => {
    const b = encodeNodes([{ id: id(7), host: '192.0.2.1', port: 1 }], 4)
    const [n] = decodeNodes(b, 4)
    b.fill(0)
    assert.deepEqual(n.id, id(7))
  })
  it('rejects bad input with CodecError', () => {
    assert.throws(() => decodeNode(new Uint8Array(27)), isCode('BAD_LENGTH'))
    assert.throws(() => decodeNodes(new Uint8Array(52 + 1), 4), isCode('BAD_LENGTH'))
    assert.throws(() => decodeNodes(new Uint8Array(38 * 2 - 1), 6), isCode('BAD_LENGTH'))
    assert.throws(() => encodeNode({ id: new Uint8Array(19), host: '192.0.2.1', port: 1 }), isCode('BAD_LENGTH'))
    assert.throws(() => encodeNodes([{ id: id(1), host: '::1', port: 1 }], 4), isCode('BAD_ADDRESS'))
  })
  it('lists round-trip (property)', () => {
    const node = fc.record({
      id: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      host: fc.ipV4(),
      port: fc.integer({ min: 0, max: 65535 }),
    })
    fc.assert(
      fc.property(fc.array(node, { maxLength: 16 }), (nodes) => {
        const b = encodeNodes(nodes, 4)
        assert.equal(b.length, nodes.length * 26)
        assert.deepEqual(
          decodeNodes(b, 4),
          nodes.map((n) => ({ ...n })),
        )
        assert.deepEqual(encodeNodes(decodeNodes(b, 4), 4), b)
      }),
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 38 * 5 }), (raw) => {
        const whole = raw.subarray(0, raw.length - (raw.length % 38))
        const nodes = decodeNodes(whole, 6)
        assert.equal(nodes.length, whole.length / 38)
        for (const n of nodes) if (!n.host.startsWith('::ffff:')) assert.deepEqual(encodeNode(n).length, 38)
      }),
    )
  })
})

describe('compact: kept ids are copies', () => {
  it('decodeNodes on a Node Buffer returns ids that do not change when the buffer is reused', () => {
    const id = new Uint8Array(20).fill(0xab)
    const wire = Buffer.from(encodeNodes([{ id, host: '127.0.0.1', port: 6881 }], 4))
    const [node] = decodeNodes(wire, 4)
    wire.fill(0)
    assert.deepEqual(node.id, id)
    assert.equal(Object.getPrototypeOf(node.id), Uint8Array.prototype)
  })
})
