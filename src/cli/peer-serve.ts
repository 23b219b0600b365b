// `mainline peer serve` on a SwarmNode: one port (UDP for uTP and the DHT, TCP on the same number), accepting
// and making connections, PEX, the BEP 55 relay role — and with --bootstrap, joining the DHT and announcing the
// torrent there (again every --announce-interval seconds).
import { readFileSync } from 'node:fs'
import { toHex } from '../codec/bytes.js'
import { CodecError } from '../codec/errors.js'
import { type Metainfo, parseMetainfo } from '../codec/metainfo.js'
import type { PexPeer } from '../codec/pex.js'
import type { PortMapProtocol } from '../net/portmap/errors.js'
import type { Endpoint } from '../net/types.js'
import { SwarmNode } from '../swarm/node.js'
import { infoHashes } from '../torrent/hash.js'
import { bootstrapEntries, parseOptions } from './args.js'
import { type Output, parseHostPort, parseSeconds, quote, UsageError } from './output.js'
import { describeConnection, errorFields, parseInfoHash, parsePeerId, reportPortMap, sleep } from './peer-common.js'

export const SERVE_HELP = `  mainline peer serve (--infohash <hex> | --torrent FILE) [--port P] [--host H] [--connect H:P]...
                      [--bootstrap H:P]... [--auto-dial] [--pex-interval S] [--announce-interval S]
                      [--peer-id <hex>] [--timeout S] [--no-portmap | --portmap-protocols LIST] [--json]
      Listen on one port (default 0.0.0.0, a free one): UDP for uTP (and the DHT), TCP on the same number. Dial
      each --connect peer (uTP first, TCP beside it after 1.5 s), exchange PEX (every 60 s by default), relay
      holepunch rendezvous, and act on a relay's connect (punch). With --bootstrap, join the DHT through those
      nodes and announce the torrent (every --announce-interval, default 300 s). --bootstrap is repeatable or a comma-
      separated list, as for the dht commands; without it, or with --bootstrap none, no DHT. Runs until the
      timeout (default: until interrupted). (--utp is accepted for compatibility: uTP is always on.)
      Unless --no-portmap (or --host is a loopback address), ask the router to forward the port, UDP and TCP
      (PCP, then NAT-PMP, then UPnP IGD; docs/portmap.md): then peers dial us directly and the DHT announce
      carries the external port; mappings are deleted on exit. --portmap-protocols: which to try, in order (a
      comma-separated list of pcp, natpmp, upnp).
      With --torrent FILE (a .torrent), serve its metadata (BEP 9: metadata_size and ut_metadata in the
      extended handshake, pieces on request) for its infohash (v1, or v2 truncated to 20 bytes), so that a
      client given only the magnet link can fetch it from us; mainline magnet does.
      Events: listening {host, port, peerId, infoHash (with --torrent), nat {kind, external, portMapping}}
      (kind is 'unknown' until DHT nodes have reported how they see us; see mainline nat), reachability
      {kind, external, portMapping} when it changes, connected / disconnected {host, port, peerId, direction,
      transport, …}, pex {from, added, dropped}, hp_rendezvous, hp_relayed, hp_error (one we sent),
      hp_error_received (one a relay sent us), hp_connect,
      hp_connected {host, port, transport, ms}, hp_failed {host, port, reason}, dht_ready {nodes},
      announced {nodes}, connect_failed {host, port, reason}, portmap_mapped / portmap_renewed /
      portmap_removed {protocol, host, port, internalPort, lifetime, via}, portmap_failed {protocol, reason,
      message, attempts}.`

function peerList(peers: readonly { host: string; port: number; flags?: number }[]): unknown[] {
  return peers.map((p) =>
    p.flags === undefined ? { host: p.host, port: p.port } : { host: p.host, port: p.port, flags: p.flags },
  )
}

function portMapOption(list: string | undefined): { protocols: PortMapProtocol[] } | undefined {
  if (list === undefined) return undefined
  const protocols = list.split(',').filter(Boolean)
  const known = ['pcp', 'natpmp', 'upnp']
  const bad = protocols.find((p) => !known.includes(p))
  if (bad !== undefined || protocols.length === 0)
    throw new UsageError(`--portmap-protocols takes a list of pcp, natpmp, upnp; got ${quote(list)}`)
  return { protocols: protocols as PortMapProtocol[] }
}

/** The torrent in `file`, or null (reported) when it cannot be read or parsed. */
function readTorrent(file: string, out: Output): Metainfo | null {
  try {
    return parseMetainfo(new Uint8Array(readFileSync(file)))
  } catch (e) {
    if (!(e instanceof CodecError) && (e as NodeJS.ErrnoException).code === undefined) throw e
    out.error(`peer serve: ${quote(file)}: ${(e as Error).message}`)
    return null
  }
}

/** The swarm's 20-byte infohash: v1's, or v2's truncated (BEP 52) for a v2-only torrent. */
function torrentInfoHash(m: Metainfo): Uint8Array {
  const h = infoHashes(m.info)
  return h.v1 ?? (h.v2 as Uint8Array).subarray(0, 20)
}

