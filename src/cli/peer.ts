// `mainline peer`: talk the peer wire protocol. `handshake` connects to one peer and shows what it says; `serve`
// runs a peer that accepts and makes connections, exchanges PEX and relays BEP 55 rendezvous.
import type { PexPeer } from '../codec/pex.js'
import type { Endpoint } from '../net/types.js'
import { Swarm } from '../swarm/swarm.js'
import { UtpDialer } from '../swarm/utp.js'
import type { WireError } from '../wire/errors.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { parseOptions } from './args.js'
import type { CommandGroup } from './command.js'
import { type Output, parseHostPort, parseSeconds, quote, UsageError } from './output.js'
import {
  chooseDialer,
  DIAL_OPTIONS,
  describeHandshake,
  parseInfoHash,
  parsePeerId,
  sleep,
  waitFor,
  withTimeout,
} from './peer-common.js'
import { SERVE_HELP, serve } from './peer-serve.js'

const HELP = `mainline peer: the peer wire protocol (BEP 3, 10), PEX (BEP 11) and the BEP 55 relay role.

Usage:
  mainline peer handshake <host:port> --infohash <hex> [--utp] [--peer-id <hex>] [--timeout S] [--json]
      Connect (over TCP, or uTP with --utp), handshake, extended handshake; print the peer's handshake first,
      then any PEX messages that arrive within the timeout (default 10 s); then close gracefully (FIN). Exit 0
      after the timeout, 1 if the connection or handshake fails.
      Events: handshake {peerId, reserved, client, extensions, yourip, listenPort, reqq, transport},
      pex {added, dropped}, closed {code, reason} (when the peer closes first).

${SERVE_HELP}`

function peerList(peers: readonly { host: string; port: number; flags?: number }[]): unknown[] {
  return peers.map((p) =>
    p.flags === undefined ? { host: p.host, port: p.port } : { host: p.host, port: p.port, flags: p.flags },
  )
}

async function handshake(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseOptions(
    argv,
    {
      infohash: { type: 'string' },
      'peer-id': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      ...DIAL_OPTIONS,
    },
    true,
  )
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
  // `handshake` is printed first, as soon as the extended handshake is in (it is what later events are about):
  // PEX that arrives earlier (e.g. in the same packet) waits for it. Listening on the swarm sees every event,
  // even those that arrive before `connect` resolves.
  let printed = false
  const early: [PexPeer[], Endpoint[]][] = []
  const printPex = (added: PexPeer[], dropped: Endpoint[]) =>
    out.event('pex', { added: peerList(added), dropped: peerList(dropped) })
  const printHandshake = (conn: PeerConnection) => {
    if (printed) return
    printed = true
    out.event('handshake', describeHandshake(conn))
    for (const [a, d] of early.splice(0)) printPex(a, d)
  }
  swarm.on('connected', (conn) => {
    if (conn.remoteExtended) printHandshake(conn)
    else conn.once('extended_handshake', () => printHandshake(conn))
  })
  swarm.on('pex', (_c, added: PexPeer[], dropped: Endpoint[]) => {
    if (printed) printPex(added, dropped)
    else early.push([added, dropped])
  })
  let conn: PeerConnection | undefined
  try {
    conn = await withTimeout(
      swarm.connect(to, { timeout: timeout * 1000 }),
      timeout,
      `no handshake from ${positionals[0]} within ${timeout} s`,
    )
    // A peer that does not speak BEP 10 sends no extended handshake: print what we have after a short wait.
    const left = Math.max(0, deadline - Date.now())
    await waitFor(
      conn,
      'extended_handshake',
      (conn.remoteHandshake?.reserved[5] ?? 0) & 0x10 ? left : Math.min(left, 1000),
    )
    printHandshake(conn)
    const c = conn
    const closed = new Promise<WireError>((resolve) => c.once('close', resolve))
    const ac = new AbortController()
    const reason = await Promise.race([
      closed,
      sleep(Math.max(0, deadline - Date.now()) / 1000, ac.signal).then(() => undefined),
    ])
    ac.abort()
    if (reason) out.event('closed', { code: reason.code, reason: reason.message })
    // End cleanly (TCP FIN, uTP ST_FIN acknowledged) so the peer sees a close, not a reset.
    else await conn.end()
    return 0
  } catch (err) {
    out.error(`handshake with ${positionals[0]} failed: ${(err as Error).message}`)
    return 1
  } finally {
    await swarm.close()
    if (dialer instanceof UtpDialer) await dialer.close()
  }
}

export const group: CommandGroup = {
  summary: 'peer wire: handshake with a peer, or serve (uTP + TCP on one port, DHT, PEX, holepunch relay and punch)',
  help: HELP,
  async run(argv, out) {
    const [cmd, ...rest] = argv
    if (cmd === 'handshake') return handshake(rest, out)
    if (cmd === 'serve') return serve(rest, out)
    throw new UsageError(`unknown peer command ${quote(cmd ?? '')}`)
  },
}
