// `mainline peer`: talk the peer wire protocol. `handshake` connects to one peer and shows what it says; `serve`
// runs a peer that accepts and makes connections, exchanges PEX and relays BEP 55 rendezvous.
import { parseArgs } from 'node:util'
import { toHex } from '../codec/bytes.js'
import type { PexPeer } from '../codec/pex.js'
import type { Endpoint } from '../net/types.js'
import { Swarm } from '../swarm/swarm.js'
import { acceptUtp, bindUtpPort, UtpDialer, type UtpPort } from '../swarm/utp.js'
import type { WireError } from '../wire/errors.js'
import type { CommandGroup } from './main.js'
import { type Output, parseHostPort, parseSeconds, UsageError } from './output.js'
import {
  chooseDialer,
  DIAL_OPTIONS,
  describeConnection,
  describeHandshake,
  errorFields,
  parseInfoHash,
  parsePeerId,
  sleep,
  waitFor,
  withTimeout,
} from './peer-common.js'

const HELP = `mainline peer: the peer wire protocol (BEP 3, 10), PEX (BEP 11) and the BEP 55 relay role.

Usage:
  mainline peer handshake <host:port> --infohash <hex> [--utp] [--peer-id <hex>] [--timeout S] [--json]
      Connect (over TCP, or uTP with --utp), handshake, extended handshake; print the peer's handshake, then any
      PEX messages that arrive within the timeout (default 10 s). Exit 0 after the timeout, 1 if the connection
      or handshake fails.
      Events: handshake {peerId, reserved, client, extensions, yourip, transport}, pex {added, dropped},
      closed {code, reason}.

  mainline peer serve --infohash <hex> [--port P] [--host H] [--connect H:P]... [--auto-dial] [--utp]
                      [--pex-interval S] [--peer-id <hex>] [--timeout S] [--json]
      Listen (default 0.0.0.0, a free port), dial each --connect peer, exchange PEX (every 60 s by default),
      relay holepunch rendezvous. With --utp, also accept uTP on the same port number (UDP) and dial over uTP
      from it. Runs until the timeout (default: until interrupted).
      Events: listening {host, port, peerId}, connected / disconnected {host, port, peerId, direction,
      transport[, code, reason]}, pex {from, added, dropped}, hp_rendezvous {from, target, targetPeerId},
      hp_relayed {from, to}, hp_error {from, code, name, host, port}, connect_failed {host, port, reason}.`

function peerList(peers: readonly { host: string; port: number; flags?: number }[]): unknown[] {
  return peers.map((p) =>
    p.flags === undefined ? { host: p.host, port: p.port } : { host: p.host, port: p.port, flags: p.flags },
  )
}

async function handshake(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      infohash: { type: 'string' },
      'peer-id': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      ...DIAL_OPTIONS,
    },
  })
  if (positionals.length !== 1) throw new UsageError('expected exactly one <host:port>')
  const to = parseHostPort(positionals[0])
  const timeout = parseSeconds(values.timeout, 10)
  const dialer = chooseDialer(values)
  const swarm = new Swarm({
    infoHash: parseInfoHash(values.infohash),
    peerId: parsePeerId(values['peer-id']),
    dialer,
  })
  const deadline = Date.now() + timeout * 1000
  try {
    const conn = await withTimeout(
      swarm.connect(to, { timeout: timeout * 1000 }),
      timeout,
      `no handshake from ${positionals[0]} within ${timeout} s`,
    )
    conn.pex.on('peers', (added, dropped) => out.event('pex', { added: peerList(added), dropped: peerList(dropped) }))
    // A peer that does not speak BEP 10 sends no extended handshake: print what we have after a short wait.
    const left = Math.max(0, deadline - Date.now())
    await waitFor(
      conn,
      'extended_handshake',
      (conn.remoteHandshake?.reserved[5] ?? 0) & 0x10 ? left : Math.min(left, 1000),
    )
    out.event('handshake', describeHandshake(conn))
    const closed = new Promise<WireError>((resolve) => conn.once('close', resolve))
    const ac = new AbortController()
    const reason = await Promise.race([
      closed,
      sleep(Math.max(0, deadline - Date.now()) / 1000, ac.signal).then(() => undefined),
    ])
    ac.abort()
    if (reason) out.event('closed', { code: reason.code, reason: reason.message })
    return 0
  } catch (err) {
    out.error(`handshake with ${positionals[0]} failed: ${(err as Error).message}`)
    return 1
  } finally {
    await swarm.close()
    if (dialer instanceof UtpDialer) await dialer.close()
  }
}

async function serve(argv: string[], out: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      infohash: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      connect: { type: 'string', multiple: true },
      'auto-dial': { type: 'boolean' },
      'pex-interval': { type: 'string' },
      'peer-id': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      ...DIAL_OPTIONS,
    },
  })
  const port = values.port === undefined ? 0 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`bad --port ${values.port}`)
  const targets = (values.connect ?? []).map(parseHostPort)
  const timeout = values.timeout === undefined ? undefined : parseSeconds(values.timeout, 0)
  const pexInterval = values['pex-interval'] === undefined ? 60 : parseSeconds(values['pex-interval'], 60)
  const dialer = chooseDialer(values)
  const swarm = new Swarm({
    infoHash: parseInfoHash(values.infohash),
    peerId: parsePeerId(values['peer-id']),
    host: values.host ?? '0.0.0.0',
    port,
    dialer,
    autoDial: values['auto-dial'] ?? false,
    connection: { pex: { interval: pexInterval * 1000 } },
  })
  const from = (c: Parameters<typeof describeConnection>[0]) => ({ host: c.remote.host, port: c.remote.port })
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
  let addr: Endpoint
  try {
    addr = await swarm.listen()
  } catch (err) {
    out.error(`cannot listen: ${(err as Error).message}`)
    return 1
  }
  let utp: UtpPort | undefined
  if (values.utp) {
    // uTP on the TCP port's number, from one UDP socket (shared with a DHT through its mux, as libtorrent does).
    try {
      utp = await bindUtpPort({ host: addr.host, port: addr.port })
    } catch (err) {
      await swarm.close()
      out.error(`cannot bind UDP ${addr.host}:${addr.port} for uTP: ${(err as Error).message}`)
      return 1
    }
    if (dialer instanceof UtpDialer) dialer.attach(utp.manager)
    acceptUtp(swarm, utp.manager)
  }
  out.event('listening', { host: addr.host, port: addr.port, peerId: toHex(swarm.peerId) })
  for (const t of targets) {
    swarm
      .connect(t)
      .catch((err: Error) => out.event('connect_failed', { host: t.host, port: t.port, reason: err.message }))
  }
  const ac = new AbortController()
  const stop = () => ac.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    if (timeout === undefined)
      await new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve()))
    else await sleep(timeout, ac.signal)
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await swarm.close()
    await utp?.close()
  }
  return 0
}

export const group: CommandGroup = {
  summary: 'peer wire: handshake with a peer, or serve (PEX, holepunch relay)',
  help: HELP,
  async run(argv, out) {
    const [cmd, ...rest] = argv
    if (cmd === 'handshake') return handshake(rest, out)
    if (cmd === 'serve') return serve(rest, out)
    throw new UsageError(`unknown command ${JSON.stringify(cmd)}`)
  },
}
