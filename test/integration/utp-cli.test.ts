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
  let buf = ''
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>)
      buf = buf.slice(i + 1)
    }
  })
  const closed = new Promise<number | null>((r) => child.on('close', r))
  const next = async (event: string, ms = 15_000) => {
    const end = Date.now() + ms
    for (;;) {
      const l = lines.find((x) => x.event === event)
      if (l) return l
      if (Date.now() > end) throw new Error(`no ${event} event; stderr: ${stderr}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
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
    const connected = await serve.next('connected')
    assert.equal(connected.transport, 'utp')
    assert.equal(connected.direction, 'incoming')
    serve.child.kill('SIGTERM')
    assert.equal(await serve.closed, 0)
  })
})
