// Drives libtorrent seeders and magnet fetchers (test/interop/lt_magnet.py) from a test or the metadata bench:
// JSON-line commands in, events out, with timeouts; killed on teardown.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Endpoint } from '../../src/net/types.js'
import { onJsonLines, PYTHON } from './lt-available.js'

export { libtorrentSkip } from './lt-available.js'

const SCRIPT = fileURLToPath(new URL('./lt_magnet.py', import.meta.url))

export type LtTransport = 'tcp' | 'utp' | 'both'

export interface LtMagnetEvent {
  event: string
  name?: string
  type?: string
  msg?: string
  [key: string]: unknown
}

export interface LtSeeding {
  port: number
  v1?: string
  v2?: string
  seeding: boolean
}

export interface LtMetadata {
  v1?: string
  v2?: string
  elapsed_ms: number
  /** From add_torrent to the first peer_connect_alert (null when none came). */
  connected_ms: number | null
  size: number
  name_in_info: string
}

const pairs = (eps: readonly Endpoint[] | undefined) => (eps ?? []).map((e) => [e.host, e.port])

export class LtMagnet {
  readonly events: LtMagnetEvent[] = []
  private readonly waiters = new Set<{ pred: (e: LtMagnetEvent) => boolean; resolve: (e: LtMagnetEvent) => void }>()
  private stderr = ''
  private exited: Error | undefined

  private constructor(private readonly child: ChildProcess) {
    onJsonLines<LtMagnetEvent>(child.stdout, (e) => {
      this.events.push(e)
      for (const w of this.waiters) if (w.pred(e)) w.resolve(e)
    })
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (c: string) => {
      this.stderr = (this.stderr + c).slice(-4000)
    })
    child.on('exit', (code, signal) => {
      this.exited = new Error(`lt_magnet.py exited (code ${code}, signal ${signal}): ${this.stderr.trim()}`)
    })
  }

  static spawn(): LtMagnet {
    return new LtMagnet(spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] }))
  }

  send(cmd: Record<string, unknown>): void {
    if (this.exited) throw this.exited
    this.child.stdin?.write(`${JSON.stringify(cmd)}\n`)
  }

  /** The first event (past or future) matching `pred`; rejects after `ms`. */
  waitFor(pred: (e: LtMagnetEvent) => boolean, ms: number, what: string): Promise<LtMagnetEvent> {
    const seen = this.events.find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (e: LtMagnetEvent) => {
          clearTimeout(t)
          this.waiters.delete(w)
          resolve(e)
        },
      }
      const t = setTimeout(() => {
        this.waiters.delete(w)
        const errors = this.events.filter((e) => e.event === 'error' || (e.name === what && e.event === 'alert'))
        reject(
          new Error(
            `timed out after ${ms} ms waiting for ${what}${this.exited ? `; ${this.exited.message}` : ''} ${JSON.stringify(errors.slice(-8))}`,
          ),
        )
      }, ms)
      this.waiters.add(w)
    })
  }

  /**
   * A libtorrent session seeding `torrent` (its data in `savePath`, or none: it still serves the metadata), on
   * `transport` only, announced on a DHT bootstrapped from `dht` when given.
   */
  async seed(
    name: string,
    torrent: string,
    opts: { savePath?: string; transport?: LtTransport; dht?: Endpoint[]; recheck?: boolean } = {},
  ): Promise<LtSeeding> {
    this.send({
      cmd: 'seed',
      name,
      torrent,
      save_path: opts.savePath,
      transport: opts.transport ?? 'both',
      dht: pairs(opts.dht),
      recheck: opts.recheck ?? false,
    })
    const e = await this.waitFor((x) => x.event === 'seeding' && x.name === name, 150_000, name)
    return e as unknown as LtSeeding
  }

  /** Announces `name`'s torrent on its DHT again. */
  announce(name: string): void {
    this.send({ cmd: 'announce', name })
  }

  /** libtorrent's own magnet fetch: resolves with its metadata_received_alert (elapsed from add_torrent). */
  async fetch(
    name: string,
    magnet: string,
    opts: { transport?: LtTransport; dht?: Endpoint[]; peers?: Endpoint[]; ms?: number } = {},
  ): Promise<LtMetadata> {
    const mark = this.events.length
    this.send({
      cmd: 'fetch',
      name,
      magnet,
      transport: opts.transport ?? 'both',
      dht: pairs(opts.dht),
      peers: pairs(opts.peers),
    })
    const e = await this.waitFor(
      (x) => x.event === 'metadata' && x.name === name && this.events.indexOf(x) >= mark,
      opts.ms ?? 30_000,
      name,
    )
    return e as unknown as LtMetadata
  }

  stop(name: string): void {
    this.send({ cmd: 'stop', name })
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
