// Attackers and legitimate peers for the handshake-admission tests, on loopback. The whole of 127/8 is ours, so
// each attacker address is a real local address (127.a.b.c) that a socket can bind: a "spoofed" source is one
// whose owner never answers what we send it.
import { spawn } from 'node:child_process'
import { createSocket, type Socket as UdpRaw } from 'node:dgram'
import { connect, type Socket } from 'node:net'
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH, makeReserved } from '../../src/codec/peer-wire.js'
import { encodeUtpPacket, ST_SYN } from '../../src/codec/utp-packet.js'
import type { Endpoint } from '../../src/net/types.js'
import { UdpSocket } from '../../src/net/udp.js'
import { UtpSocketManager } from '../../src/utp/socket-manager.js'

const FLOOD_SCRIPT = new URL('./admission-flood.ts', import.meta.url).pathname

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** The i-th address of an attacker's block: `127.<net>.<i / 250>.<i % 250 + 1>`. */
export function attackerAddress(net: number, i: number): string {
  return `127.${net}.${Math.floor(i / 250)}.${(i % 250) + 1}`
}

/** One address per /24: `127.<net>.<i>.1` (an attacker spread over many prefixes, the hard case for fairness). */
export function spreadAddress(net: number, i: number): string {
  return `127.${net}.${i % 256}.${1 + Math.floor(i / 256)}`
}

function bindRaw(host: string): Promise<UdpRaw> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4')
    s.once('error', reject)
    s.bind(0, host, () => {
      s.off('error', reject)
      // Whatever the target answers (SYN-ACKs, resets) is read and thrown away: a spoofer never sees it.
      s.on('error', () => {})
      resolve(s)
    })
  })
}

let synId = 1
function syn(): Uint8Array {
  synId = (synId + 7919) & 0xffff
  return encodeUtpPacket({
    type: ST_SYN,
    connId: synId,
    timestamp: 0,
    timestampDiff: 0,
    wnd: 0,
    seq: synId ^ 0x5a5a,
    ack: 0,
  })
}

/** An attack that runs until `stop()`; `sent` counts its packets or connections. */
export interface Attack {
  readonly sent: number
  stop(): Promise<void>
}

/** `rate` SYNs per second, each from an address never used before (a socket bound, used once, closed). */
export function synTrickle(target: Endpoint, rate: number, net: number): Attack {
  let sent = 0
  let stopped = false
  const open = new Set<Promise<void>>()
  const timer = setInterval(() => {
    if (stopped) return
    const host = spreadAddress(net, sent++)
    const p = bindRaw(host).then(
      (s) =>
        new Promise<void>((resolve) => {
          s.send(syn(), target.port, target.host, () => s.close(() => resolve()))
        }),
      () => {},
    )
    open.add(p)
    void p.then(() => open.delete(p))
  }, 1000 / rate)
  return {
    get sent() {
      return sent
    },
    async stop() {
      stopped = true
      clearInterval(timer)
      await Promise.all(open)
    },
  }
}

/**
 * `rate` SYNs per second spread over `addresses` sources (bound once), each SYN with a fresh connection id, from a
 * child process (admission-flood.ts): the flood and the replies it draws then load the other core, not the node's
 * event loop, as an attacker on another machine would.
 */
export async function synFlood(target: Endpoint, rate: number, addresses: number, net: number): Promise<Attack> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', FLOOD_SCRIPT, target.host, String(target.port), String(rate), String(addresses), String(net)],
    // Its stdin is a pipe from us: when this process ends, however it ends, the child sees EOF and stops.
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (!out.includes('ready')) return
      child.stdout.off('data', onData)
      resolve()
    }
    child.stdout.on('data', onData)
    child.once('exit', (code) => reject(new Error(`flood process exited (${code}) before it was ready`)))
  })
  return {
    get sent() {
      const m = /sent (\d+)\s*$/.exec(out)
      return m ? Number(m[1]) : 0
    },
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** The flood itself, run in the child process (see `synFlood`). */
export async function runFlood(target: Endpoint, rate: number, addresses: number, net: number): Promise<Attack> {
  const sockets = await Promise.all(Array.from({ length: addresses }, (_, i) => bindRaw(attackerAddress(net, i))))
  let sent = 0
  const tickMs = 10
  let last = performance.now()
  let owed = 0
  const timer = setInterval(() => {
    // Catch up after a late timer: the rate is per second of wall time, not per tick.
    const now = performance.now()
    owed += ((now - last) * rate) / 1000
    last = now
    for (; owed >= 1; owed--) sockets[sent++ % sockets.length].send(syn(), target.port, target.host)
  }, tickMs)
  return {
    get sent() {
      return sent
    },
    async stop() {
      clearInterval(timer)
      await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))))
    },
  }
}

function tcpOpen(target: Endpoint, localAddress: string, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: target.host, port: target.port, localAddress })
    const onAbort = () => {
      s.destroy()
      reject(new Error('connect timeout'))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    s.once('connect', () => {
      signal?.removeEventListener('abort', onAbort)
      s.off('error', reject)
      resolve(s)
    })
    s.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort)
      reject(err)
    })
  })
}

/**
 * Holds one TCP connection from each address, reopened `reopenMs` after the target closes it. With `handshake`,
 * each connection sends a BitTorrent handshake for `infoHash` and then nothing: handshaken but useless. Without,
 * it sends nothing at all (slowloris).
 */
