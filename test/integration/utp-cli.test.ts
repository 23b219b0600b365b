// `mainline peer serve --utp` and `mainline peer handshake --utp` against each other on 127.0.0.1.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts')
const IH = 'aa23456789abcdef0123456789abcdef012345bb'
const children: ChildProcess[] = []

function start(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const lines: Record<string, unknown>[] = []
  // Waiting for an event line is decided by the child: the line arrives, or the child exits without it.
  const waiters: Array<{ event: string; resolve: (l: Record<string, unknown>) => void }> = []
  let exited = false
  let buf = ''
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = JSON.parse(buf.slice(0, i)) as Record<string, unknown>
      lines.push(line)
      buf = buf.slice(i + 1)
      for (const w of waiters.filter((x) => x.event === line.event)) w.resolve(line)
    }
  })
  const closed = new Promise<number | null>((r) =>
    child.on('close', (code) => {
      exited = true
      r(code)
    }),
  )
  const next = (event: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const l = lines.find((x) => x.event === event)
      if (l) return resolve(l)
      if (exited) return reject(new Error(`exited without a ${event} event; stderr: ${stderr}`))
      waiters.push({ event, resolve })
      void closed.then(() => reject(new Error(`exited without a ${event} event; stderr: ${stderr}`)))
    })
  return { child, lines, closed, next, stderr: () => stderr }
}

describe('mainline peer over uTP', { timeout: 60_000 }, () => {
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  })

  it('serve --utp accepts a handshake --utp on the same port number', async () => {
    const serve = start([
      'peer',
      'serve',
      '--infohash',
      IH,
      '--host',
      '127.0.0.1',
      '--utp',
      '--timeout',
      '20',
      '--json',
    ])
    const listening = await serve.next('listening')
    const hs = start([
      'peer',
      'handshake',
      `127.0.0.1:${listening.port}`,
      '--infohash',
      IH,
      '--utp',
      '--timeout',
      '2',
      '--json',
    ])
    const h = await hs.next('handshake')
    assert.equal(h.transport, 'utp')
    assert.equal(await hs.closed, 0)
    // The handshake line comes first; the server's first PEX message (sent even when empty) follows it.
    const events = hs.lines.map((l) => l.event)
    assert.equal(events[0], 'handshake', JSON.stringify(events))
    assert.ok(events.includes('pex'), JSON.stringify(events))
    const connected = await serve.next('connected')
    assert.equal(connected.transport, 'utp')
    assert.equal(connected.direction, 'incoming')
    // The handshake command ends with a FIN: the server sees the stream end, not a reset.
    const gone = await serve.next('disconnected')
    assert.equal(gone.code, 'STREAM_ENDED', JSON.stringify(gone))
    serve.child.kill('SIGTERM')
    assert.equal(await serve.closed, 0)
  })
})
