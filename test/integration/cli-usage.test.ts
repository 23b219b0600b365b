// Issue 14: every usage error of every group is exactly one line on stderr and exit 2, at once (`--host6` misuse
// used to wait out the default timeout first); negative numbers are values, not Node's four-line "ambiguous"
// message; long inputs come back cut; `--bootstrap` lists parse alike in every group; bad input (a 5 MB `t`) is one
// short line too.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type CliResult, runCli } from './cli-run.js'

const IH = 'c0ffee00112233445566778899aabbccddeeff00'
/** The longest argument Linux passes (MAX_ARG_STRLEN is 128 KiB with its NUL): a 131 KB "infohash". */
const HUGE = 'f'.repeat(131_000)

const USAGE: string[][] = [
  ['nosuch'],
  ['dht', 'nosuch'],
  ['dht', 'node', '--port', '-1'],
  ['dht', 'node', '--port'],
  ['dht', 'node', '--nope'],
  ['dht', 'node', '--state', ''],
  ['dht', 'node', '--host', '::1', '--host6', '::1'],
  ['dht', 'lookup', IH, '--host6', '127.0.0.1', '--bootstrap', 'none'],
  ['dht', 'lookup', IH, '--timeout', '-5', '--bootstrap', 'none'],
  ['dht', 'lookup', IH, '--bootstrap', 'none,127.0.0.1:1'],
  ['dht', 'lookup', HUGE, '--bootstrap', 'none'],
  ['dht', 'announce', IH, '--bootstrap', 'none'],
  ['dht', 'ping', 'localhost:6881'],
  ['dht', 'find-node', 'zz', '--bootstrap', 'none'],
  ['peer', 'handshake'],
  ['peer', 'handshake', '127.0.0.1:1', '--infohash', HUGE],
  ['peer', 'serve', '--infohash', IH, '--port', '-1'],
  ['peer', 'serve', '--infohash', IH, '--timeout', '-1'],
  ['peer', 'serve', '--infohash', IH, '--bootstrap', 'none,127.0.0.1:1'],
  ['peer', 'serve', '--infohash', HUGE],
  ['holepunch', 'rendezvous', '--relay', '127.0.0.1:1', '--infohash', IH],
  ['holepunch', 'connect', '--relay', '127.0.0.1:1', '--infohash', IH, '--port', '-3'],
  ['peer', 'serve', '--torrent', 'x.torrent', '--infohash', IH],
  ['magnet', `magnet:?xt=urn:btih:${IH}`, '--timeout', '-1'],
  ['magnet', `magnet:?xt=urn:btih:${IH}`, 'extra'],
  ['magnet', 'magnet:?xt=urn:btih:zz'],
  ['magnet', HUGE],
  ['krpc', 'decode'],
  ['demo', '--nodes', '-5'],
  ['demo', 'nochapter'],
  ['torrent', 'info'],
  ['torrent', 'info', '--bogus', 'x.torrent'],
  ['torrent', 'create', '.', '--piece-length', '-16384'],
  ['torrent', 'create', '.', '--v1', '--v2'],
  ['torrent', 'nosuch'],
]

/** Runs `cases` a few at a time (each is a process: the machine is shared). */
async function runAll(cases: string[][], killAfterMs: number): Promise<CliResult[]> {
  const results: CliResult[] = new Array(cases.length)
  let next = 0
  const worker = async () => {
    while (next < cases.length) {
      const i = next++
      results[i] = await runCli(cases[i], killAfterMs)
    }
  }
  await Promise.all([worker(), worker(), worker()])
  return results
}

function label(args: string[]): string {
  return args.map((a) => (a.length > 50 ? `${a.slice(0, 10)}…(${a.length})` : JSON.stringify(a))).join(' ')
}

describe('mainline CLI usage errors', { timeout: 300_000 }, () => {
  it('every usage error is one line on stderr, exit 2, nothing on stdout, and ends at once', async () => {
    // 20 s is far below the 30 s default timeout a usage error used to wait out, and far above a start.
    const results = await runAll(USAGE, 20_000)
    USAGE.forEach((args, i) => {
      const r = results[i]
      const what = `${label(args)} → ${JSON.stringify(r.stderr.slice(0, 300))}`
      assert.equal(r.signal, null, `${what}: did not end by itself`)
      assert.equal(r.code, 2, what)
      assert.match(r.stderr, /^mainline: [^\n]+\n$/, what)
      assert.ok(r.stderr.length < 400, `${what}: ${r.stderr.length} characters`)
      assert.equal(r.stdout, '', what)
      assert.doesNotMatch(r.stderr, /ambiguous|Did you forget|\(node:/, what)
    })
  })

  it('negative numbers reach our own checks, which name the option and the value', async () => {
    const r = await runCli(['dht', 'node', '--port', '-1'], 20_000)
    assert.equal(r.stderr, 'mainline: --port must be a port 0..65535, got "-1" (see mainline dht --help)\n')
  })

  it('a 131 KB infohash comes back cut, with its length', async () => {
    const r = await runCli(['dht', 'lookup', HUGE, '--bootstrap', 'none'], 20_000)
    assert.match(r.stderr, /^mainline: infohash must be 40 hex digits, got "f{60}"… \(131000 characters\) /)
  })

  it('a KRPC packet with a 5 MB `t` is one short line (exit 1: bad input, not bad usage)', async () => {
    const t = 'a'.repeat(5_000_000)
    const hex = Buffer.from(`d1:t${t.length}:${t}1:y1:q1:q4:pinge`).toString('hex')
    const r = await runCli(['krpc', 'decode', '-'], 60_000, { input: hex })
    assert.equal(r.code, 1, r.stderr.slice(0, 300))
    assert.match(r.stderr, /^mainline: krpc: 203 [^\n]*t=(61){32}… \(5000000 bytes\)\n$/)
    assert.ok(r.stderr.length < 400)
  })
})
