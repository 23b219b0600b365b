// Runs the real CLI (`mainline krpc decode`) as a child process and checks its output contract.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { buildGetPeersReply, buildPingQuery, toHex } from '../../src/codec/index.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8').trim()

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    input,
    encoding: 'utf8',
    timeout: 20_000,
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('mainline krpc decode', () => {
  it('--json prints one krpc event mirroring the wire keys', () => {
    const r = cli(['krpc', 'decode', fixture('lt-2.0.8-ping-reply.hex'), '--json'])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    assert.equal(lines.length, 1)
    const ev = JSON.parse(lines[0])
    assert.equal(ev.event, 'krpc')
    assert.equal(ev.y, 'r')
    assert.equal(ev.t, '0001')
    assert.equal(ev.r.id, '594088545c7d84cc38b3d7266e3dc4a0c6eb9f56')
    assert.equal(ev.r.p, 44627)
    assert.equal(ev.v, '4c540208')
    assert.equal(ev.ip, '7f000001ae53')
    assert.deepEqual(ev.decoded, { client: 'LT 2.0.8', ip: '127.0.0.1:44627' })
  })

  it('shows queries with the method as text, and compact lists decoded', () => {
    const tid = Uint8Array.of(0xaa, 0xbb)
    const nid = new Uint8Array(20).fill(0x11)
    const q = cli(['krpc', 'decode', toHex(buildPingQuery(tid, nid, { ro: true })), '--json'])
    assert.equal(q.code, 0, q.stderr)
    const ev = JSON.parse(q.stdout)
    assert.deepEqual([ev.y, ev.q, ev.known, ev.t, ev.a.id, ev.ro], ['q', 'ping', true, 'aabb', '11'.repeat(20), true])

    const pkt = buildGetPeersReply(
      tid,
      nid,
      [{ host: '198.51.100.4', port: 6881 }],
      undefined,
      Uint8Array.of(1, 2, 3, 4),
    )
    // Without --json too, the output is the one JSON line.
    const h = cli(['krpc', 'decode', toHex(pkt)])
    assert.equal(h.code, 0, h.stderr)
    const lines = h.stdout.trim().split('\n')
    assert.equal(lines.length, 1)
    const rev = JSON.parse(lines[0])
    assert.deepEqual([rev.event, rev.y, rev.t, rev.r.token], ['krpc', 'r', 'aabb', '01020304'])
    assert.deepEqual(rev.decoded.values, ['198.51.100.4:6881'])
  })

  it('reads hex from stdin with -', () => {
    const r = cli(['krpc', 'decode', '-', '--json'], `${fixture('lt-2.0.8-error-invalid-token.hex')}\n`)
    assert.equal(r.code, 0, r.stderr)
    const ev = JSON.parse(r.stdout)
    assert.deepEqual(ev.e, [203, 'invalid token'])
  })

  it('malformed packets print the KRPC error code on stderr and exit 1', () => {
    const r = cli(['krpc', 'decode', '64313a74323a6162313a79313a7165', '--json']) // d1:t2:ab1:y1:qe
    assert.equal(r.code, 1)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /203 missing 'q' key/)
    const t = cli(['krpc', 'decode', '64313a74']) // truncated
    assert.equal(t.code, 1)
    assert.match(t.stderr, /203 .*TRUNCATED/)
  })

  it('input that is not hex is malformed input: stderr and exit 1', () => {
    for (const [arg, why] of [
      ['zz', /non-hex/],
      ['64313', /odd number/],
    ] as const) {
      const r = cli(['krpc', 'decode', arg])
      assert.equal(r.code, 1, arg)
      assert.equal(r.stdout, '')
      assert.match(r.stderr, /must be hex/)
      assert.match(r.stderr, why)
    }
  })

  it('bad usage exits 2', () => {
    assert.equal(cli(['krpc', 'decode']).code, 2)
    assert.equal(cli(['krpc', 'frobnicate', '00']).code, 2)
    const help = cli(['krpc', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /krpc decode <hex\|->/)
  })
})
