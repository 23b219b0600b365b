// `mainline dht …`: run a Mainline DHT node, look up and announce infohashes, ping nodes, find nodes.
import { toHex } from '../codec/bytes.js'
import type { DHT } from '../dht/index.js'
import type { CommandGroup } from './command.js'
import { bootstrapList, endpoint, hash20, parse, portOption } from './dht-args.js'
import { bootstrapped, guarded, open, peerText, StartupAborted } from './dht-session.js'
import { STORAGE_COMMANDS, STORAGE_EVENTS, STORAGE_USAGE } from './dht-storage.js'
import { type Output, quote, UsageError } from './output.js'

const HELP = `mainline dht: the Mainline DHT (BEP 5) from the command line.

Usage:
  mainline dht node [--port P] [--host H] [--bootstrap H:P]... [--state FILE] [--stats-interval S] [--timeout S] [--json]
      Runs a DHT node until Ctrl-C (or --timeout). Prints "listening" with its address and id, then "stats" every
      --stats-interval seconds (default 10). With --state, the routing table is loaded from FILE at start and saved
      there periodically and on exit. --port defaults to 6881.
  mainline dht lookup <infohash> [--bootstrap H:P]... [--port P] [--host H] [--timeout S] [--json]
      Finds peers for a 40-hex-digit infohash. Prints "peer" for each new peer, then "done" with the number of
      peers, queries sent and milliseconds. Exit 0 when the lookup completed (even with no peers), 1 on timeout or
      when no DHT node answered. --timeout defaults to 30.
  mainline dht announce <infohash> (--port P | --implied-port) [--bootstrap H:P]... [--local-port L] [--host H]
                        [--timeout S] [--json]
      Announces that a peer for the infohash is at this host and port P (or, with --implied-port, at the UDP port
      this command's node uses, as the remote nodes see it). Here --port is the port announced; --local-port is the
      local UDP port (default ephemeral). Prints "announced" with the number of nodes that accepted it (after a
      get_peers lookup for their tokens). Exit 1 when none did. --timeout defaults to 30.
  mainline dht ping <host:port> [--port P] [--host H] [--timeout S] [--json]
      Sends one KRPC ping. Prints "pong" with the node's id and round-trip time. Exit 1 on timeout (default 5).
  mainline dht find-node <id> [--bootstrap H:P]... [--port P] [--host H] [--timeout S] [--json]
      Finds the K nodes closest to a 40-hex-digit id. Prints "node" for each, then "done". --timeout defaults to 30.
${STORAGE_USAGE}

  Every command but "node" and "keygen" runs a read-only node (BEP 43: queries carry "ro":1, it answers none), so
  the short-lived node never enters other nodes' routing tables. "node" is a full node.

Options:
  --bootstrap H:P   a node to bootstrap from (repeatable, or a comma-separated list; host names allowed).
                    "--bootstrap none" (alone) uses none. Without
                    it, the well-known public routers are used: router.bittorrent.com:6881, router.utorrent.com:6881,
                    dht.transmissionbt.com:6881, dht.libtorrent.org:25401.
  --port P          local UDP port (default 6881 for "node", ephemeral for the others); for announce: the port
                    announced
  --host H          local address to bind (default 0.0.0.0; an IPv6 address runs the node on IPv6)
  --host6 H         also bind this IPv6 address, on the same port: a dual-stack node (BEP 32), e.g. --host6 ::
  --state FILE      routing-table state file (node only): a regular file, or a new one to create. A directory,
                    FIFO, device or socket (or a symlink to one), or a place that cannot be written, is refused
                    before start (exit 2)
  --timeout S       stop after S seconds, start-up included; every waiting command exits by itself
  --json            one JSON object per line on stdout, each with an "event" key

JSON events:
  {"event":"listening","host":H,"port":P,"id":HEX}        (+ "host6","port6" with --host6)
  {"event":"stats","nodes":N,"peersStored":N,"infoHashesStored":N,"queriesIn":N,"queriesOut":N,"bytesIn":N,"bytesOut":N}
  {"event":"peer","host":H,"port":P}                      then {"event":"done","peers":N,"queries":Q,"hops":H,"ms":T}
  {"event":"announced","nodes":N,"queries":Q,"ms":T}
  {"event":"pong","host":H,"port":P,"id":HEX,"rttMs":T}
  {"event":"node","id":HEX,"host":H,"port":P}              then {"event":"done","nodes":N,"ms":T}
${STORAGE_EVENTS}
Errors go to stderr; bad arguments exit 2, failures and timeouts exit 1.`

