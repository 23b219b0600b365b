// CLI output contract: with --json, one JSON object per line on stdout, each with an "event" key; otherwise short
// human lines. Errors always go to stderr.
import { isIP } from 'node:net'
import { toHex } from '../codec/bytes.js'

/** Turns values into JSON-safe ones: bytes as hex, bigint as string, Maps as objects. */
export function jsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v)
  if (typeof v === 'bigint') return v.toString()
  if (Array.isArray(v)) return v.map(jsonSafe)
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), jsonSafe(x)]))
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = jsonSafe(x)
    return out
  }
  return v
}

export class Output {
  constructor(
    readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Emits one event: a JSON line with --json, else the human text (or a compact key=value rendering). */
  event(event: string, fields: Record<string, unknown> = {}, human?: string): void {
    if (this.json) {
      this.jsonEvent(event, fields)
      return
    }
    if (human !== undefined) {
      this.out.write(`${human}\n`)
      return
    }
    const parts = Object.entries(jsonSafe(fields) as Record<string, unknown>).map(
      ([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`,
    )
    this.out.write(`${event}${parts.length ? ` ${parts.join(' ')}` : ''}\n`)
  }

  /** Emits one event as a JSON line in either mode, for commands whose output is the JSON itself. */
  jsonEvent(event: string, fields: Record<string, unknown> = {}): void {
    this.out.write(`${JSON.stringify({ event, ...(jsonSafe(fields) as object) })}\n`)
  }

  /** Progress for a person watching: only when stderr is a terminal, never in --json mode. */
  progress(text: string): void {
    if (!this.json && (this.err as NodeJS.WriteStream).isTTY) this.err.write(`${text}\n`)
  }

  error(text: string): void {
    this.err.write(`mainline: ${text}\n`)
  }
}

/** Longest piece of user input quoted in a message. */
const SHOWN = 60

/** `s` quoted for a message, cut to a readable length (a 131 KB argument must not come back whole). */
export function quote(s: string, max = SHOWN): string {
  if (s.length <= max) return JSON.stringify(s)
  return `${JSON.stringify(s.slice(0, max))}… (${s.length} characters)`
}

/** A message made one line and of bounded length, whatever went into it. */
export function oneLine(text: string, max = 400): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ')
  return flat.length <= max ? flat : `${flat.slice(0, max)}…`
}

/** A usage mistake: printed with a hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/**
 * Parses `ip:port` or `[ipv6]:port`. Host names are accepted only with `names` (DHT bootstrap nodes, which are
 * resolved); peers, relays and targets are named by IP address, as the wire protocols name them.
 */
export function parseHostPort(s: string, opts: { names?: boolean } = {}): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s)
  if (!m) throw new UsageError(`expected host:port, got ${quote(s)}`)
  const port = Number(m[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port in ${quote(s)}`)
  if (!opts.names && isIP(m[1]) === 0) {
    throw new UsageError(`${quote(s)}: give an IP address (host names are accepted only for --bootstrap)`)
  }
  return { host: m[1], port }
}

/** Parses a number of seconds (positive) given to option `name` (default --timeout). */
export function parseSeconds(s: string | undefined, fallback: number, name = '--timeout'): number {
  if (s === undefined) return fallback
  const n = Number(s)
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${name} must be a positive number of seconds, got ${quote(s)}`)
  return n
}
