// `mainline holepunch`: BEP 55 from the command line. `rendezvous` asks a relay to introduce us to a target and
// prints the relay's answer: `connect` (with the endpoint to punch towards) or `error` (with the BEP's code).
import type { Endpoint } from '../net/types.js'
import { Swarm } from '../swarm/swarm.js'
import { parseOptions } from './args.js'
import type { CommandGroup } from './command.js'
import { CONNECT_HELP, holepunchConnect } from './holepunch-connect.js'
import { type Output, parseHostPort, parseSeconds, quote, UsageError } from './output.js'
import {
  chooseDialer,
  DIAL_OPTIONS,
  errorFields,
  parseInfoHash,
  parsePeerId,
  sleep,
  waitFor,
  withTimeout,
} from './peer-common.js'

const HELP = `mainline holepunch: BEP 55 holepunch messages.

Usage:
  mainline holepunch rendezvous --relay <host:port> --infohash <hex> --target <host:port>
                                [--peer-id <hex>] [--utp] [--timeout S] [--json]
      Connect to the relay (a peer of the torrent; over uTP with --utp, else TCP), send a rendezvous for the
      target endpoint and print the
      answer: hp_connect {host, port} (the target's endpoint, to connect to over uTP) or
      hp_error {code, name, host, port} (1 NoSuchPeer, 2 NotConnected, 3 NoSupport, 4 NoSelf). Exit 0 on an
      answer, 1 when the relay cannot be reached, does not support ut_holepunch or does not answer within the
      timeout (default 10 s).

${CONNECT_HELP}`

async function rendezvous(argv: string[], out: Output): Promise<number> {
  const { values } = parseOptions(argv, {
    relay: { type: 'string' },
    infohash: { type: 'string' },
    target: { type: 'string' },
    'peer-id': { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    ...DIAL_OPTIONS,
  })
  if (!values.relay) throw new UsageError('--relay <host:port> is required')
  if (!values.target) throw new UsageError('--target <host:port> is required')
  const relay = parseHostPort(values.relay)
  const target = parseHostPort(values.target)
  const timeout = parseSeconds(values.timeout, 10)
  const deadline = Date.now() + timeout * 1000
  const swarm = new Swarm({
    infoHash: parseInfoHash(values.infohash),
    peerId: parsePeerId(values['peer-id']),
    dialer: chooseDialer(values),
  })
  try {
    const conn = await withTimeout(
      swarm.connect(relay, { timeout: timeout * 1000 }),
      timeout,
      `no handshake within ${timeout} s`,
    )
    if (!(await waitFor(conn, 'extended_handshake', Math.max(0, deadline - Date.now())))) {
      out.error(`relay ${values.relay} sent no extended handshake`)
      return 1
    }
    if (!conn.holepunch.supported) {
      out.error(`relay ${values.relay} does not support ut_holepunch`)
      return 1
    }
    let answered = false
    const answer = new Promise<number>((resolve) => {
      conn.holepunch.on('hp_connect', (host, port) => {
        answered = true
        out.event('hp_connect', { host, port })
        resolve(0)
      })
      conn.holepunch.on('hp_error', (code: number, ep: Endpoint) => {
        answered = true
        out.event('hp_error', errorFields(code, ep))
        resolve(0)
      })
      conn.once('close', (r) => {
        if (!answered) out.error(`relay closed the connection: ${r.message}`)
        resolve(1)
      })
    })
    conn.holepunch.sendHpRendezvous(target)
    const ac = new AbortController()
    const code = await Promise.race([
      answer,
      sleep(Math.max(0, deadline - Date.now()) / 1000, ac.signal).then(() => -1),
    ])
    ac.abort()
    if (code === -1) {
      out.error(`no answer from relay ${values.relay} within ${timeout} s`)
      return 1
    }
    return code
  } catch (err) {
    out.error(`rendezvous via ${values.relay} failed: ${(err as Error).message}`)
    return 1
  } finally {
    await swarm.close()
  }
}

export const group: CommandGroup = {
  summary: 'BEP 55 holepunch: ask a relay for a rendezvous, or connect through one (punch)',
  help: HELP,
  async run(argv, out) {
    const [cmd, ...rest] = argv
    if (cmd === 'rendezvous') return rendezvous(rest, out)
    if (cmd === 'connect') return holepunchConnect(rest, out)
    throw new UsageError(`unknown holepunch command ${quote(cmd ?? '')}`)
  },
}
