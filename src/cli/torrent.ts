// `mainline torrent info|create`: read a .torrent (and its infohashes), or make one from a file or a directory.
import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { CodecError } from '../codec/errors.js'
import { type Metainfo, type MetainfoVersion, parseMetainfo } from '../codec/metainfo.js'
import { createTorrent, infoHashHex } from '../torrent/create.js'
import { badPieceLayers, infoHashes } from '../torrent/hash.js'
import { parseOptions } from './args.js'
import type { CommandGroup } from './command.js'
import { type Output, quote, UsageError } from './output.js'

const HELP = `mainline torrent: read and make .torrent (metainfo) files, v1 (BEP 3), v2 and hybrid (BEP 52)

Usage:
  mainline torrent info <file.torrent> [--json]
  mainline torrent create <path> [-o FILE] [--piece-length N] [--tracker URL]... [--v1|--v2|--hybrid]
                          [--comment TEXT] [--private] [--json]

info     Shows name, total size, piece length, version (v1, v2 or hybrid), infohashes, trackers and files.
         --json prints one {"event":"torrent",…} line. A malformed file exits 1 with the reason.
create   Hashes the file or directory (streamed, one read for both v1 and v2) and writes the .torrent to FILE
         (default: <name>.torrent in the current directory). Default hybrid; --piece-length is a power of two
         ≥ 16384 (default: the smallest giving ≤ 1500 pieces). On a terminal a progress line shows on stderr;
         with --json progress events are {"event":"progress",…} and the result {"event":"created",…}.

Examples:
  mainline torrent create ./photos --tracker udp://tracker.example:6969 -o photos.torrent
  mainline torrent info photos.torrent --json`

export function summary(m: Metainfo): Record<string, unknown> {
  const i = m.info
  const hashes = infoHashHex(infoHashes(i))
  return {
    name: i.name,
    version: i.version,
    totalSize: i.totalLength,
    pieceLength: i.pieceLength,
    pieces: i.pieces ? i.pieces.length / 20 : i.files.reduce((n, f) => n + Math.ceil(f.length / i.pieceLength), 0),
    files: i.files.map((f) => ({ path: f.path.join('/'), length: f.length })),
    infoHashV1: hashes.v1,
    infoHashV2: hashes.v2,
    private: i.private,
    trackers: m.announceList ?? (m.announce ? [[m.announce]] : []),
    webSeeds: m.urlList,
    comment: m.comment,
    createdBy: m.createdBy,
    creationDate: m.creationDate,
  }
}

export function size(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]} (${n} B)`
}

export function human(s: Record<string, unknown>, m: Metainfo): string {
  const lines = [
    `name          ${s.name}`,
    `version       ${s.version}`,
    `total size    ${size(m.info.totalLength)}`,
    `piece length  ${size(m.info.pieceLength)}`,
  ]
  if (s.infoHashV1) lines.push(`infohash v1   ${s.infoHashV1}`)
  if (s.infoHashV2) lines.push(`infohash v2   ${s.infoHashV2}`)
  if (m.info.private) lines.push('private       yes')
  for (const tier of s.trackers as string[][]) lines.push(`tracker       ${tier.join(' ')}`)
  if (m.comment) lines.push(`comment       ${m.comment}`)
  lines.push(`files         ${m.info.files.length}`)
  for (const f of m.info.files) lines.push(`  ${f.path.join('/')}  ${f.length}`)
  return lines.join('\n')
}

async function info(args: string[], out: Output): Promise<number> {
  const { positionals } = parseOptions(args, { json: { type: 'boolean' } }, true)
  if (positionals.length !== 1) throw new UsageError('torrent info takes one argument: the .torrent file')
  let m: Metainfo
  try {
    m = parseMetainfo(new Uint8Array(readFileSync(positionals[0])))
  } catch (e) {
    if (!(e instanceof CodecError)) throw e
    out.error(`torrent: ${quote(positionals[0])}: ${e.message} [${e.code}]`)
    return 1
  }
  const bad = badPieceLayers(m)
  if (bad.length > 0 && m.pieceLayers) {
    out.error(`torrent: ${quote(positionals[0])}: piece layers do not match the pieces root of ${bad.join(', ')}`)
    return 1
  }
  const s = summary(m)
  out.event('torrent', s, human(s, m))
  return 0
}

function parsePieceLength(v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  // Math.log2, not n & (n - 1): bitwise operators cut to 32 bits and would pass 2^32 + 2^31.
  if (!Number.isSafeInteger(n) || n < 16384 || !Number.isInteger(Math.log2(n)))
    throw new UsageError(`--piece-length must be a power of two ≥ 16384, got ${quote(v)}`)
  return n
}

async function create(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseOptions(
    args,
    {
      json: { type: 'boolean' },
      output: { type: 'string', short: 'o' },
      'piece-length': { type: 'string' },
      tracker: { type: 'string', multiple: true },
      comment: { type: 'string' },
      private: { type: 'boolean' },
      v1: { type: 'boolean' },
      v2: { type: 'boolean' },
      hybrid: { type: 'boolean' },
    },
    true,
  )
  if (positionals.length !== 1) throw new UsageError('torrent create takes one argument: the file or directory')
  const chosen = (['v1', 'v2', 'hybrid'] as const).filter((k) => values[k])
  if (chosen.length > 1) throw new UsageError('give at most one of --v1, --v2, --hybrid')
  const version: MetainfoVersion = chosen[0] ?? 'hybrid'
  const pieceLength = parsePieceLength(values['piece-length'])
  const path = positionals[0]
  const file = values.output ?? `${basename(path)}.torrent`
  const tty = !out.json && process.stderr.isTTY
  let last = 0
  let lastBytes = -1
  const r = await createTorrent(path, {
    version,
    pieceLength,
    trackers: values.tracker ?? [],
    comment: values.comment,
    private: values.private,
    onProgress: (p) => {
      const now = Date.now()
      if (p.bytesHashed === lastBytes || (now - last < 250 && p.bytesHashed < p.totalBytes)) return
      last = now
      lastBytes = p.bytesHashed
      const pct = p.totalBytes ? Math.floor((100 * p.bytesHashed) / p.totalBytes) : 100
      if (out.json) out.jsonEvent('progress', { bytesHashed: p.bytesHashed, totalBytes: p.totalBytes, file: p.file })
      else if (tty) process.stderr.write(`\rhashing ${pct}%  ${p.bytesHashed}/${p.totalBytes} B  ${p.file}\x1b[K`)
    },
  })
  if (tty) process.stderr.write('\n')
  writeFileSync(file, r.torrent)
  const s = summary(r.metainfo)
  out.event('created', { file, ...s }, `wrote ${file}\n${human(s, r.metainfo)}`)
  return 0
}

export const group: CommandGroup = {
  summary: 'read and make .torrent files (v1, v2, hybrid)',
  help: HELP,
  async run(argv: string[], out: Output): Promise<number> {
    const [cmd, ...rest] = argv
    if (cmd === 'info') return info(rest, out)
    if (cmd === 'create') return create(rest, out)
    throw new UsageError(`unknown torrent command ${JSON.stringify(cmd)}`)
  },
}
