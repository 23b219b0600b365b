// Spawns test/interop/lt_utp.py (libtorrent 2.0 as a uTP-only peer) and reads its JSON-lines events.
// CI rule: without python3-libtorrent the tests FAIL when process.env.CI is set, else they are skipped.
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { encode } from '../../src/codec/bencode.js'
import { libtorrentSkip, PYTHON } from './lt-available.js'

/** `{ skip }` options for node:test: skip with a reason outside CI, fail (throw) in CI. */
export function requireLibtorrent(): { skip: string | false } {
  return { skip: libtorrentSkip() }
}

export type LtEvent = { event: string } & Record<string, unknown>

export class LtPeer {
  readonly events: LtEvent[] = []
  private readonly proc: ChildProcess
  private waiters: (() => void)[] = []
  stderr = ''

  constructor(args: string[]) {
    this.proc = spawn(PYTHON, [join(import.meta.dirname, 'lt_utp.py'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let buf = ''
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d
      let i = buf.indexOf('\n')
      while (i >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (line.trim()) this.events.push(JSON.parse(line) as LtEvent)
        i = buf.indexOf('\n')
      }
      for (const w of this.waiters.splice(0)) w()
    })
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d
    })
    this.proc.on('exit', () => {
      for (const w of this.waiters.splice(0)) w()
    })
  }

  /** Resolves with the first event named `name` (matching `pred`); rejects after `timeout` ms or if it exits. */
  async waitFor(name: string, timeout = 20_000, pred: (e: LtEvent) => boolean = () => true): Promise<LtEvent> {
    const end = Date.now() + timeout
    for (;;) {
      const e = this.events.find((x) => x.event === name && pred(x))
      if (e) return e
      if (this.proc.exitCode !== null) throw new Error(`libtorrent helper exited: ${this.stderr}`)
      const left = end - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${name}; events: ${JSON.stringify(this.events)}`)
      await new Promise<void>((r) => {
        const t = setTimeout(r, left)
        this.waiters.push(() => {
          clearTimeout(t)
          r()
        })
      })
    }
  }

  /** Ends the helper (closing stdin makes it exit) and waits for the process. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return
    const exited = new Promise((r) => this.proc.once('exit', r))
    this.proc.stdin!.end()
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(t)
  }
}

/** A single-file torrent: the bencoded .torrent, its info hash and its piece hashes. */
export function makeTorrent(data: Uint8Array, pieceLength: number, name = 'data.bin') {
  const pieces: Buffer[] = []
  for (let off = 0; off < data.length; off += pieceLength)
    pieces.push(
      createHash('sha1')
        .update(data.subarray(off, off + pieceLength))
        .digest(),
    )
  const info = { length: data.length, name, 'piece length': pieceLength, pieces: Buffer.concat(pieces) }
  const infoBytes = encode(info)
  const infoHash = new Uint8Array(createHash('sha1').update(infoBytes).digest())
  const torrent = encode({ info })
  return { torrent, infoHash, pieceCount: pieces.length }
}