export function holdTcp(
  target: Endpoint,
  hosts: string[],
  opts: { infoHash?: Uint8Array; reopenMs?: number } = {},
): Attack & { readonly open: number } {
  let stopped = false
  let sent = 0
  const live = new Set<Socket>()
  const hold = (host: string, n: number): void => {
    if (stopped) return
    tcpOpen(target, host).then(
      (s) => {
        sent++
        if (stopped) return void s.destroy()
        live.add(s)
        s.on('error', () => {})
        s.on('data', () => {})
        if (opts.infoHash) s.write(handshake(opts.infoHash, n))
        s.once('close', () => {
          live.delete(s)
          setTimeout(() => hold(host, n), opts.reopenMs ?? 100)
        })
      },
      () => setTimeout(() => hold(host, n), opts.reopenMs ?? 100),
    )
  }
  for (const [i, h] of hosts.entries()) hold(h, i)
  return {
    get sent() {
      return sent
    },
    get open() {
      return live.size
    },
    async stop() {
      stopped = true
      for (const s of live) s.destroy()
      live.clear()
    },
  }
}

function handshake(infoHash: Uint8Array, n: number): Uint8Array {
  const peerId = new Uint8Array(20).fill(0x41)
  new DataView(peerId.buffer).setUint32(16, n + 1)
  peerId[0] = n & 0xff
  return encodeHandshake({ reserved: makeReserved({ extension: true }), infoHash, peerId })
}

/** Reads the peer's 68-byte handshake from a stream; rejects if the stream closes first or `ms` passes. */
function awaitHandshake(s: NodeJS.ReadableStream & { destroy(): void }, infoHash: Uint8Array, ms: number) {
  return new Promise<void>((resolve, reject) => {
    let got = Buffer.alloc(0)
    const timer = setTimeout(() => done(new Error('no handshake in time')), ms)
    const done = (err?: Error) => {
      clearTimeout(timer)
      s.off('data', onData)
      s.off('close', onClose)
      if (err) reject(err)
      else resolve()
    }
    const onData = (c: Buffer) => {
      got = Buffer.concat([got, c])
      if (got.length < HANDSHAKE_LENGTH) return
      const h = decodeHandshake(got.subarray(0, HANDSHAKE_LENGTH))
      done(Buffer.from(h.infoHash).equals(Buffer.from(infoHash)) ? undefined : new Error('wrong info hash'))
    }
    const onClose = () => done(new Error('closed before the handshake'))
    s.on('data', onData)
    s.once('close', onClose)
  })
}

/** A legitimate peer: complete handshakes over TCP and uTP, from its own address. */
export class LegitPeer {
  readonly results: { transport: 'tcp' | 'utp'; ok: boolean; ms: number; error?: string }[] = []
  private n = 1000
  private constructor(
    private readonly target: Endpoint,
    private readonly infoHash: Uint8Array,
    private readonly host: string,
    private readonly udp: UdpSocket,
    private readonly utp: UtpSocketManager,
  ) {}

  static async create(target: Endpoint, infoHash: Uint8Array, host = '127.0.0.1'): Promise<LegitPeer> {
    const udp = await UdpSocket.bind({ host })
    return new LegitPeer(target, infoHash, host, udp, new UtpSocketManager(udp))
  }

  /** One handshake over each transport; resolves when both ended (within `ms` each). */
  async probe(ms = 4000): Promise<void> {
    await Promise.all([this.once('tcp', ms), this.once('utp', ms)])
  }

  /** Probes every `everyMs` for `durationMs`, then waits for the last ones. */
  async probeFor(durationMs: number, everyMs = 500, ms = 4000): Promise<void> {
    const all: Promise<void>[] = []
    const end = Date.now() + durationMs
    while (Date.now() < end) {
      all.push(this.probe(ms))
      await sleep(everyMs)
    }
    await Promise.all(all)
  }

  successRate(): number {
    return this.results.filter((r) => r.ok).length / this.results.length
  }

  summary(): string {
    const fails = this.results.filter((r) => !r.ok)
    return `${this.results.length - fails.length}/${this.results.length} ok; failures: ${
      fails.map((f) => `${f.transport}: ${f.error}`).join(', ') || 'none'
    }`
  }

  async close(): Promise<void> {
    await this.utp.close()
    await this.udp.close()
  }

  private async once(transport: 'tcp' | 'utp', ms: number): Promise<void> {
    const t0 = Date.now()
    const hs = handshake(this.infoHash, this.n++)
    let stream: (NodeJS.ReadableStream & NodeJS.WritableStream & { destroy(): void }) | undefined
    try {
      const deadline = AbortSignal.timeout(ms)
      if (transport === 'tcp') {
        stream = await tcpOpen(this.target, this.host, deadline)
      } else stream = await this.utp.dial(this.target, { signal: deadline })
      stream.on('error', () => {})
      const got = awaitHandshake(stream, this.infoHash, Math.max(1, ms - (Date.now() - t0)))
      stream.write(hs)
      await got
      this.results.push({ transport, ok: true, ms: Date.now() - t0 })
    } catch (err) {
      this.results.push({ transport, ok: false, ms: Date.now() - t0, error: (err as Error).message })
    } finally {
      stream?.destroy()
    }
  }
}
