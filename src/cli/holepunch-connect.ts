// `mainline holepunch connect`: the initiator end to end. Connect to a relay (uTP first, from our shared UDP
// port), ask it for a rendezvous with a target — or with each holepunch-capable peer the relay lists in PEX —
// and punch. Prints `connected` (exit 0) or `hp_failed` (exit 1).
import { toHex } from '../codec/bytes.js'
import { PexFlags, type PexPeer } from '../codec/pex.js'
import type { Endpoint } from '../net/types.js'
import { HolepunchFailedError, type HolepunchSuccess } from '../swarm/initiator.js'
import { SwarmNode } from '../swarm/node.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { parseOptions } from './args.js'
import { type Output, parseHostPort, parseSeconds, quote, UsageError } from './output.js'
import { parseInfoHash, parsePeerId } from './peer-common.js'

export const CONNECT_HELP = `  mainline holepunch connect --relay <host:port> --infohash <hex> [--target <host:port>] [--port P]
                             [--peer-id <hex>] [--timeout S] [--no-portmap] [--json]
      Connect to the relay over uTP from our UDP port P (default 0: any; the same port number serves TCP), then
      rendezvous and punch: to --target, or else to each holepunch-capable peer (PEX flag 0x08) the relay lists.
      Prints connected {transport, host, port, peerId, ms} (ms: from the rendezvous to the uTP connection) and
      exits 0, or hp_failed {reason} and exits 1: timeout (no connection within the punch time), no_answer
      (relay silent), NoSuchPeer/NotConnected/NoSupport/NoSelf (relay's error), no_peers (nothing to punch to),
      relay_unreachable. --timeout (default 15 s) bounds the whole command. The node asks the router to forward
      its port as peer serve does (docs/portmap.md) unless --no-portmap.`

export async function holepunchConnect(argv: string[], out: Output): Promise<number> {
  const { values } = parseOptions(argv, {
    relay: { type: 'string' },
    infohash: { type: 'string' },
    target: { type: 'string' },
    port: { type: 'string' },
    'peer-id': { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    'no-portmap': { type: 'boolean' },
  })
  if (!values.relay) throw new UsageError('--relay <host:port> is required')
  const relayEp = parseHostPort(values.relay)
  const infoHash = parseInfoHash(values.infohash)
  const target = values.target ? parseHostPort(values.target) : undefined
  const port = values.port === undefined ? 0 : Number(values.port)
  if (!/^\d+$/.test(values.port ?? '0') || port > 65535)
    throw new UsageError(`--port must be 0..65535, got ${quote(values.port ?? '')}`)
  const timeout = parseSeconds(values.timeout, 15) * 1000
  const node = new SwarmNode({
    port,
    peerId: parsePeerId(values['peer-id']),
    dht: false,
    swarm: { autoDial: false },
    portmap: values['no-portmap'] ? false : undefined,
  })
  const failed = (reason: string) => {
    out.event('hp_failed', { reason }, `holepunch failed: ${reason}`)
    return 1
  }
  let timer: NodeJS.Timeout | undefined
  try {
    // The deadline is armed before start-up: --timeout bounds the whole command.
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), timeout)
    })
    const listening = node.listen()
    listening.catch(() => {}) // a start-up that loses the race to the deadline may still fail after close()
    if ((await Promise.race([listening, deadline])) === 'deadline') return failed('timeout')
    const swarm = node.add(infoHash)
    let relay: PeerConnection
    try {
      relay = await Promise.race([swarm.connect(relayEp), deadline.then(() => Promise.reject(new Error('timeout')))])
    } catch {
      return failed('relay_unreachable')
    }
    out.progress(`connected to relay ${values.relay} over ${relay.transport}`)
    const result = await Promise.race([punch(node, infoHash, relay, target), deadline])
    if (result === 'deadline') return failed('timeout')
    if (typeof result === 'string') return failed(result)
    const c = result.conn
    out.event(
      'connected',
      {
        transport: c.transport,
        host: c.remote.host,
        port: c.remote.port,
        peerId: c.remotePeerId ? toHex(c.remotePeerId) : undefined,
        ms: Math.round(result.ms * 10) / 10,
      },
      `connected over ${c.transport} to ${c.remote.host}:${c.remote.port} ${Math.round(result.ms)} ms after the rendezvous`,
    )
    // Leave once the peer has our handshake (its extended handshake answers it): closing at once could destroy
    // the uTP stream before our handshake left, and the peer would see a punch that never completed.
    if (!c.remoteExtended && c.isOpen) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000)
        c.once('extended_handshake', () => {
          clearTimeout(t)
          resolve()
        })
        c.once('close', () => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    return 0
  } finally {
    clearTimeout(timer)
    await node.close()
  }
}

/** Waits for the relay's extended handshake, then punches to `target` or to each peer the relay flags 0x08. */
async function punch(
  node: SwarmNode,
  infoHash: Uint8Array,
  relay: PeerConnection,
  target: Endpoint | undefined,
): Promise<HolepunchSuccess | string> {
  if (!relay.remoteExtended) await new Promise((r) => relay.once('extended_handshake', r))
  if (!relay.holepunch.supported) return 'NoSupport'
  const attempt = (ep: Endpoint) =>
    node.holepunch(infoHash, ep, { relay }).catch((e: unknown) => {
      throw e instanceof HolepunchFailedError ? e.reason : String(e)
    })
  if (target) return attempt(target).catch((reason: string) => reason)
  // Without a target: every holepunch-capable peer the relay lists; the first connection wins.
  return new Promise((resolve) => {
    let running = 0
    let lastReason = 'no_peers'
    const tried = new Set<string>()
    const consider = (peers: Iterable<PexPeer>) => {
      for (const p of peers) {
        const k = `${p.host}:${p.port}`
        if (!(p.flags & PexFlags.holepunch) || tried.has(k) || node.isSelf(p)) continue
        tried.add(k)
        running++
        attempt({ host: p.host, port: p.port }).then(resolve, (reason: string) => {
          lastReason = reason
          if (--running === 0) resolve(lastReason)
        })
      }
    }
    // The relay's first PEX message may have arrived with its extended handshake: the swarm remembers it.
    consider(node.get(infoHash)?.knownPeers() ?? [])
    relay.pex.on('peers', (added) => consider(added))
  })
}
