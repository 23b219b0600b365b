// The real I/O of port mapping: one UDP exchange with the gateway on a connected socket, the SSDP search, and
// HTTP for the IGD's description and SOAP control. The protocol clients take this as an interface (PortMapIo).
import { createSocket } from 'node:dgram'
import { request as httpRequest } from 'node:http'
import type { Endpoint } from '../types.js'
import { PortMapError, type PortMapProtocol } from './errors.js'
import { buildMSearch, MAX_XML, parseSsdpReply, type SsdpReply } from './igd-codec.js'

export interface UdpRequestOptions {
  protocol: PortMapProtocol
  /** Delays from the first send at which the request is sent again, ms. */
  resend: readonly number[]
  /** The whole exchange, ms. */
  timeout: number
  signal?: AbortSignal
}

export interface HttpReply {
  status: number
  body: string
}

export interface PortMapIo {
  /**
   * Sends `request` to `to` (again at each `resend` delay) and resolves with the first reply for which `accept`
   * returns a value. `accept` returns undefined for a reply to some other request and throws PortMapError
   * MALFORMED for garbage (remembered: a timeout after one is reported as MALFORMED). Only datagrams from `to`
   * are read (the socket is connected to it).
   */
  udpRequest<T>(
    to: Endpoint,
    request: Uint8Array,
    accept: (reply: Uint8Array) => T | undefined,
    opts: UdpRequestOptions,
  ): Promise<T>
  /** Our IPv4 address on the interface towards `host` (a UDP connect: nothing is sent). */
  localAddressTo(host: string): Promise<string>
  /** The first SSDP reply whose LOCATION names the host that sent it; undefined after `timeout` ms. */
  ssdpSearch(
    to: Endpoint,
    targets: readonly string[],
    timeout: number,
    signal?: AbortSignal,
  ): Promise<{ reply: SsdpReply; from: string } | undefined>
  http(
    url: string,
    opts: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeout: number },
  ): Promise<HttpReply>
}

function closedError(protocol?: PortMapProtocol): PortMapError {
  return new PortMapError('CLOSED', 'cancelled', protocol)
}

export const nodePortMapIo: PortMapIo = {
  udpRequest(to, request, accept, opts) {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(closedError(opts.protocol))
      const s = createSocket('udp4')
      const timers: NodeJS.Timeout[] = []
      let malformed: PortMapError | undefined
      let done = false
      const finish = (f: () => void) => {
        if (done) return
        done = true
        for (const t of timers) clearTimeout(t)
        opts.signal?.removeEventListener('abort', onAbort)
        s.close()
        f()
      }
      const onAbort = () => finish(() => reject(closedError(opts.protocol)))
      opts.signal?.addEventListener('abort', onAbort)
      s.on('error', (err: NodeJS.ErrnoException) =>
        finish(() =>
          reject(new PortMapError('NETWORK', `${to.host}:${to.port}: ${err.code ?? err.message}`, opts.protocol)),
        ),
      )
      s.on('message', (msg) => {
        try {
          const v = accept(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength))
          if (v !== undefined) finish(() => resolve(v))
        } catch (err) {
          if (err instanceof PortMapError) malformed = err
          else finish(() => reject(err))
        }
      })
      const send = () => {
        if (!done) s.send(request, (err) => err && s.emit('error', err))
      }
      s.connect(to.port, to.host, () => {
        send()
        for (const d of opts.resend) timers.push(setTimeout(send, d))
      })
      timers.push(
        setTimeout(
          () =>
            finish(() =>
              reject(
                malformed ??
                  new PortMapError(
                    'TIMEOUT',
                    `no answer from ${to.host}:${to.port} in ${opts.timeout} ms`,
                    opts.protocol,
                  ),
              ),
            ),
          opts.timeout,
        ),
      )
    })
  },

  localAddressTo(host) {
    return new Promise((resolve, reject) => {
      const s = createSocket('udp4')
      s.on('error', (err) => {
        s.close()
        reject(new PortMapError('NETWORK', `no route to ${host}: ${err.message}`))
      })
      s.connect(9, host, () => {
        const a = s.address().address
        s.close()
        resolve(a)
      })
    })
  },

  ssdpSearch(to, targets, timeout, signal) {
    return new Promise((resolve) => {
      const s = createSocket({ type: 'udp4', reuseAddr: false })
      const timers: NodeJS.Timeout[] = []
      let done = false
      const finish = (v: { reply: SsdpReply; from: string } | undefined) => {
        if (done) return
        done = true
        for (const t of timers) clearTimeout(t)
        signal?.removeEventListener('abort', onAbort)
        s.close()
        resolve(v)
      }
      const onAbort = () => finish(undefined)
      signal?.addEventListener('abort', onAbort)
      s.on('error', () => finish(undefined))
      s.on('message', (msg, rinfo) => {
        const reply = parseSsdpReply(msg.toString('latin1'))
        if (!reply) return
        // LOCATION must point at the host that answered: a reply naming a third party is ignored (no fetching
        // arbitrary URLs on the word of any datagram).
        let host: string
        try {
          host = new URL(reply.location).hostname
        } catch {
          return
        }
        if (host === rinfo.address) finish({ reply, from: rinfo.address })
      })
      s.bind(0, () => {
        try {
          s.setMulticastTTL(2)
        } catch {}
        const send = () => {
          for (const st of targets) if (!done) s.send(buildMSearch(st), to.port, to.host, () => {})
        }
        send()
        timers.push(setTimeout(send, Math.min(500, timeout / 3)))
      })
      timers.push(setTimeout(() => finish(undefined), timeout))
    })
  },

  http(url, opts) {
    return new Promise((resolve, reject) => {
      const body = opts.body === undefined ? undefined : Buffer.from(opts.body, 'utf8')
      const req = httpRequest(
        url,
        {
          method: opts.method,
          agent: false,
          headers: {
            Connection: 'close',
            ...(body ? { 'Content-Length': String(body.length) } : {}),
            ...opts.headers,
          },
          timeout: opts.timeout,
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (c: Buffer) => {
            size += c.length
            if (size > MAX_XML) {
              req.destroy()
              reject(new PortMapError('MALFORMED', `reply from ${url} over ${MAX_XML} bytes`, 'upnp'))
              return
            }
            chunks.push(c)
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
          res.on('error', (err) => reject(new PortMapError('NETWORK', `${url}: ${err.message}`, 'upnp')))
        },
      )
      req.on('timeout', () =>
        req.destroy(new PortMapError('TIMEOUT', `${url}: no answer in ${opts.timeout} ms`, 'upnp')),
      )
      req.on('error', (err) =>
        reject(err instanceof PortMapError ? err : new PortMapError('NETWORK', `${url}: ${err.message}`, 'upnp')),
      )
      req.end(body)
    })
  },
}
