// A DHT node for one `mainline dht …` command: arguments checked first, the --timeout (or Ctrl-C) armed before
// start-up, and failures turned into one line on stderr with exit code 1.
import { DHT, DHTError } from '../dht/index.js'
import { FileStateStorage } from '../dht/state-file.js'
import type { Endpoint } from '../net/types.js'
import { type Parsed, timeoutMs } from './dht-args.js'
import { type Output, oneLine, UsageError } from './output.js'

export interface Session {
  dht: DHT
  signal: AbortSignal
  timedOut: () => boolean
  close(): Promise<void>
}

/** The --timeout (or, for `node`, Ctrl-C) ended the command while the node was still starting. */
export class StartupAborted extends Error {}

/** `--state FILE`: checked before anything starts, so that a bad path is a one-line usage error (exit 2). */
async function stateOption(v: unknown): Promise<FileStateStorage | undefined> {
  if (v === undefined) return undefined
  if (v === '') throw new UsageError('--state needs a file path')
  try {
    const storage = new FileStateStorage(v as string)
    await storage.check()
    return storage
  } catch (err) {
    if (err instanceof DHTError) throw new UsageError(err.message)
    throw err
  }
}

/**
 * Starts a node for one command. Every argument is checked first; then the --timeout is armed (and, with
 * `untilSignal`, Ctrl-C / SIGTERM are caught) before start-up begins, so they cover it too.
 */
export async function open(
  p: Parsed,
  out: Output,
  defaults: { port: number; timeoutS?: number; readOnly?: boolean; untilSignal?: boolean },
  bootstrap: string[],
): Promise<Session> {
  const ms = timeoutMs(p.values, defaults.timeoutS)
  const host = (p.values.host as string | undefined) ?? '0.0.0.0'
  const host6 = p.values.host6 as string | undefined
  if (host6 !== undefined && (!host6.includes(':') || host.includes(':')))
    throw new UsageError('--host6 takes an IPv6 address, next to an IPv4 --host')
  const state = await stateOption(p.values.state)
  const ac = new AbortController()
  let timedOut = false
  const timer =
    ms === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true
          ac.abort()
        }, ms)
  const stop = () => ac.abort()
  if (defaults.untilSignal) {
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  }
  const disarm = () => {
    clearTimeout(timer)
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
  const dht = new DHT({
    host,
    host6,
    family: host6 !== undefined ? 'dual' : host.includes(':') ? 6 : 4,
    port: defaults.port,
    bootstrap,
    state,
    // One-shot commands run read-only (BEP 43): other nodes do not table a node that is about to vanish.
    readOnly: defaults.readOnly ?? false,
  })
  // Warnings (a state file that cannot be written…) matter under a service manager too: always on stderr.
  dht.on('warning', (err) => out.error(`warning: ${oneLine(err.message)}`))
  try {
    await raceAbort(dht.listen(), ac.signal)
  } catch (err) {
    disarm()
    await dht.destroy().catch(() => {})
    if (ac.signal.aborted) throw new StartupAborted(timedOut ? 'timed out' : 'interrupted')
    throw err
  }
  return {
    dht,
    signal: ac.signal,
    timedOut: () => timedOut,
    async close() {
      disarm()
      await dht.destroy()
    },
  }
}

/** Resolves when the session's bootstrap finishes, or rejects when it times out first. */
export async function bootstrapped(s: Session, out: Output): Promise<void> {
  out.progress('bootstrapping…')
  await raceAbort(s.dht.bootstrapped(), s.signal)
  out.progress(`bootstrapped: ${s.dht.stats().nodes.v4 + s.dht.stats().nodes.v6} nodes in the routing table`)
}

export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('timed out'))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('timed out'))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}

/** Runs `body`, turning a timeout (or any failure) into a message on stderr and exit code 1. */
export async function guarded(s: Session, out: Output, what: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body()
  } catch (err) {
    if (s.timedOut()) out.error(`${what} timed out`)
    else out.error(`${what} failed: ${(err as Error).message}`)
    return 1
  } finally {
    await s.close()
  }
}

export function peerText(p: Endpoint): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`
}
