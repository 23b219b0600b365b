// Options of a uTP connection and their defaults, plus the error type connections fail with.
import type { LedbatOptions } from './ledbat.js'
import type { RttOptions } from './rtt.js'

export interface UtpConnectionOptions extends LedbatOptions, RttOptions {
  /** Largest payload per packet, bytes (header excluded). @default 1400 */
  packetSize?: number
  /** Receive buffer: the window we advertise is this minus unread and out-of-order bytes. @default 1 MiB */
  recvBufferSize?: number
  /** SYN re-sends before a connect fails. @default 3 (sends at 0, 1, 3 and 7 s) */
  synRetries?: number
  /** Consecutive retransmission timeouts before the connection fails. @default 6 (about a minute) */
  maxTimeouts?: number
  /** Silence from the peer after which a connection fails, ms. @default 90000 */
  idleTimeout?: number
  /** Idle time after which a keep-alive (ST_STATE, ack − 1, as libutp) is sent, ms. @default 29000 */
  keepaliveInterval?: number
  /** Hold small writes while data is in flight until a full packet can be sent (Nagle). @default true */
  nagle?: boolean
  /** Highest number of out-of-order packets held for reassembly. @default 4096 */
  maxReorder?: number
}

export type ResolvedOptions = Required<
  Pick<
    UtpConnectionOptions,
    | 'packetSize'
    | 'recvBufferSize'
    | 'synRetries'
    | 'maxTimeouts'
    | 'idleTimeout'
    | 'keepaliveInterval'
    | 'nagle'
    | 'maxReorder'
  >
> &
  UtpConnectionOptions

export function resolveOptions(o: UtpConnectionOptions = {}): ResolvedOptions {
  const packetSize = o.packetSize ?? 1400
  if (!(packetSize >= 100 && packetSize <= 65000)) throw new RangeError(`packetSize ${packetSize} out of range`)
  return {
    ...o,
    packetSize,
    recvBufferSize: o.recvBufferSize ?? 1024 * 1024,
    synRetries: o.synRetries ?? 3,
    maxTimeouts: o.maxTimeouts ?? 6,
    idleTimeout: o.idleTimeout ?? 90_000,
    keepaliveInterval: o.keepaliveInterval ?? 29_000,
    nagle: o.nagle ?? true,
    maxReorder: Math.min(o.maxReorder ?? 4096, 16_384),
    initialWindow: o.initialWindow ?? 2 * (packetSize + 20),
  }
}

export type UtpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EDESTROYED' | 'ECLOSED'

export class UtpError extends Error {
  override readonly name = 'UtpError'
  readonly code: UtpErrorCode
  constructor(code: UtpErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}
