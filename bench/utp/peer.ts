// One side of a bench/utp.ts transfer, in its own process:
//   peer.ts recv <kind>              binds on 127.0.0.1, prints "PORT <n>", receives until the sender ends,
//                                    prints "DONE <bytes> <seconds> <cpuSeconds>"
//   peer.ts send <kind> <port> <bytes>   sends <bytes> bytes, prints "DONE <bytes> <seconds> <cpuSeconds>", then
//                                    stays up (its stack may still be sending) until a line on stdin, and answers
//                                    "CPU <cpuSeconds since the first byte>"
// kinds: ours (our uTP), native (utp-native = libutp), tcp (node:net), udp (raw datagrams: the ceiling), and base:
// our uTP from another checkout (env UTP_BENCH_BASE, its root directory), to compare a change against what it changed.
import { createSocket } from 'node:dgram'
import { createRequire } from 'node:module'
import { createConnection, createServer } from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { UdpSocket as OurUdpSocket } from '../../src/net/udp.js'
import { UtpSocketManager as OurUtpSocketManager } from '../../src/utp/socket-manager.js'

const [role, kind, portArg, bytesArg] = process.argv.slice(2)
const BUF = 4 * 1024 * 1024
// libutp's UDP receive buffer (env UTP_BENCH_NATIVE_RCVBUF; 0 keeps the kernel's default, ~208 KiB on Linux, which
// is what a libutp client that does not raise it, or whose raise the kernel caps at rmem_max, receives into).
const NATIVE_RCVBUF = Number(process.env.UTP_BENCH_NATIVE_RCVBUF ?? BUF)
// Our uTP receive window (libutp's default receive buffer is 1 MiB too).
const WND = Number(process.env.UTP_BENCH_WND ?? 1024 * 1024)
const CHUNK = 64 * 1024
const UDP_PAYLOAD = 1420

interface NativeSocket extends Duplex {}
interface NativeUtp {
  listen(port: number, host: string, cb: () => void): void
  address(): { port: number }
  on(e: 'connection', f: (s: NativeSocket) => void): void
  connect(port: number, host: string): NativeSocket
  setRecvBufferSize(n: number): number
  setSendBufferSize(n: number): number
  bind(port: number, host: string, cb?: () => void): void
  close(): void
}
const nativeUtp = createRequire(import.meta.url)('utp-native') as {
  (): NativeUtp
  createServer(f?: (s: NativeSocket) => void): NativeUtp
}

/** Our uTP, from this checkout or (kind base) from the checkout at UTP_BENCH_BASE. */
async function utpStack(): Promise<{ UdpSocket: typeof OurUdpSocket; UtpSocketManager: typeof OurUtpSocketManager }> {
  if (kind !== 'base') return { UdpSocket: OurUdpSocket, UtpSocketManager: OurUtpSocketManager }
  const base = process.env.UTP_BENCH_BASE
  if (!base) throw new Error('kind base needs UTP_BENCH_BASE')
  const load = (rel: string) => import(pathToFileURL(join(base, rel)).href)
  const [{ UdpSocket }, { UtpSocketManager }] = await Promise.all([
    load('src/net/udp.ts'),
    load('src/utp/socket-manager.ts'),
  ])
  return { UdpSocket, UtpSocketManager }
}

function cpu(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

function done(bytes: number, t0: number, c0: number): void {
  process.stdout.write(`DONE ${bytes} ${(performance.now() - t0) / 1000} ${cpu() - c0}\n`)
}

/** Counts bytes from `s` until it ends; timing starts at the first byte. */
function receive(s: Duplex, onEnd: () => void): void {
  let n = 0
  let t0 = 0
  let c0 = 0
  s.on('data', (d: Buffer) => {
    if (n === 0) {
      t0 = performance.now()
      c0 = cpu()
    }
    n += d.length
  })
  s.on('end', () => {
    done(n, t0, c0)
    onEnd()
  })
}

let sendCpu0 = 0

async function send(s: Duplex, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(CHUNK, 0x5a)
  const t0 = performance.now()
  const c0 = cpu()
  sendCpu0 = c0
  for (let sent = 0; sent < bytes; sent += CHUNK) {
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r))
  }
  await new Promise<void>((r) => s.end(r))
  done(bytes, t0, c0)
}

