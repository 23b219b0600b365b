// The query server alone: a method registry that answers 204 for what it does not know, wraps a handler's `r` in
// the reply envelope (our id, `t`, `v`, BEP 42 `ip`), turns KrpcHandlerError into a KRPC error and any other throw
// into 202 (counted, reported), and types BEP 44/51 queries once one of them has a handler.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encode } from '../../src/codec/bencode.js'
import { decodePeer } from '../../src/codec/compact.js'
import { buildPingQuery, buildQuery } from '../../src/codec/krpc-build.js'
import { parseKrpc } from '../../src/codec/krpc-parse.js'
import type { KrpcErrorReply, KrpcMessage, KrpcQuery, KrpcReply } from '../../src/codec/krpc-types.js'
import { newCounters } from '../../src/dht/counters.js'
import { type IncomingQuery, KrpcHandlerError, QueryServer, type ServerContext } from '../../src/dht/query-server.js'
import type { Endpoint } from '../../src/net/types.js'
import { idOf } from '../helpers/dht-fixtures.js'

const ME = idOf(0x80, 2)
const FROM: Endpoint = { host: '198.51.100.7', port: 4000 }
const T = new Uint8Array([0x01, 0x02])
const V = new Uint8Array([0x4d, 0x4c, 0, 1])

function setup() {
  const warnings: Error[] = []
  const counters = newCounters()
  const context: ServerContext = {
    id: ME,
    issueToken: () => new Uint8Array(4),
    checkToken: () => true,
    closestCompact: () => ({ nodes: new Uint8Array(0) }),
  }
  const server = new QueryServer({ context, version: V, counters, warn: (e) => warnings.push(e) })
  /** Parses `packet` as the receive path does and serves it; the answer parsed. */
  const ask = (packet: Uint8Array): KrpcMessage | undefined => {
    const msg = parseKrpc(packet, server.parseOptions) as KrpcQuery
    const out = server.serve(msg, FROM)
    return out && parseKrpc(out)
  }
  return { server, counters, warnings, ask, context }
}

describe('query server', () => {
  it('answers an unregistered method 204, counted under one key whatever its name', () => {
    const { ask, counters } = setup()
    for (const q of ['frobnicate', 'x', 'get', 'sample_infohashes']) {
      const e = ask(buildQuery(T, q, { id: idOf(1) })) as KrpcErrorReply
      assert.equal(e.y, 'e')
      assert.deepEqual(e.e, [204, 'Method Unknown'])
      assert.deepEqual(e.t, T)
      assert.deepEqual(decodePeer(e.ip!), FROM)
    }
    assert.equal(counters.queriesIn.unknown, 4)
    assert.equal(counters.queriesIn.frobnicate, undefined)
  })

  it("wraps a handler's r in the envelope: our id, t, v, ip; the handler sees the query and the context", () => {
    const { server, ask, counters, context } = setup()
    let seen: IncomingQuery | undefined
    let ctx: ServerContext | undefined
    server.register('echo', (q, c) => {
      seen = q
      ctx = c
      return { said: q.args.say, id: new Uint8Array(20) } // an `id` of the handler's is overwritten by ours
    })
    const r = ask(buildQuery(T, 'echo', { id: idOf(5), say: 'hello' }, { ro: true })) as KrpcReply
    assert.equal(r.y, 'r')
    assert.deepEqual(r.t, T)
    assert.deepEqual(r.r.id, ME)
    assert.deepEqual(r.r.said, new TextEncoder().encode('hello'))
    assert.deepEqual(r.v, V)
    assert.deepEqual(decodePeer(r.ip!), FROM)
    assert.equal(seen?.method, 'echo')
    assert.deepEqual(seen?.tid, T)
    assert.deepEqual(seen?.from, FROM)
    assert.equal(seen?.readOnly, true)
    assert.deepEqual(seen?.args.id, idOf(5))
    assert.equal(seen?.message.q, 'echo')
    assert.equal(ctx, context)
    assert.equal(counters.queriesIn.echo, 1)
  })

  it('a returned or thrown KrpcHandlerError is a KRPC error reply; undefined is silence', () => {
    const { server, ask, warnings } = setup()
    server.register('no', () => new KrpcHandlerError(206, 'invalid signature'))
    server.register('throws', () => {
      throw new KrpcHandlerError(302, 'sequence number less than current')
    })
    server.register('quiet', () => undefined)
    assert.deepEqual((ask(buildQuery(T, 'no', { id: idOf(1) })) as KrpcErrorReply).e, [206, 'invalid signature'])
    assert.deepEqual((ask(buildQuery(T, 'throws', { id: idOf(1) })) as KrpcErrorReply).e, [
      302,
      'sequence number less than current',
    ])
    assert.equal(ask(buildQuery(T, 'quiet', { id: idOf(1) })), undefined)
    assert.deepEqual(warnings, [])
  })

  it("a handler's bug (a throw, an unencodable reply) is answered 202, counted and reported", () => {
    const { server, ask, warnings, counters } = setup()
    server.register('bug', () => {
      throw new Error('handler bug')
    })
    server.register('junk', () => ({ f: () => 1 }))
    assert.deepEqual((ask(buildQuery(T, 'bug', { id: idOf(1) })) as KrpcErrorReply).e, [202, 'Server Error'])
    assert.deepEqual((ask(buildQuery(T, 'junk', { id: idOf(1) })) as KrpcErrorReply).e, [202, 'Server Error'])
    assert.equal(counters.drops.handler_error, 2)
    assert.equal(warnings.length, 2)
    assert.equal(warnings[0].message, 'handler bug')
  })

  it('one handler per method; unregister brings back 204', () => {
    const { server, ask } = setup()
    server.register('m', () => ({}))
    assert.throws(() => server.register('m', () => ({})), { code: 'BAD_ARGUMENT' })
    assert.throws(() => server.register('', () => ({})), { code: 'BAD_ARGUMENT' })
    assert.equal(ask(buildQuery(T, 'm', { id: idOf(1) }))?.y, 'r')
    server.unregister('m')
    assert.equal(server.has('m'), false)
    assert.deepEqual((ask(buildQuery(T, 'm', { id: idOf(1) })) as KrpcErrorReply).e, [204, 'Method Unknown'])
  })

  it('packet handlers (the built-ins) answer with their own packet', () => {
    const { server, ask, counters } = setup()
    const packet = encode({ t: T, y: 'r', r: { id: ME } })
    server.registerPacket('ping', { answer: () => packet })
    assert.deepEqual((ask(buildPingQuery(T, idOf(1))) as KrpcReply).r.id, ME)
    assert.equal(counters.queriesIn.ping, 1)
  })

  it('types BEP 44/51 queries (validated by the parser) only once one of them has a handler', () => {
    const { server } = setup()
    assert.deepEqual(server.parseOptions, {})
    server.register('get', (q) => ({ seen: q.message.known ? 1 : 0 }))
    assert.deepEqual(server.parseOptions, { allMethods: true })
    const msg = parseKrpc(buildQuery(T, 'get', { id: idOf(1), target: idOf(2) }), server.parseOptions) as KrpcQuery
    assert.equal(msg.known, true)
    const out = parseKrpc(server.serve(msg, FROM)!) as KrpcReply
    assert.equal(out.r.seen, 1)
    server.unregister('get')
    assert.deepEqual(server.parseOptions, {})
  })
})
