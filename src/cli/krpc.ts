// `mainline krpc decode <hex>`: parse one KRPC packet and show it. Byte strings (ids, tokens, compact lists) are
// hex; method names and error messages are text; compact addresses and lists are also shown decoded.
import { readFileSync } from 'node:fs'
import { fromHex, isPrintableAscii, toHex } from '../codec/bytes.js'
import { type CompactNode, decodeNodes, decodePeer, decodePeerValues } from '../codec/compact.js'
import { KrpcError, type KrpcMessage, parseKrpc } from '../codec/krpc.js'
import { parseOptions } from './args.js'
import type { CommandGroup } from './command.js'
import { type Output, oneLine, quote, UsageError } from './output.js'

const HELP = `mainline krpc: decode KRPC (BEP 5 DHT) packets

Usage:
  mainline krpc decode <hex|-> [--json]

  Parses one KRPC message given as hex ("-" reads the hex from stdin; whitespace is ignored) and prints it as
  one JSON line {"event":"krpc","y":…,"t":…,…} (with or without --json) mirroring the wire keys, byte strings
  as hex, plus a "decoded" object (client version, ip, nodes, peers in readable form).
  A malformed packet prints the error with its KRPC code (203) and the codec reason on stderr and exits 1;
  so does input that is not hex. A missing argument is a usage error (exit 2).

Examples:
  mainline krpc decode 64313a6164323a696432303a414141414141414141414141414141414141414165313a71343a70696e67313a74323a6161313a79313a7165
  mainline krpc decode - --json < packet.hex`

/**
 * A readable client version. libtorrent sends "LT" + major + (minor << 4 | tiny); other clients use two letters
 * and two version bytes too, in their own schemes, so those are shown as letters + hex.
 */
export function describeVersion(v: Uint8Array): string {
  if (isPrintableAscii(v)) return v.length ? String.fromCharCode(...v) : '(empty)'
  if (v.length === 4 && isPrintableAscii(v.subarray(0, 2))) {
    const name = String.fromCharCode(v[0], v[1])
    if (name === 'LT') return `LT ${v[2]}.${v[3] >> 4}.${v[3] & 15}`
    return `${name} ${toHex(v.subarray(2))}`
  }
  return toHex(v)
}

function endpoint(p: { host: string; port: number }): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`
}

function nodeList(n: CompactNode[]): { id: string; addr: string }[] {
  return n.map((x) => ({ id: toHex(x.id), addr: endpoint(x) }))
}

/** Readable forms of the compact fields (each one only when it decodes cleanly). */
function decoded(m: KrpcMessage): Record<string, unknown> {
  const d: Record<string, unknown> = {}
  if (m.v) d.client = describeVersion(m.v)
  if (m.ip) d.ip = endpoint(decodePeer(m.ip))
  if (m.y === 'r') {
    if (m.r.nodes) d.nodes = nodeList(decodeNodes(m.r.nodes, 4))
    if (m.r.nodes6) d.nodes6 = nodeList(decodeNodes(m.r.nodes6, 6))
    if (m.r.values) d.values = decodePeerValues(m.r.values).map(endpoint)
  }
  return d
}

async function decodeCommand(args: string[], out: Output): Promise<number> {
  const { positionals } = parseOptions(args, { json: { type: 'boolean' } }, true)
  if (positionals.length !== 1) throw new UsageError('krpc decode takes one argument: the packet as hex (or -)')
  const text = positionals[0] === '-' ? readFileSync(0, 'utf8') : positionals[0]
  const hex = text.replace(/\s+/g, '')
  const bytes = fromHex(hex)
  if (!bytes) {
    // Bad input, not bad usage: exit 1 like any other malformed packet.
    const why = /[^0-9a-f]/i.test(hex) ? 'non-hex characters' : hex.length % 2 ? 'an odd number of digits' : 'nothing'
    out.error(`krpc: the packet must be hex (an even number of 0-9a-f digits), got ${why}`)
    return 1
  }
  let m: KrpcMessage
  try {
    m = parseKrpc(bytes)
  } catch (e) {
    if (!(e instanceof KrpcError)) throw e
    // The transaction id as hex, cut: a hostile packet's `t` can be megabytes.
    const tid = e.tid ? toHex(e.tid.subarray(0, 32)) : ''
    const t = e.tid ? ` t=${tid}${e.tid.length > 32 ? `… (${e.tid.length} bytes)` : ''}` : ''
    out.error(oneLine(`krpc: ${e.krpcCode} ${e.reason} [${e.code}${e.offset >= 0 ? ` at byte ${e.offset}` : ''}]${t}`))
    return 1
  }
  // One JSON line in both modes: the decoded packet is structured data, and byte strings are hex either way.
  out.jsonEvent('krpc', { ...m, decoded: decoded(m) })
  return 0
}

export const group: CommandGroup = {
  summary: 'decode KRPC (DHT) packets',
  help: HELP,
  async run(argv: string[], out: Output): Promise<number> {
    const [cmd, ...rest] = argv
    if (cmd === 'decode') return decodeCommand(rest, out)
    throw new UsageError(`unknown krpc command ${quote(cmd ?? '')}`)
  },
}
