// Drives libtorrent DHT nodes (test/interop/lt_dht.py, Debian's python3-libtorrent 2.0.x) from a test: spawns the
// helper, sends JSON-line commands, awaits JSON-line events with timeouts, and kills it on teardown.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { onJsonLines, PYTHON } from './lt-available.js'

export { libtorrentSkip, PYTHON } from './lt-available.js'

const SCRIPT = fileURLToPath(new URL('./lt_dht.py', import.meta.url))

export interface LtEvent {
  event: string
  node?: string
  [key: string]: unknown
}

export interface LtPeer {
  host: string
  port: number
}

export interface LtNodeInfo {
  id: string
  host: string
  port: number
}

/** One helper process holding any number of named libtorrent DHT nodes. */
export class LibtorrentDHT {
  private readonly queue: LtEvent[] = []
  private readonly waiters = new Set<{ pred: (e: LtEvent) => boolean; resolve: (e: LtEvent) => void }>()
  private stderr = ''
  private exited: Error | null = null
  private readonly exitWaiters = new Set<(err: Error) => void>()

  private constructor(private readonly child: ChildProcess) {
    onJsonLines<LtEvent>(child.stdout, (e) => this.onEvent(e))
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000)
    })
    child.on('exit', (code, signal) => {
      this.exited = new Error(`lt_dht.py exited (code ${code}, signal ${signal}); stderr: ${this.stderr.trim()}`)
      for (const w of this.exitWaiters) w(this.exited)
    })
  }

  /** Starts the helper process (no nodes yet). */
  static spawn(): LibtorrentDHT {
    const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] })
    return new LibtorrentDHT(child)
  }

  private onEvent(e: LtEvent): void {
    for (const w of this.waiters) {
      if (w.pred(e)) {
        this.waiters.delete(w)
        w.resolve(e)
        return
      }
    }
    this.queue.push(e)
  }

  send(cmd: Record<string, unknown>): void {
    if (this.exited) throw this.exited
    this.child.stdin?.write(`${JSON.stringify(cmd)}\n`)
  }

  /** Resolves with the first (queued or future) event matching `pred`; rejects after `timeoutMs` or on exit. */
  waitFor(pred: (e: LtEvent) => boolean, timeoutMs: number, what = 'event'): Promise<LtEvent> {
    const i = this.queue.findIndex(pred)
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0])
    if (this.exited) return Promise.reject(this.exited)
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (e: LtEvent) => {
          clearTimeout(timer)
          this.exitWaiters.delete(onExit)
          resolve(e)
        },
      }
      const onExit = (err: Error) => {
        clearTimeout(timer)
        this.waiters.delete(waiter)
        reject(err)
      }
      const timer = setTimeout(() => {
        this.waiters.delete(waiter)
        this.exitWaiters.delete(onExit)
        const errors = this.queue.filter((e) => e.event === 'error').map((e) => e.message)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; helper errors: ${errors.join('; ')}`))
      }, timeoutMs)
      this.waiters.add(waiter)
      this.exitWaiters.add(onExit)
    })
  }

  /** Waits for an event by name (and node). */
  next(event: string, node?: string, timeoutMs = 10_000): Promise<LtEvent> {
    return this.waitFor(
      (e) => e.event === event && (node === undefined || e.node === node),
      timeoutMs,
      `${event}${node === undefined ? '' : ` from node ${node}`}`,
    )
  }

  /** Starts a node on 127.0.0.1 (port 0 = ephemeral) that bootstraps off the given endpoints. */
  async start(
    node: string,
    opts: { port?: number; bootstrap?: LtPeer[]; announcePort?: number } = {},
  ): Promise<{ port: number; id: string }> {
    this.send({
      cmd: 'start',
      node,
      port: opts.port ?? 0,
      bootstrap: (opts.bootstrap ?? []).map((b) => [b.host, b.port]),
      announce_port: opts.announcePort ?? 0,
    })
    const e = await this.next('started', node, 20_000)
    return { port: e.port as number, id: e.id as string }
  }

  /** Starts `n` nodes named `${prefix}0`… where node 0 is the seed every other bootstraps off. */
  async testnet(n: number, prefix = 'lt'): Promise<Array<{ node: string; port: number; id: string }>> {
    const first = await this.start(`${prefix}0`)
    const out = [{ node: `${prefix}0`, ...first }]
    for (let i = 1; i < n; i++) {
      const started = await this.start(`${prefix}${i}`, { bootstrap: [{ host: '127.0.0.1', port: first.port }] })
      out.push({ node: `${prefix}${i}`, ...started })
    }
    return out
  }

  addNode(node: string, peer: LtPeer): void {
    this.send({ cmd: 'add_node', node, host: peer.host, port: peer.port })
  }

  /** The node's live routing table (confirmed nodes only). */
  async nodes(node: string, timeoutMs = 5000): Promise<LtNodeInfo[]> {
    this.send({ cmd: 'nodes', node })
    return (await this.next('nodes', node, timeoutMs)).nodes as LtNodeInfo[]
  }

  /** Adds a magnet for the infohash and forces a DHT announce of the node's listen (or announce) port. */
  async announce(node: string, infohash: string): Promise<void> {
    this.send({ cmd: 'announce', node, infohash })
    await this.next('announcing', node)
  }

  /**
   * Runs one dht_get_peers and returns every peer libtorrent reported within `waitMs` (possibly none: libtorrent
   * says nothing for a lookup that found no values, so the helper waits a fixed time).
   */
  async getPeers(node: string, infohash: string, waitMs = 2000): Promise<LtPeer[]> {
    this.send({ cmd: 'get_peers', node, infohash, wait: waitMs / 1000 })
    const e = await this.waitFor(
      (x) => x.event === 'peers' && x.node === node && x.infohash === infohash,
      waitMs + 5000,
      `get_peers result on ${node}`,
    )
    return e.peers as LtPeer[]
  }

  /**
   * Repeats dht_get_peers from `node` until a reply lists a peer matching `want`; resolves with that reply's peers,
   * or with null after `timeoutMs`.
   */
  async findPeer(
    node: string,
    infohash: string,
    want: (p: LtPeer) => boolean,
    timeoutMs: number,
  ): Promise<LtPeer[] | null> {
    const end = Date.now() + timeoutMs
    const match = (x: LtEvent) =>
      x.event === 'peer_reply' && x.node === node && x.infohash === infohash && (x.peers as LtPeer[]).some(want)
    while (Date.now() < end) {
      this.send({ cmd: 'get_peers', node, infohash, wait: 2 })
      try {
        const e = await this.waitFor(match, Math.min(2000, Math.max(1, end - Date.now())), 'a matching peer')
        return e.peers as LtPeer[]
      } catch {}
    }
    return null
  }

  /** Closes stdin (the helper stops every node and exits), then kills it if it has not exited after `graceMs`. */
  async close(graceMs = 3000): Promise<void> {
    if (this.exited) return
    const done = new Promise<void>((resolve) => this.exitWaiters.add(() => resolve()))
    this.child.stdin?.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await done
    clearTimeout(timer)
  }
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then returns the last value). */
export async function poll<T>(fn: () => Promise<T>, timeoutMs: number, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v || Date.now() >= end) return v
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
