// The `mainline peer` and `mainline holepunch` commands, run as processes against each other on 127.0.0.1.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts')
const IH = '0123456789abcdef0123456789abcdef01234567'
const children: ChildProcess[] = []

function start(args: string[]): {
  child: ChildProcess
  lines: Record<string, unknown>[]
  next(event: string): Promise<Record<string, unknown>>
} {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const lines: Record<string, unknown>[] = []
  const waiters: [string, (v: Record<string, unknown>) => void][] = []
  let buf = ''
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const obj = JSON.parse(buf.slice(0, i)) as Record<string, unknown>
      buf = buf.slice(i + 1)
      lines.push(obj)
      for (const w of waiters.filter(([e]) => e === obj.event)) {
        waiters.splice(waiters.indexOf(w), 1)
        w[1](obj)
      }
    }
  })
  return {
    child,
    lines,
    next: (event) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => l.event === event)
        if (seen) return resolve(seen)
        const t = setTimeout(() => reject(new Error(`no ${event} event`)), 15_000)
        waiters.push([
          event,
          (v) => {
            clearTimeout(t)
            resolve(v)
          },
        ])
      }),
  }
}

function run(args: string[]): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  const p = start(args)
  let stderr = ''
  p.child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  return new Promise((resolve) => p.child.on('close', (code) => resolve({ code, lines: p.lines, stderr })))
}

after(() => {
  for (const c of children) c.kill()
})

describe('mainline peer / holepunch CLI', () => {
  it('serve, handshake, and rendezvous (connect and NotConnected)', async () => {
    const r = start([
      'peer',
      'serve',
      '--infohash',
      IH,
      '--host',
      '127.0.0.1',
      '--pex-interval',
      '1',
      '--timeout',
      '30',
      '--json',
    ])
    const rl = await r.next('listening')
    const relay = `127.0.0.1:${rl.port}`
    const b = start([
      'peer',
      'serve',
      '--infohash',
      IH,
      '--host',
      '127.0.0.1',
      '--connect',
      relay,
      '--timeout',
      '30',
      '--json',
    ])
    const bl = await b.next('listening')
    await b.next('connected')

    const hs = await run(['peer', 'handshake', relay, '--infohash', IH, '--timeout', '2', '--json'])
    assert.equal(hs.code, 0)
    const h = hs.lines[0]
    assert.equal(h.event, 'handshake')
    assert.equal(h.peerId, rl.peerId)
    assert.equal(h.client, 'mainline/0.1.0')
    assert.deepEqual(h.extensions, { ut_holepunch: 4, ut_metadata: 2, ut_pex: 1 })
    assert.equal(h.yourip, '127.0.0.1')
    assert.equal(h.transport, 'tcp')
    const pex = hs.lines.filter((l) => l.event === 'pex')
    assert.equal(
      hs.lines.findIndex((l) => l.event !== 'handshake'),
      1,
      'handshake first, then PEX',
    )
    assert.equal(hs.lines.filter((l) => l.event === 'handshake').length, 1)
    assert.ok(
      pex.some((l) => (l.added as { port: number }[]).some((p) => p.port === bl.port)),
      'R told us about B',
    )

    const ok = await run([
      'holepunch',
      'rendezvous',
      '--relay',
      relay,
      '--infohash',
      IH,
      '--target',
      `127.0.0.1:${bl.port}`,
      '--timeout',
      '5',
      '--json',
    ])
    assert.equal(ok.code, 0, ok.stderr)
    assert.deepEqual(ok.lines, [{ event: 'hp_connect', host: '127.0.0.1', port: bl.port }])
    const atB = await b.next('hp_connect')
    assert.equal(atB.host, '127.0.0.1')
    assert.equal((await r.next('hp_relayed')).event, 'hp_relayed')

    const no = await run([
      'holepunch',
      'rendezvous',
      '--relay',
      relay,
      '--infohash',
      IH,
      '--target',
      '127.0.0.1:9',
      '--timeout',
      '5',
      '--json',
    ])
    assert.equal(no.code, 0, no.stderr)
    assert.deepEqual(no.lines, [{ event: 'hp_error', code: 2, name: 'NotConnected', host: '127.0.0.1', port: 9 }])
    assert.equal(no.stderr, '')
  })

  it('exits non-zero on timeout and on usage errors', async () => {
    // A "relay" that accepts and never speaks.
    const mute = createServer(() => {})
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r))
    const port = (mute.address() as { port: number }).port
    try {
      const t = await run([
        'holepunch',
        'rendezvous',
        '--relay',
        `127.0.0.1:${port}`,
        '--infohash',
        IH,
        '--target',
        '127.0.0.1:9',
        '--timeout',
        '1',
        '--json',
      ])
      assert.equal(t.code, 1)
      assert.match(t.stderr, /within 1 s/)
      assert.deepEqual(t.lines, [])
      const u = await run(['peer', 'handshake', '127.0.0.1:1', '--infohash', 'xyz', '--json'])
      assert.equal(u.code, 2)
      assert.match(u.stderr, /--infohash must be 40 hex digits/)
    } finally {
      mute.close()
    }
  })
})
