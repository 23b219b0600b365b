// Option parsing every CLI group shares (src/cli/args.ts): negative numbers, one-line errors, cut inputs, and one
// reading of --bootstrap lists.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bootstrapEntries, parseOptions } from '../../src/cli/args.js'
import { bootstrapList, parse } from '../../src/cli/dht-args.js'
import { oneLine, quote, UsageError } from '../../src/cli/output.js'

const OPTS = {
  port: { type: 'string' },
  json: { type: 'boolean' },
  bootstrap: { type: 'string', multiple: true },
} as const

describe('CLI argument parsing', () => {
  it('takes a negative number as an option value, not as Node\'s "ambiguous" error', () => {
    assert.equal(parseOptions(['--port', '-1'], OPTS).values.port, '-1')
    assert.equal(parseOptions(['--port', '-.5'], OPTS).values.port, '-.5')
    assert.equal(parseOptions(['--port=-7'], OPTS).values.port, '-7')
    // A word starting with "-" is still an option, and a missing value says so in one line.
    assert.throws(
      () => parseOptions(['--port', '--json'], OPTS),
      (e: Error) => {
        assert.ok(e instanceof UsageError)
        assert.doesNotMatch(e.message, /\n/)
        assert.match(e.message, /"--port" needs a value/)
        return true
      },
    )
  })

  it('turns every Node parse error into one short line', () => {
    const cases: [string[], RegExp][] = [
      [['--nope'], /^unknown option "--nope"$/],
      [['--port'], /^option "--port" needs a value$/],
      [['--json=1'], /^option "--json" takes no value$/],
      [['stray'], /^unexpected argument "stray"$/],
      [[`--${'x'.repeat(5000)}`], /^unknown option "--x+"… \(5002 characters\)$/],
    ]
    for (const [argv, re] of cases) {
      assert.throws(
        () => parseOptions(argv, OPTS),
        (e: Error) => e instanceof UsageError && re.test(e.message) && e.message.length < 200,
        argv.join(' ').slice(0, 40),
      )
    }
  })

  it('cuts long inputs in messages', () => {
    assert.equal(quote('abc'), '"abc"')
    const long = quote('f'.repeat(131_072))
    assert.ok(long.length < 100, long)
    assert.match(long, /\(131072 characters\)$/)
    assert.equal(oneLine('a\n  b\r\nc'), 'a b c')
    assert.ok(oneLine('x'.repeat(10_000)).length <= 401)
  })

  it('reads --bootstrap lists the same way for every group: repeatable, comma-separated, "none" alone', () => {
    assert.equal(bootstrapEntries(undefined), undefined)
    assert.equal(bootstrapEntries(['none']), 'none')
    assert.deepEqual(bootstrapEntries(['127.0.0.1:1,127.0.0.1:2', 'h.example:3']), [
      '127.0.0.1:1',
      '127.0.0.1:2',
      'h.example:3',
    ])
    for (const bad of [['none,127.0.0.1:1'], ['none', '127.0.0.1:1'], ['127.0.0.1:1,'], ['']])
      assert.throws(() => bootstrapEntries(bad), UsageError, bad.join(' '))
    // The dht group: the same list, never "none,127.0.0.1" resolved as a host name.
    assert.deepEqual(bootstrapList(parse(['--bootstrap', '127.0.0.1:1,[::1]:2']).values), ['127.0.0.1:1', '[::1]:2'])
    assert.throws(() => bootstrapList(parse(['--bootstrap', 'none,127.0.0.1:1']).values), /cannot be combined/)
  })
})
