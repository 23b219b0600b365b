// Argument helpers of `mainline dht`: bootstrap lists, hashes, ports, timeouts.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bootstrapList, hash20, PUBLIC_ROUTERS, parse, portOption, timeoutMs } from '../../src/cli/dht-args.js'
import { UsageError } from '../../src/cli/output.js'

describe('dht CLI arguments', () => {
  it('uses the public routers only when no --bootstrap is given, and none for "none"', () => {
    assert.deepEqual(bootstrapList(parse([]).values), PUBLIC_ROUTERS)
    assert.deepEqual(bootstrapList(parse(['--bootstrap', 'none']).values), [])
    assert.deepEqual(bootstrapList(parse(['--bootstrap', '127.0.0.1:1', '--bootstrap', 'h.example:2']).values), [
      '127.0.0.1:1',
      'h.example:2',
    ])
    assert.throws(() => bootstrapList(parse(['--bootstrap', 'none', '--bootstrap', '127.0.0.1:1']).values), UsageError)
    assert.throws(() => bootstrapList(parse(['--bootstrap', '127.0.0.1']).values), UsageError)
    assert.throws(() => bootstrapList(parse(['--bootstrap', '127.0.0.1:70000']).values), UsageError)
  })

  it('accepts 40 hex digits (either case) as a hash and nothing else', () => {
    assert.equal(hash20('AB'.repeat(20), 'infohash')[0], 0xab)
    assert.equal(hash20('ab'.repeat(20), 'infohash').length, 20)
    for (const bad of ['', 'ab'.repeat(19), 'ab'.repeat(21), 'zz'.repeat(20), ` ${'ab'.repeat(20)}`])
      assert.throws(() => hash20(bad, 'infohash'), UsageError)
  })

  it('checks ports and timeouts', () => {
    assert.equal(portOption(undefined, '--port', 6881), 6881)
    assert.equal(portOption('0', '--port', 6881), 0)
    assert.equal(portOption('65535', '--port', 0), 65535)
    for (const bad of ['65536', '-1', '1.5', 'x', '']) assert.throws(() => portOption(bad, '--port', 0), UsageError)
    assert.equal(timeoutMs(parse(['--timeout', '1.5']).values, 30), 1500)
    assert.equal(timeoutMs(parse([]).values, 30), 30_000)
    assert.equal(timeoutMs(parse([]).values, undefined), undefined)
    assert.throws(() => timeoutMs(parse(['--timeout', '0']).values, 30), UsageError)
  })

  it('rejects unknown options and wrong argument counts', () => {
    assert.throws(() => parse(['--nope']), /unknown option "--nope"/)
    assert.throws(() => parse(['a', 'b'], {}, 1), UsageError)
    assert.deepEqual(parse(['x', '--json'], {}, 1).positionals, ['x'])
  })
})
