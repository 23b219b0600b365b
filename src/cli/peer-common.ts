// Shared by `mainline peer` and `mainline holepunch`: argument helpers, the dialer choice (TCP, or uTP with
// `--utp`) and JSON-ready descriptions of connections.
import { fromHex, toHex } from '../codec/bytes.js'
import { holepunchErrorName } from '../codec/holepunch.js'
import type { Endpoint } from '../net/types.js'
import { type Dialer, TcpDialer } from '../swarm/dialer.js'
import type { SwarmNode } from '../swarm/node.js'
import type { PortMapping } from '../swarm/node-portmap.js'
import { UtpDialer } from '../swarm/utp.js'
import { clientFromPeerId } from '../wire/client-name.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { type Output, quote, UsageError } from './output.js'

export function parseInfoHash(s: string | undefined): Uint8Array {
  if (s === undefined) throw new UsageError('--infohash <40 hex digits> is required')
  const b = fromHex(s)
  if (b?.length !== 20) throw new UsageError(`--infohash must be 40 hex digits, got ${quote(s)}`)
  return b
}

export function parsePeerId(s: string | undefined): Uint8Array | undefined {
  if (s === undefined) return undefined
  const b = fromHex(s)
  if (b?.length !== 20) throw new UsageError(`--peer-id must be 40 hex digits, got ${quote(s)}`)
  return b
}

/** Options every dialing command accepts: `--utp` dials (and, for `serve`, also listens) over uTP. */
export const DIAL_OPTIONS = { utp: { type: 'boolean' } } as const

/** The dialer for the command line's transport flags: TCP, or uTP with `--utp`. */
export function chooseDialer(values: Record<string, unknown>): Dialer {
  return values.utp ? new UtpDialer({ unref: true }) : new TcpDialer()
}

export function describeConnection(c: PeerConnection): Record<string, unknown> {
  return {
    host: c.remote.host,
    port: c.remote.port,
    peerId: c.remotePeerId ? toHex(c.remotePeerId) : undefined,
    direction: c.direction,
    transport: c.transport,
  }
}

export function describeHandshake(c: PeerConnection): Record<string, unknown> {
  const id = c.remotePeerId
  return {
    peerId: id ? toHex(id) : undefined,
    reserved: c.remoteHandshake ? toHex(c.remoteHandshake.reserved) : undefined,
    client: c.remoteExtended?.v ?? (id ? clientFromPeerId(id) : undefined),
    extensions: c.extensions.remoteMap(),
    yourip: c.remoteExtended?.yourip,
    listenPort: c.remoteExtended?.p,
    reqq: c.remoteExtended?.reqq,
    transport: c.transport,
  }
}

export function errorFields(code: number, endpoint: Endpoint): Record<string, unknown> {
  return { code, name: holepunchErrorName(code), host: endpoint.host, port: endpoint.port }
}

/** Resolves after `seconds`, or when the signal fires. */
export function sleep(seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, seconds * 1000)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      resolve()
    })
  })
}

/** Waits for `event` on `c` or its close, within `ms`. Resolves true when the event came. */
export function waitFor(c: PeerConnection, event: 'extended_handshake', ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (c.remoteExtended) return resolve(true)
    const t = setTimeout(() => finish(false), ms)
    const onEvent = () => finish(true)
    const onClose = () => finish(false)
    const finish = (v: boolean) => {
      clearTimeout(t)
      c.off(event, onEvent)
      c.off('close', onClose)
      resolve(v)
    }
    c.once(event, onEvent)
    c.once('close', onClose)
  })
}

/** `p`, or a rejection with `message` after `seconds` (the timer is cleared either way). */
export async function withTimeout<T>(p: Promise<T>, seconds: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), seconds * 1000)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Prints a node's router port-mapping events (`portmap_mapped` …) as CLI events. */
export function reportPortMap(node: SwarmNode, out: Output): void {
  const m = (p: PortMapping) => ({
    protocol: p.protocol,
    host: p.external.host,
    port: p.external.port,
    internalPort: p.internalPort,
    lifetime: p.lifetime,
    via: p.via,
  })
  node.on('portmap:mapped', (p) => out.event('portmap_mapped', m(p)))
  node.on('portmap:renewed', (p) => out.event('portmap_renewed', m(p)))
  node.on('portmap:removed', (p) => out.event('portmap_removed', m(p)))
  node.on('portmap:failed', (f) =>
    out.event('portmap_failed', { protocol: f.protocol, reason: f.reason, message: f.message, attempts: f.attempts }),
  )
}
