// Real TCP for protocol code: `StreamNetwork` over node:net. A `net.Socket` already is a `StreamSocket`, so the
// adapter only turns connect and listen into promises with AbortSignal and typed errors; bytes pass untouched.
import { createServer, connect as netConnect, type Socket } from 'node:net'
import { normalizeIP } from '../codec/ip.js'
import { NetError, type NetErrorCode } from './errors.js'
import type {
  Endpoint,
  StreamConnectOptions,
  StreamHandler,
  StreamListener,
  StreamListenOptions,
  StreamNetwork,
  StreamSocket,
} from './types.js'

/** The endpoint of one side of a stream socket, with the IP in canonical form (v4-mapped addresses unmapped). */
export function socketEndpoint(address: string | undefined, port: number | undefined): Endpoint | undefined {
  if (!address || !port) return undefined
  return { host: normalizeIP(address) ?? address, port }
}

const CONNECT_CODES: Record<string, NetErrorCode> = {
  ECONNREFUSED: 'ECONNREFUSED',
  ECONNRESET: 'ECONNRESET',
  ETIMEDOUT: 'ETIMEDOUT',
  EHOSTUNREACH: 'EHOSTUNREACH',
  ENETUNREACH: 'EHOSTUNREACH',
  EADDRNOTAVAIL: 'EADDRNOTAVAIL',
  EADDRINUSE: 'EADDRINUSE',
  EINVAL: 'EINVAL',
}

function netError(err: Error & { code?: string }, fallback: NetErrorCode): NetError {
  const code = (err.code && CONNECT_CODES[err.code]) || fallback
  return new NetError(code, err.message, { cause: err })
}

/**
 * The machine's TCP stack. Sockets come with Nagle off (the peer wire sends small messages that must not wait).
 * Hosts must be IP literals: no name is ever resolved here.
 */
export class TcpNetwork implements StreamNetwork {
  connect(to: Endpoint, options: StreamConnectOptions = {}): Promise<StreamSocket> {
    return new Promise((resolve, reject) => {
      const { signal } = options
      if (signal?.aborted) return reject(signal.reason)
      const socket: Socket = netConnect({
        host: to.host,
        port: to.port,
        localAddress: options.localAddress,
        allowHalfOpen: options.allowHalfOpen ?? false,
        noDelay: true,
        // A name would be resolved by node:net: refuse it instead (Endpoint hosts are IP literals).
        lookup: (host, _opts, cb) => cb(new NetError('EINVAL', `not an IP literal: ${host}`), '', 4),
      })
      const done = () => {
        signal?.removeEventListener('abort', onAbort)
        socket.off('error', onError)
        socket.off('connect', onConnect)
      }
      const onAbort = () => {
        done()
        socket.destroy()
        reject(signal?.reason)
      }
      const onError = (err: Error) => {
        done()
        socket.destroy()
        reject(err instanceof NetError ? err : netError(err, 'ECONNECT'))
      }
      const onConnect = () => {
        done()
        resolve(socket)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      socket.once('error', onError)
      socket.once('connect', onConnect)
    })
  }

  listen(options: StreamListenOptions, onConnection: StreamHandler): Promise<StreamListener> {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: options.allowHalfOpen ?? false, noDelay: true }, (socket) => {
        // An accepted socket can be reset before we see it: it has no address then, and nothing to give anyone.
        if (socket.remoteAddress === undefined) return socket.destroy()
        onConnection(socket)
      })
      const onListenError = (err: Error) => reject(netError(err, 'EBIND'))
      server.once('error', onListenError)
      server.listen({ port: options.port ?? 0, host: options.host ?? '0.0.0.0', backlog: options.backlog }, () => {
        server.off('error', onListenError)
        // After listening, errors (EMFILE on accept…) are reported, never thrown.
        server.on('error', (err) => options.onError?.(err))
        const a = server.address()
        if (!a || typeof a === 'string') {
          server.close()
          return reject(new NetError('EBIND', 'the listener has no address'))
        }
        const address = socketEndpoint(a.address, a.port) ?? { host: a.address, port: a.port }
        let closing: Promise<void> | undefined
        resolve({
          address: () => ({ ...address }),
          close: () => {
            closing ??= new Promise<void>((r) => server.close(() => r()))
            return closing
          },
        })
      })
    })
  }
}

/** The process's TCP stack: the default `StreamNetwork` of `Swarm` and `SwarmNode`. */
export const realTcp: StreamNetwork = new TcpNetwork()