function statsFields(dht: DHT): Record<string, unknown> {
  const s = dht.stats()
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)
  return {
    nodes: s.nodes.v4 + s.nodes.v6,
    peersStored: s.peersStored,
    infoHashesStored: s.infoHashesStored,
    queriesIn: sum(s.queriesIn),
    queriesOut: sum(s.queriesOut),
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
  }
}

async function node(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, { 'stats-interval': { type: 'string' }, state: { type: 'string' } })
  const every = Number(p.values['stats-interval'] ?? 10)
  if (!Number.isFinite(every) || every <= 0) throw new UsageError('--stats-interval must be a positive number')
  const s = await open(
    p,
    out,
    { port: portOption(p.values.port, '--port', 6881), untilSignal: true },
    bootstrapList(p.values),
  )
  const [a, a6] = s.dht.addresses()
  out.event(
    'listening',
    a6
      ? { host: a.host, port: a.port, host6: a6.host, port6: a6.port, id: toHex(s.dht.id) }
      : { host: a.host, port: a.port, id: toHex(s.dht.id) },
    `DHT node ${toHex(s.dht.id)} listening on ${peerText(a)}${a6 ? ` and ${peerText(a6)}` : ''}`,
  )
  s.dht.on('announce', (peer, infoHash) =>
    out.event(
      'announce',
      { infoHash: toHex(infoHash), host: peer.host, port: peer.port },
      `stored announce of ${toHex(infoHash)} by ${peerText(peer)}`,
    ),
  )
  const printStats = () => {
    const f = statsFields(s.dht)
    out.event(
      'stats',
      f,
      `${f.nodes} nodes, ${f.infoHashesStored} infohashes / ${f.peersStored} peers stored, ${f.queriesIn} queries in, ${f.queriesOut} out`,
    )
  }
  const interval = setInterval(printStats, every * 1000)
  await new Promise<void>((resolve) => {
    if (s.signal.aborted) return resolve()
    s.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  clearInterval(interval)
  printStats()
  await s.close()
  return 0
}

async function lookup(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, {}, 1)
  const infoHash = hash20(p.positionals[0], 'infohash')
  const s = await open(
    p,
    out,
    { port: portOption(p.values.port, '--port', 0), timeoutS: 30, readOnly: true },
    bootstrapList(p.values),
  )
  return guarded(s, out, 'lookup', async () => {
    await bootstrapped(s, out)
    const seen = new Set<string>()
    s.dht.on('peer', (peer, ih) => {
      const key = peerText(peer)
      if (toHex(ih) !== toHex(infoHash) || seen.has(key)) return
      seen.add(key)
      out.event('peer', { host: peer.host, port: peer.port }, key)
    })
    const r = await s.dht.lookup(infoHash, { signal: s.signal })
    for (const peer of r.peers) {
      const key = peerText(peer)
      if (seen.has(key)) continue
      seen.add(key)
      out.event('peer', { host: peer.host, port: peer.port }, key)
    }
    if (r.responses === 0) throw new Error('no DHT node answered')
    out.event(
      'done',
      { peers: seen.size, queries: r.queries, hops: r.hops, ms: Math.round(r.ms) },
      `${seen.size} peer${seen.size === 1 ? '' : 's'} found with ${r.queries} queries (${r.hops} hops) in ${Math.round(r.ms)} ms`,
    )
    return 0
  })
}

