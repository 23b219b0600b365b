// `mainline magnet <uri>`: turn a magnet link into a .torrent. Peers come from the DHT and the link's x.pe; the info
// dictionary comes from them over BEP 9 and is checked against the infohash before anything is written.
import { writeFileSync } from 'node:fs'
import { toHex } from '../codec/bytes.js'
import { CodecError } from '../codec/errors.js'
import { type MagnetLink, parseMagnet } from '../codec/magnet.js'
import { encodeMetainfo, type Metainfo, parseInfo } from '../codec/metainfo.js'
import type { Endpoint } from '../net/types.js'
import type { MetadataResult } from '../swarm/metadata.js'
import { SwarmNode } from '../swarm/node.js'
import { bootstrapEntries, parseOptions } from './args.js'
import type { CommandGroup } from './command.js'
import { PUBLIC_ROUTERS } from './dht-args.js'
import { type Output, oneLine, parseHostPort, parseSeconds, quote, UsageError } from './output.js'
import { human, summary } from './torrent.js'

const HELP = `mainline magnet: fetch a torrent's metadata (BEP 9) from a magnet link and write the .torrent

Usage:
  mainline magnet <uri> [-o FILE] [--bootstrap H:P]... [--timeout S] [--host H] [--port P] [--json]

Finds peers for the link's infohash through the DHT (bootstrapped from --bootstrap, repeatable or a comma-
separated list; default the public routers; --bootstrap none for no DHT) and the link's x.pe peers, connects
over uTP or TCP, fetches the info dictionary from several peers at once and checks it against the infohash.
Writes the .torrent (the info dictionary, the link's trackers as its announce list, its ws as url-list) to FILE,
default <name>.torrent in the current directory (never overwriting a file: give -o to replace one), and prints
name, total size, files, piece length, v1/v2, infohashes, the peers the metadata came from and how long it took.
A v2 or hybrid .torrent made this way has no piece layers (BEP 9 carries the info dictionary only).

On a terminal a progress line on stderr shows peers found, connections and pieces. With --json: events
peer {host, port, source}, connected {host, port, transport}, piece {piece, pieces, host, port},
dropped {host, port, reason}, and done {file, name, …, from, elapsedMs}.

--timeout    give up after S seconds (default 60): exit 1 with what was found.
--host/port  where our node listens (default 0.0.0.0 and a free port).
Exit codes: 0 written, 1 nothing found in time (or the file could not be written), 2 a malformed link or usage.

Example:
  mainline magnet 'magnet:?xt=urn:btih:…&dn=…' -o photos.torrent`

/** The .torrent for fetched metadata: the verified info bytes as they are, the link's trackers and web seeds. */
export function torrentFromMetadata(info: Uint8Array, link: Pick<MagnetLink, 'trackers' | 'webSeeds'>): Metainfo {
  const m: Metainfo = { info: parseInfo(info), extra: Object.create(null), createdBy: 'mainline' }
  if (link.trackers.length > 0) {
    m.announce = link.trackers[0]
    // One tier per tracker, in the link's order (what libtorrent does with a magnet's tr).
    if (link.trackers.length > 1) m.announceList = link.trackers.map((t) => [t])
  }
  if (link.webSeeds.length > 0) m.urlList = link.webSeeds
  return m
}

/**
 * A file name from the torrent's name, which a remote peer chose: no directories, no control characters, no
 * leading dot, bounded length.
 */
export function safeFileName(name: string, fallback: string): string {
  const cleaned = name
    .replace(/[\u0000-\u001f\u007f/\\]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim()
    .slice(0, 200)
  return `${cleaned || fallback}.torrent`
}

function endpointKey(p: Endpoint): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}

