// Issue 14: `--state` was trusted too much. As root, `--state /dev/null` replaced the device with a regular file at
// save time; a FIFO hung start-up forever; temp files of an interrupted save stayed; an unwritable path was
// reported only at exit. Each bad path here must give one line and exit 2 before start, the device must stay a
// device, and nothing may hang. Devices are made with mknod in a temp dir (root), never the real /dev/null.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runCli } from './cli-run.js'

const ROOT = process.getuid?.() === 0
const NODE = ['dht', 'node', '--host', '127.0.0.1', '--port', '0', '--bootstrap', 'none']
const hex = (n: number) => n.toString(16).padStart(40, '0')

/** A valid state file whose saved nodes are all dead (ports on 127.0.0.1 nothing listens on), plus padding. */
function stateText(nodes: number, padBytes = 0): string {
  const list = Array.from({ length: nodes }, (_, i) => [hex(i + 1), '127.0.0.1', 20_000 + i])
  return JSON.stringify({
    format: 'mainline-dht-state',
    version: 1,
    id: hex(999),
    nodes: list,
    pad: 'x'.repeat(padBytes),
  })
}

/** A pid no process has (for a temp file whose writer is gone). */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return pid
    }
  }
}

describe('mainline dht node --state: hostile paths', { timeout: 300_000 }, () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-state-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('a FIFO, a directory, a device, symlinks to them or to nothing: one line, exit 2, at once, untouched', async () => {
    const fifo = join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    const sub = join(dir, 'subdir')
    await mkdir(sub)
    const bad: [string, RegExp][] = [
      [fifo, /is a FIFO/],
      [sub, /is a directory/],
      [join(dir, 'no-such-dir', 'state.json'), /no-such-dir.*ENOENT/],
      [join(dir, 'dangling'), /symbolic link to nothing/],
    ]
    await symlink(join(dir, 'nothing-here'), join(dir, 'dangling'))
    await symlink(fifo, join(dir, 'to-fifo'))
    bad.push([join(dir, 'to-fifo'), /is a FIFO/])
    let device: string | undefined
    if (ROOT) {
      // Our own null device: were it replaced by a file, only this temp dir would notice.
      device = join(dir, 'null')
      execFileSync('mknod', [device, 'c', '1', '3'])
      await symlink(device, join(dir, 'to-null'))
      bad.push([device, /is a character device/], [join(dir, 'to-null'), /is a character device/])
    } else {
      // Not root: the rename could not replace /dev/null anyway, so naming it is safe; it must still be refused.
      bad.push(['/dev/null', /is a character device/])
    }
    for (const [path, why] of bad) {
      // A hang (the FIFO) would be killed after 20 s and fail on the signal.
      const r = await runCli([...NODE, '--state', path, '--timeout', '2'], 20_000)
      const what = `${path}: ${r.stderr}`
      assert.equal(r.signal, null, `${what} did not end by itself`)
      assert.equal(r.code, 2, what)
      assert.match(r.stderr, /^mainline: state file "[^\n]+\n$/, what)
      assert.match(r.stderr, why, what)
      assert.equal(r.stdout, '', what)
    }
    assert.ok((await lstat(fifo)).isFIFO())
    assert.ok((await lstat(sub)).isDirectory())
    if (device) {
      assert.ok((await lstat(device)).isCharacterDevice(), 'the device stays a device')
      assert.ok((await lstat(join(dir, 'to-null'))).isSymbolicLink())
    }
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
    )
  })

  it('an unwritable place is refused at start, not at exit (a read-only mount in a private namespace)', {
    skip: ROOT ? false : 'needs root for unshare -m and mount',
  }, async () => {
    const ro = join(dir, 'ro')
    await mkdir(ro)
    const mount = `mount -t tmpfs -o ro tmpfs ${JSON.stringify(ro)} && exec "$@"`
    const r = await runCli([...NODE, '--state', join(ro, 'state.json'), '--timeout', '2'], 20_000, {
      prefix: ['unshare', '-m', 'sh', '-c', mount, 'sh'],
    })
    assert.equal(r.signal, null)
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /^mainline: state file "[^\n]*" cannot be written: EROFS[^\n]*\n$/)
    assert.equal(r.stdout, '')
  })

  it('a symlink to a regular file is followed: the file is replaced, the link stays a link', async () => {
    const real = join(dir, 'real.json')
    await writeFile(real, stateText(3))
    const link = join(dir, 'link.json')
    await symlink(real, link)
    const r = await runCli([...NODE, '--state', link, '--timeout', '1', '--json'], 20_000)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.events[0]?.event, 'listening')
    assert.equal(r.events[0]?.id, hex(999), 'the id came from the file behind the link')
    assert.ok((await lstat(link)).isSymbolicLink())
    assert.ok((await lstat(real)).isFile())
  })

  it('removes the temp files of an interrupted save, only those', async () => {
    const sub = join(dir, 'stale')
    await mkdir(sub)
    const path = join(sub, 'state.json')
    await writeFile(path, stateText(2))
    const stale = join(sub, `.state.json.${deadPid()}.0badc0de.tmp`)
    const old = join(sub, `.state.json.${process.pid}.00c0ffee.tmp`)
    const other = join(sub, '.other.json.1.0badc0de.tmp')
    const notOurs = join(sub, '.state.json.tmp')
    for (const f of [stale, old, other, notOurs]) await writeFile(f, '{"torn')
    // Written by a live process, but an hour ago: no save takes that long.
    await utimes(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000))
    const r = await runCli([...NODE, '--state', path, '--timeout', '1'], 20_000)
    assert.equal(r.code, 0, r.stderr)
    const left = await readdir(sub)
    assert.ok(!left.includes('.state.json.' + stale.split('.state.json.')[1]), 'a dead writer’s temp is gone')
    assert.ok(!left.some((f) => f.includes('00c0ffee')), 'an hour-old temp is gone')
    assert.ok(left.includes('.other.json.1.0badc0de.tmp'), 'another file’s temp stays')
    assert.ok(left.includes('.state.json.tmp'), 'a name we never write stays')
    assert.ok((await stat(path)).isFile())
  })

  it('--timeout 0.001 with a large state file ends by itself (the timeout covers start-up)', async () => {
    const path = join(dir, 'large.json')
    await writeFile(path, stateText(2000, 3_500_000))
    const r = await runCli([...NODE, '--state', path, '--timeout', '0.001'], 30_000)
    assert.equal(r.signal, null, 'ended by itself')
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /\(node:|Warning/)
    // Stopped before any saved node could answer: the saved nodes are kept, not overwritten with none.
    const kept = JSON.parse(await readFile(path, 'utf8')) as { nodes: unknown[] }
    assert.equal(kept.nodes.length, 2000)
  })

  it('11+ dead saved nodes at start-up: no MaxListenersExceededWarning, even with Node warnings shown', async () => {
    const path = join(dir, 'dead.json')
    await writeFile(path, stateText(40))
    const r = await runCli([...NODE, '--state', path, '--timeout', '4'], 30_000, { env: { MAINLINE_DEBUG: '1' } })
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /MaxListeners|warning/i)
  })
})
