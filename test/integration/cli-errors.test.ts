// What the CLI says when something is wrong: one line on stderr and the documented exit code, never a stack trace.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { UdpSocket } from '../../src/net/udp.js'
import { runCli } from './cli-run.js'

const IH = 'c0ffee00112233445566778899aabbccddeeff00'

describe('mainline CLI errors', { timeout: 60_000 }, () => {
  it('a port in use: exit 1 and one line naming the error, no stack trace', async () => {
    const busy = await UdpSocket.bind({ host: '127.0.0.1' })
    try {
      const { port } = busy.address()
      const r = await runCli(['dht', 'node', '--host', '127.0.0.1', '--port', String(port), '--bootstrap', 'none'])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /^mainline: .*EADDRINUSE.*\n$/)
      assert.doesNotMatch(r.stderr, /\n\s+at /)
    } finally {
      await busy.close()
    }
  })

  it('a host name where an IP address is needed is a usage error (exit 2)', async () => {
    const r = await runCli(['dht', 'ping', 'localhost:6881', '--bootstrap', 'none'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /give an IP address/)
  })

  it('--help after a command prints the group help (exit 0)', async () => {
    for (const args of [
      ['peer', 'serve', '--help'],
      ['holepunch', 'connect', '-h'],
    ]) {
      const r = await runCli(args)
      assert.equal(r.code, 0, args.join(' '))
      assert.match(r.stdout, /^mainline \w+/)
    }
  })

  it('names the option that is wrong', async () => {
    const r = await runCli(['peer', 'serve', '--infohash', IH, '--pex-interval', '0'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--pex-interval must be a positive number/)
  })

  it('peer serve: an empty --port is a usage error; --bootstrap none means no DHT, as for the dht commands', async () => {
    const empty = await runCli(['peer', 'serve', '--infohash', IH, '--port', ''])
    assert.equal(empty.code, 2)
    assert.match(empty.stderr, /--port must be 0\.\.65535/)
    const none = await runCli([
      'peer',
      'serve',
      '--infohash',
      IH,
      '--host',
      '127.0.0.1',
      '--bootstrap',
      'none',
      '--timeout',
      '1',
      '--json',
    ])
    assert.equal(none.code, 0, none.stderr)
    assert.equal(none.events[0]?.event, 'listening')
    assert.equal(none.events.filter((e) => e.event === 'dht_ready').length, 0)
  })
})