async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseOptions(
    argv,
    {
      output: { type: 'string', short: 'o' },
      bootstrap: { type: 'string', multiple: true },
      timeout: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  )
  if (positionals.length !== 1) throw new UsageError('magnet takes one argument: the magnet link (quote it)')
  let link: MagnetLink
  try {
    link = parseMagnet(positionals[0])
  } catch (e) {
    if (!(e instanceof CodecError)) throw e
    out.error(`magnet: malformed link: ${oneLine(e.message.replace(/^magnet: /, ''))} [${e.code}]`)
    return 2
  }
  const port = values.port === undefined ? 0 : Number(values.port)
  if (!/^\d+$/.test(values.port ?? '0') || port > 65535) {
    throw new UsageError(`--port must be 0..65535, got ${quote(values.port ?? '')}`)
  }
  const entries = bootstrapEntries(values.bootstrap)
  const bootstrap = entries === 'none' ? [] : (entries ?? PUBLIC_ROUTERS).map((s) => parseHostPort(s, { names: true }))
  const timeout = parseSeconds(values.timeout, 60)
  const ihHex = toHex((link.infoHash ?? link.infoHashV2) as Uint8Array)

  const node = new SwarmNode({
    host: values.host ?? '0.0.0.0',
    port,
    dht: bootstrap.length ? { bootstrap } : false,
    swarm: { autoDial: false },
  })
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), timeout * 1000)
  let interrupted = false
  const stop = () => {
    interrupted = true
    ac.abort()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)

  const peers = new Set<string>()
  const connected = new Set<string>()
  let got = 0
  let total = 0
  const tty = !out.json && Boolean(process.stderr.isTTY)
  const line = () => {
    if (tty)
      process.stderr.write(
        `\rpeers ${peers.size}  connected ${connected.size}  pieces ${got}/${total || '?'}  (${ihHex.slice(0, 12)}…)\x1b[K`,
      )
  }
  node.on('metadata:peer', (e) => {
    peers.add(endpointKey(e.peer))
    if (out.json) out.jsonEvent('peer', { host: e.peer.host, port: e.peer.port, source: e.source })
    line()
  })
  node.on('metadata:connected', (e) => {
    connected.add(endpointKey(e.peer))
    if (out.json) out.jsonEvent('connected', { host: e.peer.host, port: e.peer.port, transport: e.transport })
    line()
  })
  node.on('metadata:piece', (e) => {
    got = e.received
    total = e.pieces
    if (out.json) out.jsonEvent('piece', { piece: e.piece, pieces: e.pieces, host: e.peer.host, port: e.peer.port })
    line()
  })
  node.on('metadata:dropped', (e) => {
    if (out.json) out.jsonEvent('dropped', { host: e.peer.host, port: e.peer.port, reason: e.reason })
  })

  let result: MetadataResult | undefined
  let failure: string | undefined
  try {
    await node.listen()
    line()
    // The link itself: node.metadata reads its infohashes (v1 or v2) and x.pe peers.
    result = await node.metadata(positionals[0], { signal: ac.signal })
  } catch (e) {
    const err = e as Error & { code?: string }
    const counts = `${peers.size} peers found, ${connected.size} connected, ${got} pieces received`
    // The timeout, or every peer source exhausted before it (NOT_FOUND): both are "nothing found".
    failure = interrupted
      ? 'interrupted'
      : ac.signal.aborted || err.code === 'ABORTED'
        ? `no metadata for ${ihHex} within ${timeout} s: ${counts}`
        : err.code === 'NOT_FOUND'
          ? `no metadata for ${ihHex}: ${oneLine(err.message)}; ${counts}`
          : `${oneLine(err.message)}${err.code ? ` (${err.code})` : ''}`
  } finally {
    clearTimeout(timer)
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    if (tty) process.stderr.write('\n')
    await node.close()
  }
  if (result === undefined) {
    out.error(`magnet: ${failure}`)
    return 1
  }

  const m = torrentFromMetadata(result.info, link)
  const file = values.output ?? safeFileName(m.info.name, ihHex)
  try {
    // A name a peer chose never replaces a file of the user's; -o says the user chose.
    writeFileSync(file, encodeMetainfo(m), { flag: values.output === undefined ? 'wx' : 'w' })
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    out.error(
      `magnet: cannot write ${quote(file)}: ${err.code === 'EEXIST' ? 'it exists (give -o FILE to choose or replace a file)' : err.message}`,
    )
    return 1
  }
  const s = summary(m)
  const from = result.from.map(endpointKey)
  const text = [
    `wrote ${file}`,
    human(s, m),
    `metadata      ${m.info.bytes.length} B from ${from.join(' ') || '?'} in ${seconds(result.elapsedMs)}`,
  ].join('\n')
  out.event('done', { file, ...s, metadataSize: m.info.bytes.length, from, elapsedMs: result.elapsedMs }, text)
  return 0
}

export const group: CommandGroup = {
  summary: 'fetch a magnet link’s metadata from the DHT and peers, write the .torrent',
  help: HELP,
  run,
}
