// Spawns the `mainline` CLI from source (through tsx) and collects its output; kills it if it overruns.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON lines (only meaningful with --json). */
  events: Array<Record<string, unknown> & { event: string }>
}

export interface CliOptions {
  /** Written to the CLI's stdin (default: none, stdin ignored). */
  input?: string
  /** Extra environment variables. */
  env?: Record<string, string>
  /** A command the CLI runs under, e.g. ['unshare', '-m', 'sh', '-c', 'mount … && exec "$@"', 'sh']. */
  prefix?: string[]
}

/** Runs `mainline ...args`; a run still going after `killAfterMs` is killed (and reported with signal SIGKILL). */
export function runCli(args: string[], killAfterMs = 30_000, opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, '--import', 'tsx', MAIN, ...args]
    const [cmd, ...rest] = opts.prefix ? [...opts.prefix, ...argv] : argv
    const child = spawn(cmd, rest, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0', ...opts.env },
    })
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => {})
      child.stdin?.end(opts.input)
    }
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const events = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as CliResult['events'][number])
      resolve({ code, signal, stdout, stderr, events })
    })
  })
}
