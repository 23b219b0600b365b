// Process helpers for the NAT lab: run a command and collect its output, find system binaries, and read the
// JSON-lines output of the probe scripts (udp-punch.ts, tcp-probe.ts) that run inside the namespaces.
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export interface ExecResult {
  stdout: string
  stderr: string
  /** Exit code, or null when the process was killed by a signal (see `signal`). */
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ExecOptions {
  /** Written to the process's stdin, which is then closed. Default: none (stdin is closed at once). */
  input?: string
  /** Kills the process (SIGKILL) after this many milliseconds. Default: 20000. */
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
}

/** Failure of a lab operation; `code` says which kind. */
export class LabError extends Error {
  constructor(
    readonly code: 'COMMAND_FAILED' | 'MISSING_TOOL' | 'TIMEOUT' | 'DESTROYED',
    message: string,
  ) {
    super(message)
    this.name = 'LabError'
  }
}

/** Runs a command to completion. Never throws for a non-zero exit: the caller reads `code`. */
export function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code, signal })
    })
    child.stdin.on('error', () => {}) // the command may exit before reading its input
    child.stdin.end(opts.input ?? '')
  })
}

/** Like `run`, but throws a LabError naming the command and its stderr when the exit code is not 0. */
export async function mustRun(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await run(cmd, args, opts)
  if (r.code !== 0) {
    const why = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`
    throw new LabError('COMMAND_FAILED', `${[cmd, ...args].join(' ')}: ${why}: ${r.stderr.trim() || r.stdout.trim()}`)
  }
  return r
}

// Non-root users often lack /usr/sbin in PATH, where Debian puts ip and nft.
const SBIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin']

/** Absolute path of an executable from PATH or the sbin directories, or null when it is not installed. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN]
  for (const d of dirs) {
    const p = join(d, name)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {}
  }
  return null
}

export type ProbeEvent = Record<string, unknown>

/**
 * Reads the JSON-lines stdout of a child process (one object per line, others ignored) into `events`, keeps its
 * stderr for failure messages, and lets a test wait for a particular event or for the exit.
 */
export class EventReader {
  readonly events: ProbeEvent[] = []
  stderr = ''
  code: number | null | undefined = undefined
  private readonly waiters = new Set<() => void>()
  private readonly closed: Promise<number | null>

  constructor(readonly child: ChildProcess) {
    if (!child.stdout) throw new LabError('COMMAND_FAILED', 'child has no stdout pipe')
    const rl = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY })
    rl.on('line', (line) => {
      if (!line.startsWith('{')) return
      try {
        this.events.push(JSON.parse(line) as ProbeEvent)
      } catch {
        return
      }
      this.wake()
    })
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr += b.toString()
    })
    this.closed = new Promise((resolve) => {
      child.on('error', (e) => {
        this.stderr += String(e)
        this.code = null
        this.wake()
        resolve(null)
      })
      child.on('close', (code) => {
        this.code = code
        this.wake()
        resolve(code)
      })
    })
  }

  private wake(): void {
    for (const w of [...this.waiters]) w()
  }

  /** Resolves with the first event (seen so far or later) matching `pred`; rejects on exit or timeout. */
  waitFor(pred: (e: ProbeEvent) => boolean, timeoutMs = 10_000): Promise<ProbeEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.find(pred)
        if (hit) return finish(() => resolve(hit))
        if (this.code !== undefined)
          finish(() => reject(new LabError('COMMAND_FAILED', `exited (${this.code}) first; ${this.describe()}`)))
      }
      const timer = setTimeout(
        () => finish(() => reject(new LabError('TIMEOUT', `no such event in ${timeoutMs} ms; ${this.describe()}`))),
        timeoutMs,
      )
      const finish = (f: () => void) => {
        clearTimeout(timer)
        this.waiters.delete(check)
        f()
      }
      this.waiters.add(check)
      check()
    })
  }

  /** Waits for the process to exit by itself; after `timeoutMs` it is killed (SIGKILL). Resolves with the code. */
  async exit(timeoutMs = 20_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    try {
      return await this.closed
    } finally {
      clearTimeout(timer)
    }
  }

  /** Events whose `event` field is `name`. */
  named(name: string): ProbeEvent[] {
    return this.events.filter((e) => e.event === name)
  }

  /** A short description for assertion messages: exit code and the tail of stderr. */
  /** Exit code, the tail of stderr and the last events: enough to tell from a CI log where a run stopped. */
  describe(): string {
    const trail = this.events
      .slice(-12)
      .map((e) => JSON.stringify(e).slice(0, 300))
      .join('\n    ')
    return `exit=${this.code}, stderr=${JSON.stringify(this.stderr.slice(-600))}, last events:\n    ${trail}`
  }
}