export async function serve(argv: string[], out: Output): Promise<number> {
  const { values } = parseOptions(argv, {
    infohash: { type: 'string' },
    torrent: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    connect: { type: 'string', multiple: true },
    bootstrap: { type: 'string', multiple: true },
    'auto-dial': { type: 'boolean' },
    'pex-interval': { type: 'string' },
    'announce-interval': { type: 'string' },
    'peer-id': { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    utp: { type: 'boolean' },
    'no-portmap': { type: 'boolean' },
    'portmap-protocols': { type: 'string' },
  })
  if (values.torrent !== undefined && values.infohash !== undefined)
    throw new UsageError('give --infohash or --torrent, not both')
  const metainfo = values.torrent === undefined ? undefined : readTorrent(values.torrent, out)
  if (metainfo === null) return 1
  const infoHash = metainfo ? torrentInfoHash(metainfo) : parseInfoHash(values.infohash)
  const port = values.port === undefined ? 0 : Number(values.port)
  if (!/^\d+$/.test(values.port ?? '0') || port > 65535) {
    throw new UsageError(`--port must be 0..65535, got ${quote(values.port ?? '')}`)
  }
  const targets = (values.connect ?? []).map((s) => parseHostPort(s))
  // Parsed as the dht commands parse it; none given, or `--bootstrap none`: no DHT.
  const entries = bootstrapEntries(values.bootstrap)
  const bootstrap = Array.isArray(entries) ? entries.map((s) => parseHostPort(s, { names: true })) : []
  const timeout = values.timeout === undefined ? undefined : parseSeconds(values.timeout, 0)
  const pexInterval = parseSeconds(values['pex-interval'], 60, '--pex-interval')
  const announceInterval = parseSeconds(values['announce-interval'], 300, '--announce-interval')
  const node = new SwarmNode({
    host: values.host ?? '0.0.0.0',
    port,
    peerId: parsePeerId(values['peer-id']),
    dht: bootstrap.length ? { bootstrap } : false,
    swarm: { autoDial: values['auto-dial'] ?? false, connection: { pex: { interval: pexInterval * 1000 } } },
    portmap: values['no-portmap'] ? false : portMapOption(values['portmap-protocols']),
  })
  reportPortMap(node, out)
  // --timeout bounds the whole command, start-up included.
  const deadline = timeout === undefined ? undefined : performance.now() + timeout * 1000
  let addr: Endpoint | undefined
  try {
    const listening = node.listen()
    listening.catch(() => {}) // a start-up that loses the race to --timeout may still fail after close()
    addr =
      timeout === undefined ? await listening : await Promise.race([listening, sleep(timeout).then(() => undefined)])
  } catch (err) {
    await node.close()
    out.error(`cannot listen: ${(err as Error).message}`)
    return 1
  }
  if (addr === undefined) {
    await node.close()
    return 0
  }
  const swarm = node.add(metainfo ?? infoHash)
  const from = (c: { remote: Endpoint }) => ({ host: c.remote.host, port: c.remote.port })
  swarm.on('connected', (c) => out.event('connected', describeConnection(c)))
  swarm.on('disconnected', (c, r) =>
    out.event('disconnected', { ...describeConnection(c), code: r.code, reason: r.message }),
  )
  swarm.on('pex', (c, added: PexPeer[], dropped: Endpoint[]) =>
    out.event('pex', { from: from(c), added: peerList(added), dropped: peerList(dropped) }),
  )
  swarm.on('hp_rendezvous', (c, target, id) =>
    out.event('hp_rendezvous', { from: from(c), target, targetPeerId: id ? toHex(id) : undefined }),
  )
  swarm.on('hp_relayed', (a, b) => out.event('hp_relayed', { from: from(a), to: from(b) }))
  swarm.on('hp_refused', (c, code, target) => out.event('hp_error', { from: from(c), ...errorFields(code, target) }))
  swarm.on('hp_connect', (c, ip, p) => out.event('hp_connect', { from: from(c), host: ip, port: p }))
  swarm.on('hp_error', (c, code, target) =>
    out.event('hp_error_received', { from: from(c), ...errorFields(code, target) }),
  )
  node.on('hp_connected', (r) =>
    out.event('hp_connected', { ...from(r.conn), transport: r.conn.transport, ms: Math.round(r.ms * 10) / 10 }),
  )
  node.on('hp_failed', (t, reason) => out.event('hp_failed', { host: t.host, port: t.port, reason }))
  const nat = () => {
    const r = node.reachability
    return { kind: r.kind, external: r.external.map((e) => `${e.host}:${e.port}`), portMapping: r.portMapping ?? null }
  }
  out.event('listening', {
    host: addr.host,
    port: addr.port,
    peerId: toHex(node.peerId),
    infoHash: metainfo ? toHex(infoHash) : undefined,
    nat: nat(),
  })
  node.on('reachability', () => out.event('reachability', nat()))
  for (const t of targets) {
    node
      .connect(infoHash, t)
      .catch((err: Error) => out.event('connect_failed', { host: t.host, port: t.port, reason: err.message }))
  }
  const ac = new AbortController()
  if (node.dht) {
    const dht = node.dht
    void (async () => {
      await dht.bootstrapped()
      out.event('dht_ready', { nodes: dht.nodes().length })
      while (!ac.signal.aborted) {
        await node.announce(infoHash, { signal: ac.signal }).then(
          (n) => out.event('announced', { nodes: n }),
          (err: Error) => ac.signal.aborted || out.error(`announce failed: ${err.message}`),
        )
        await sleep(announceInterval, ac.signal).catch(() => {})
      }
    })()
  }
  const stop = () => ac.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    if (timeout === undefined)
      await new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve()))
    else await sleep(Math.max(0, ((deadline as number) - performance.now()) / 1000), ac.signal).catch(() => {})
  } finally {
    ac.abort()
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await node.close()
  }
  return 0
}
