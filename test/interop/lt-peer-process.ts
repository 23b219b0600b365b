// Drives libtorrent peers (test/interop/lt_peer.py) from a test: JSON-line commands in, events out, with
// timeouts, killed on teardown. Re-exports the skip-or-fail rule (lt-available.ts).
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { onJsonLines, PYTHON } from './lt-available.js'

export { libtorrentSkip, PYTHON } from './lt-available.js'

const SCRIPT = fileURLToPath(new URL('./lt_peer.py', import.meta.url))

export interface LtEvent {
  event: string
  name?: string
  type?: string
  msg?: string
  [key: string]: unknown
}

export interface LtPeerInfo {
  host: string
  port: number
  local: [string, number]
  client: string
  pid: string
  flags: number
  source: number
  holepunched: boolean
  outgoing: boolean
}

export class LtPeers {
  /** Every event so far (the tests search it). */
  readonly events: LtEvent[] = []
  private readonly waiters = new Set<{ pred: (e: LtEvent) => boolean; resolve: (e: LtEvent) => void }>()
  private stderr = ''
  private exited: Error | undefined

  private constructor(private readonly child: ChildProcess) {
    onJsonLines<LtEvent>(child.stdout, (e) => {
      this.events.push(e)
      for (const w of this.waiters) if (w.pred(e)) w.resolve(e)
    })
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (c: string) => {
      this.stderr = (this.stderr + c).slice(-4000)
    })
    child.on('exit', (code, signal) => {
      this.exited = new Error(`lt_peer.py exited (code ${code}, signal ${signal}): ${this.stderr.trim()}`)
    })
  }

  static spawn(): LtPeers {
    return new LtPeers(spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] }))
  }

  send(cmd: Record<string, unknown>): void {
    if (this.exited) throw this.exited
    this.child.stdin?.write(`${JSON.stringify(cmd)}\n`)
  }

  /** The first event (past or future) matching `pred`; rejects after `ms`. */
  waitFor(pred: (e: LtEvent) => boolean, ms = 10_000, what = 'event'): Promise<LtEvent> {
    const seen = this.events.find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (e: LtEvent) => {
          clearTimeout(t)
          this.waiters.delete(w)
          resolve(e)
        },
      }
      const t = setTimeout(() => {
        this.waiters.delete(w)
        reject(
          new Error(`timed out after ${ms} ms waiting for ${what}${this.exited ? `; ${this.exited.message}` : ''}`),
        )
      }, ms)
      this.waiters.add(w)
    })
  }

  /** Starts a named libtorrent session on 127.0.0.1 with a magnet torrent for `infohash`; resolves its port. */
  async start(name: string, infohash: string, settings: Record<string, unknown> = {}): Promise<number> {
    this.send({ cmd: 'start', name, infohash, settings })
    const e = await this.waitFor((x) => x.event === 'started' && x.name === name, 15_000, `start of ${name}`)
    return e.port as number
  }

  connect(name: string, host: string, port: number): void {
    this.send({ cmd: 'connect', name, host, port })
  }

  async peers(name: string): Promise<LtPeerInfo[]> {
    const mark = this.events.length
    this.send({ cmd: 'peers', name })
    const e = await this.waitFor((x) => x.event === 'peers' && x.name === name && this.events.indexOf(x) >= mark)
    return e.peers as LtPeerInfo[]
  }

  /** Waits for a `peer_log_alert` (or any alert) from `name` whose text matches `re`. */
  alert(name: string, re: RegExp, ms = 10_000): Promise<LtEvent> {
    return this.waitFor(
      (e) => e.event === 'alert' && e.name === name && re.test(e.msg ?? ''),
      ms,
      `${name} alert ${re}`,
    )
  }

  async close(): Promise<void> {
    if (this.exited) return
    const done = new Promise<void>((r) => this.child.once('exit', () => r()))
    try {
      this.send({ cmd: 'quit' })
    } catch {}
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000)
    await done
    clearTimeout(t)
  }
}