async function main(): Promise<void> {
  const { UdpSocket, UtpSocketManager } = await utpStack()
  if (role === 'recv') {
    if (kind === 'ours' || kind === 'base') {
      const sock = await UdpSocket.bind({ host: '127.0.0.1', recvBufferSize: BUF, sendBufferSize: BUF })
      const mgr = new UtpSocketManager(sock, { recvBufferSize: WND })
      mgr.on('connection', (s: Duplex) => receive(s, () => setTimeout(() => process.exit(0), 50)))
      process.stdout.write(`PORT ${sock.address().port}\n`)
    } else if (kind === 'native') {
      // Exits a moment after the end: libutp acknowledges the FIN only after it reported the end.
      const server = nativeUtp.createServer((s) => receive(s, () => setTimeout(() => process.exit(0), 50)))
      server.listen(0, '127.0.0.1', () => {
        if (NATIVE_RCVBUF > 0) server.setRecvBufferSize(NATIVE_RCVBUF)
        server.setSendBufferSize(BUF)
        process.stdout.write(`PORT ${server.address().port}\n`)
      })
    } else if (kind === 'tcp') {
      const server = createServer((s) => receive(s, () => process.exit(0)))
      server.listen(0, '127.0.0.1', () => {
        const a = server.address()
        process.stdout.write(`PORT ${typeof a === 'object' && a ? a.port : 0}\n`)
      })
    } else if (kind === 'udp') {
      const sock = createSocket({ type: 'udp4', recvBufferSize: BUF })
      let n = 0
      let t0 = 0
      let c0 = 0
      let last = 0
      sock.on('message', (m) => {
        if (n === 0) {
          t0 = performance.now()
          c0 = cpu()
        }
        if (m.length === 1) {
          // End marker; goodput counts bytes that arrived (raw UDP drops what the receiver cannot keep up with).
          process.stdout.write(`DONE ${n} ${(last - t0) / 1000} ${cpu() - c0}\n`)
          process.exit(0)
        }
        n += m.length
        last = performance.now()
      })
      sock.bind(0, '127.0.0.1', () => process.stdout.write(`PORT ${sock.address().port}\n`))
    }
    return
  }
  const port = Number(portArg)
  const bytes = Number(bytesArg)
  if (kind === 'ours' || kind === 'base') {
    const sock = await UdpSocket.bind({ host: '127.0.0.1', recvBufferSize: BUF, sendBufferSize: BUF })
    const mgr = new UtpSocketManager(sock, { recvBufferSize: WND })
    const s = await mgr.dial({ host: '127.0.0.1', port })
    const t0 = performance.now()
    // Our sender's counters (stderr, for the bench's notes): when the last byte was acked, and when asked for CPU.
    const stats = (when: string) => {
      const { packetsSent, resent, fastResent, spurious, timeouts } = s.conn.stats
      const secs = ((performance.now() - t0) / 1000).toFixed(2)
      process.stderr.write(
        `STATS ${when} ${secs} s: packets ${packetsSent}, resent ${resent}, fast ${fastResent}, ` +
          `spurious ${spurious}, timeouts ${timeouts}${s.errored ? `, error ${s.errored.message}` : ''}\n`,
      )
    }
    s.once('finish', () => stats('finish'))
    process.stdin.once('data', () => stats('asked'))
    await send(s, bytes)
  } else if (kind === 'native') {
    const u = nativeUtp()
    u.bind(0, '127.0.0.1')
    await new Promise((r) => setTimeout(r, 20))
    if (NATIVE_RCVBUF > 0) u.setRecvBufferSize(NATIVE_RCVBUF)
    u.setSendBufferSize(BUF)
    const s = u.connect(port, '127.0.0.1')
    await send(s, bytes)
  } else if (kind === 'tcp') {
    const s = createConnection({ port, host: '127.0.0.1' })
    await new Promise((r) => s.once('connect', r))
    await send(s, bytes)
  } else if (kind === 'udp') {
    const sock = createSocket({ type: 'udp4', sendBufferSize: BUF })
    sock.on('error', () => {}) // ECONNREFUSED once the receiver is gone
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
    sock.connect(port, '127.0.0.1')
    await new Promise((r) => sock.once('connect', r))
    const dgram = Buffer.alloc(UDP_PAYLOAD, 0x5a)
    const t0 = performance.now()
    const c0 = cpu()
    sendCpu0 = c0
    // Paced in bursts so the kernel queue does not just overflow: a burst, then yield to the event loop.
    for (let sent = 0; sent < bytes; ) {
      for (let i = 0; i < 256 && sent < bytes; i++, sent += UDP_PAYLOAD) sock.send(dgram)
      await new Promise((r) => setImmediate(r))
    }
    done(bytes, t0, c0)
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 20))
      sock.send(Buffer.alloc(1))
    }
  }
  // The receiver decides when the transfer is over: stay up until the parent asks for our CPU time.
  process.stdin.once('data', () => {
    process.stdout.write(`CPU ${cpu() - sendCpu0}\n`)
    process.exit(0)
  })
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
