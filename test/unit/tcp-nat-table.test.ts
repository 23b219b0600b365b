// The TCP conntrack table of a simulated NAT (net/sim/nat-tcp.ts) alone: flows created by SYNs only, conntrack's
// TCP timeouts by state, port preservation and exhaustion, filtering of unsolicited SYNs, forwards.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { NatFiltering, NatMapping } from '../../src/net/sim/nat.js'
import { NatTcp } from '../../src/net/sim/nat-tcp.js'

const PUB = '198.51.100.1'
const IN = '192.0.2.2'
const R = '203.0.113.5'

function table(
  o: { mapping?: NatMapping; filtering?: NatFiltering; range?: [number, number]; translate?: boolean } = {},
) {
  let n = 0
  return new NatTcp({
    publicIp: PUB,
    translate: o.translate ?? true,
    mapping: o.mapping ?? 'endpoint-independent',
    filtering: o.filtering ?? 'address-and-port-dependent',
    preservePort: true,
    portRange: o.range ?? [1024, 65535],
    randomInt: (min, max) => min + (n++ % (max - min)),
  })
}

describe('NatTcp (TCP conntrack of a simulated NAT)', () => {
  it('only a SYN creates a flow; replies come back through it, translated', () => {
    const t = table()
    assert.equal(t.outbound(IN, 40000, R, 80, 'ack', 0), -2, 'an ACK of no flow is INVALID')
    assert.equal(t.outbound(IN, 40000, R, 80, 'syn', 0), 40000, 'the port is kept')
    assert.equal(t.inbound(R, 80, PUB, 40000, 'synack', 10), null)
    assert.deepEqual([t.resultIp, t.resultPort], [IN, 40000])
    assert.equal(t.inbound(R, 81, PUB, 40000, 'data', 10), 'natNoMapping', 'another remote port is another flow')
    assert.equal(t.stats().flows, 1)
    assert.equal(t.stats().droppedInvalid, 1)
  })

  it('timeouts by state: 120 s unanswered, days once established, 120 s after a FIN, 10 s after a RST', () => {
    const t = table()
    t.outbound(IN, 40000, R, 80, 'syn', 0)
    assert.equal(t.inbound(R, 80, PUB, 40000, 'synack', 119_999), null, 'still waiting for its answer')
    t.outbound(IN, 40001, R, 80, 'syn', 0)
    assert.equal(t.inbound(R, 80, PUB, 40001, 'synack', 120_000), 'natNoMapping', 'unanswered for 120 s: gone')

    const day = 86_400_000
    assert.equal(t.inbound(R, 80, PUB, 40000, 'data', 3 * day), null, 'established: lives for days')
    t.outbound(IN, 40000, R, 80, 'fin', 3 * day)
    assert.equal(t.inbound(R, 80, PUB, 40000, 'fin', 3 * day + 119_000), null)
    assert.equal(t.inbound(R, 80, PUB, 40000, 'ack', 3 * day + 119_000 + 120_000), 'natNoMapping', 'closed')

    t.outbound(IN, 40002, R, 80, 'syn', 0)
    t.inbound(R, 80, PUB, 40002, 'synack', 10)
    t.outbound(IN, 40002, R, 80, 'rst', 20)
    assert.equal(t.inbound(R, 80, PUB, 40002, 'ack', 10_019), null)
    assert.equal(t.inbound(R, 80, PUB, 40002, 'ack', 20_020), 'natNoMapping', '10 s after a reset')
  })

  it('unsolicited SYNs: dropped by default, admitted by a full cone, by a forward', () => {
    const strict = table()
    strict.outbound(IN, 40000, R, 80, 'syn', 0)
    assert.equal(strict.inbound('203.0.113.9', 1234, PUB, 40000, 'syn', 5), 'natFiltered')
    assert.equal(strict.inbound('203.0.113.9', 1234, PUB, 6881, 'syn', 5), 'natNoMapping')
    strict.forward(6881, { host: IN, port: 6881 })
    assert.equal(strict.inbound('203.0.113.9', 1234, PUB, 6881, 'syn', 6), null)
    assert.deepEqual([strict.resultIp, strict.resultPort], [IN, 6881])
    // The inside's answer leaves through the same flow, from the forwarded port.
    assert.equal(strict.outbound(IN, 6881, '203.0.113.9', 1234, 'synack', 7), 6881)

    const cone = table({ filtering: 'endpoint-independent' })
    cone.outbound(IN, 40000, R, 80, 'syn', 0)
    assert.equal(cone.inbound('203.0.113.9', 1234, PUB, 40000, 'syn', 5), null)
    assert.deepEqual([cone.resultIp, cone.resultPort], [IN, 40000])
    assert.equal(cone.inbound('203.0.113.9', 1234, PUB, 40000, 'data', 6), null, 'now a flow of its own')
  })

  it('symmetric mapping: a port per flow; exhaustion drops the SYN', () => {
    const t = table({ mapping: 'address-and-port-dependent', range: [2000, 2001] })
    const p1 = t.outbound(IN, 40000, R, 80, 'syn', 0)
    const p2 = t.outbound(IN, 40000, R, 81, 'syn', 0)
    assert.notEqual(p1, p2)
    assert.ok([p1, p2].every((p) => p === 2000 || p === 2001))
    assert.equal(t.outbound(IN, 40000, R, 82, 'syn', 0), -1)
    assert.equal(t.stats().droppedExhausted, 1)
    // Once the first flows expired (unanswered, 120 s), their ports are free again.
    assert.ok(t.outbound(IN, 40000, R, 82, 'syn', 120_000) >= 2000)
  })

  it('a firewall forwards only to the same port, and keeps addresses', () => {
    const t = table({ translate: false })
    assert.throws(() => t.forward(80, { host: IN, port: 8080 }), RangeError)
    assert.equal(t.outbound(IN, 40000, R, 80, 'syn', 0), 40000)
    assert.equal(t.inbound(R, 80, IN, 40000, 'synack', 1), null)
    assert.equal(t.inbound(R, 80, PUB, 40000, 'synack', 1), 'natNoMapping', 'addressed to the inside host itself')
  })
})