async function announce(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, { 'local-port': { type: 'string' }, 'implied-port': { type: 'boolean' } }, 1)
  const infoHash = hash20(p.positionals[0], 'infohash')
  const implied = p.values['implied-port'] === true
  const given = p.values.port
  if (implied === (given !== undefined)) throw new UsageError('give exactly one of --port P or --implied-port')
  const port = implied ? undefined : portOption(given, '--port', 0)
  if (port === 0) throw new UsageError('--port must be 1..65535')
  const s = await open(
    p,
    out,
    { port: portOption(p.values['local-port'], '--local-port', 0), timeoutS: 30, readOnly: true },
    bootstrapList(p.values),
  )
  return guarded(s, out, 'announce', async () => {
    await bootstrapped(s, out)
    const t0 = performance.now()
    const r = await s.dht.announce(infoHash, { port, impliedPort: implied, signal: s.signal })
    const ms = Math.round(performance.now() - t0)
    out.event(
      'announced',
      { nodes: r.nodes, queries: r.queries, ms },
      `announced ${toHex(infoHash)} to ${r.nodes} node${r.nodes === 1 ? '' : 's'} in ${ms} ms`,
    )
    if (r.nodes === 0) {
      out.error('no node accepted the announce')
      return 1
    }
    return 0
  })
}

async function ping(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, {}, 1)
  const target = endpoint(p.positionals[0])
  const s = await open(p, out, { port: portOption(p.values.port, '--port', 0), timeoutS: 5, readOnly: true }, [])
  return guarded(s, out, 'ping', async () => {
    const r = await s.dht.ping(target, { signal: s.signal })
    const rttMs = Math.round(r.rttMs * 10) / 10
    out.event(
      'pong',
      { host: target.host, port: target.port, id: toHex(r.id), rttMs },
      `pong from ${peerText(target)} id ${toHex(r.id)} in ${rttMs} ms`,
    )
    return 0
  })
}

async function findNode(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, {}, 1)
  const target = hash20(p.positionals[0], 'id')
  const s = await open(
    p,
    out,
    { port: portOption(p.values.port, '--port', 0), timeoutS: 30, readOnly: true },
    bootstrapList(p.values),
  )
  return guarded(s, out, 'find-node', async () => {
    await bootstrapped(s, out)
    const t0 = performance.now()
    const nodes = await s.dht.findNode(target, { signal: s.signal })
    for (const n of nodes)
      out.event('node', { id: toHex(n.id), host: n.host, port: n.port }, `${toHex(n.id)} ${peerText(n)}`)
    const ms = Math.round(performance.now() - t0)
    if (nodes.length === 0) throw new Error('no DHT node answered')
    out.event('done', { nodes: nodes.length, ms }, `${nodes.length} nodes in ${ms} ms`)
    return 0
  })
}

const COMMANDS: Record<string, (argv: string[], out: Output) => Promise<number>> = {
  node,
  lookup,
  announce,
  ping,
  'find-node': findNode,
  ...STORAGE_COMMANDS,
}

export const group: CommandGroup = {
  summary: 'Mainline DHT: run a node, look up / announce, ping, find nodes, put/get items, sample, crawl, scrape',
  help: HELP,
  async run(argv, out) {
    const [cmd, ...rest] = argv
    const fn = COMMANDS[cmd]
    if (!fn) throw new UsageError(`unknown dht command ${quote(cmd ?? '')}`)
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${HELP}\n`)
      return 0
    }
    try {
      return await fn(rest, out)
    } catch (err) {
      if (!(err instanceof StartupAborted)) throw err
      // `node` runs until --timeout: ending then is its normal end, even before it was listening.
      if (cmd === 'node') return 0
      out.error(`${cmd} ${err.message}`)
      return 1
    }
  },
}
