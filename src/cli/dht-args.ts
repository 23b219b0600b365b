// Argument parsing for `mainline dht`: shared options, bootstrap lists, infohashes and node ids.
import { fromHex } from '../codec/bytes.js'
import { PUBLIC_BOOTSTRAP } from '../dht/bootstrap.js'
import type { Endpoint } from '../net/types.js'
import { bootstrapEntries, parseOptions } from './args.js'
import { parseHostPort, parseSeconds, quote, UsageError } from './output.js'

/** Used when no --bootstrap is given. Tests always pass --bootstrap. */
export const PUBLIC_ROUTERS = PUBLIC_BOOTSTRAP

/** Options every dht command accepts. */
const COMMON = {
  json: { type: 'boolean' },
  host: { type: 'string' },
  host6: { type: 'string' },
  port: { type: 'string' },
  bootstrap: { type: 'string', multiple: true },
  timeout: { type: 'string' },
} as const

type Extra = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>

export interface Parsed {
  positionals: string[]
  values: Record<string, string | boolean | string[] | undefined>
}

/** Parses one command's argv: the common options plus `extra`; unknown options are usage errors (exit 2). */
export function parse(argv: string[], extra: Extra = {}, positionals = 0): Parsed {
  const { values, positionals: pos } = parseOptions(argv, { ...COMMON, ...extra }, true)
  if (pos.length !== positionals)
    throw new UsageError(`expected ${positionals} argument${positionals === 1 ? '' : 's'}, got ${pos.length}`)
  return { positionals: pos, values: values as Parsed['values'] }
}

/**
 * `--bootstrap H:P` (repeatable, and each a comma-separated list; names allowed), `--bootstrap none` for none,
 * default the public routers.
 */
export function bootstrapList(values: Parsed['values']): string[] {
  const entries = bootstrapEntries(values.bootstrap as string[] | undefined)
  if (entries === undefined) return [...PUBLIC_ROUTERS]
  if (entries === 'none') return []
  for (const b of entries) parseHostPort(b, { names: true })
  return entries
}

/** A port option: 0..65535 (0 = ephemeral). */
export function portOption(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback
  const n = Number(v)
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n > 65535)
    throw new UsageError(`${name} must be a port 0..65535, got ${quote(String(v))}`)
  return n
}

/** A 40-hex-digit infohash or node id. */
export function hash20(s: string, what: string): Uint8Array {
  if (!/^[0-9a-fA-F]{40}$/.test(s)) throw new UsageError(`${what} must be 40 hex digits, got ${quote(s)}`)
  return fromHex(s.toLowerCase())!
}

export function timeoutMs(values: Parsed['values'], fallbackSeconds: number | undefined): number | undefined {
  const t = values.timeout as string | undefined
  if (t === undefined && fallbackSeconds === undefined) return undefined
  return parseSeconds(t, fallbackSeconds ?? 0) * 1000
}

export function endpoint(s: string): Endpoint {
  return parseHostPort(s)
}
