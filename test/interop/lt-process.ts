// One libtorrent helper process driven over JSON lines (lt_magnet.py, lt_peer.py): commands written to its stdin,
// events read from its stdout and kept, waits for an event with a timeout, the tail of its stderr in the error when
// it exits, and a quit that turns into SIGKILL if the helper hangs.
import { type ChildProcess, spawn } from 'node:child_process'
import { basename } from 'node:path'
import { onJsonLines, PYTHON } from './lt-available.js'

export interface LtEvent {
  event: string
  name?: string
  type?: string
  msg?: string
  [key: string]: unknown
}

export class LtProcess {
  /** Every event so far (the tests search it). */
  readonly events: LtEvent[] = []
  private readonly waiters = new Set<{ pred: (e: LtEvent) => boolean; resolve: (e: LtEvent) => void }>()
  private stderr = ''
  private exited: Error | undefined
  private readonly child: ChildProcess

  /** Starts `script` (a Python file) with the system Python. */
  protected constructor(script: string) {
    const child = spawn(PYTHON, [script], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child = child
    onJsonLines<LtEvent>(child.stdout, (e) => {
      this.events.push(e)
      for (const w of this.waiters) if (w.pred(e)) w.resolve(e)
    })
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (c: string) => {
      this.stderr = (this.stderr + c).slice(-4000)
    })
    child.on('exit', (code, signal) => {
      this.exited = new Error(`${basename(script)} exited (code ${code}, signal ${signal}): ${this.stderr.trim()}`)
    })
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
        const exited = this.exited ? `; ${this.exited.message}` : ''
        reject(new Error(`timed out after ${ms} ms waiting for ${what}${exited}${this.timeoutDetail(what)}`))
      }, ms)
      this.waiters.add(w)
    })
  }

  /** The first event matching `pred` that arrives after this call's `send` (`mark`: `events.length` before it). */
  protected waitForNew(mark: number, pred: (e: LtEvent) => boolean, ms?: number, what?: string): Promise<LtEvent> {
    return this.waitFor((e) => pred(e) && this.events.indexOf(e) >= mark, ms, what)
  }

  /** What a timeout error adds after its message (nothing here). */
  protected timeoutDetail(_what: string): string {
    return ''
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
