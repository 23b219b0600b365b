// Shared set-up for the uTP simulations: two socket managers on a SimNetwork with virtual time.
import { createHash, randomBytes } from 'node:crypto'
import type { LinkConditions } from '../../src/net/sim/conditions.js'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import { UtpSocketManager, type UtpSocketManagerOptions } from '../../src/utp/socket-manager.js'
import type { UtpStream } from '../../src/utp/stream.js'

/** Transfer size of the big simulations: UTP_SIM_MIB (default 64). */
export const SIM_BYTES = Number(process.env.UTP_SIM_MIB ?? 64) * 1024 * 1024

export function simPair(conditions: LinkConditions, seed: number, opts: UtpSocketManagerOptions = {}) {
  const net = new SimNetwork({ random: new SeededRandom(seed), defaults: conditions })
  const clock = net.clock
  const sa = net.bind('198.51.100.1', 6881)
  const sb = net.bind('203.0.113.7', 6881)
  const common = { clock, ...opts }
  const a = new UtpSocketManager(sa, { ...common, random: new SeededRandom(seed + 1) })
  const b = new UtpSocketManager(sb, { ...common, random: new SeededRandom(seed + 2) })
  return { net, clock, sa, sb, a, b }
}

/**
 * A dials B and sends `size` random bytes; B hashes what arrives. Runs the virtual clock until both streams
 * closed. Returns hashes, byte count and virtual seconds.
 */
export async function transfer(p: ReturnType<typeof simPair>, size: number, timeoutMs = 36_000_000) {
  const data = randomBytes(size)
  const want = createHash('sha256').update(data).digest('hex')
  const h = createHash('sha256')
  let got = 0
  let ended = false
  let serverClosed = false
  let clientClosed = false
  let error: Error | null = null
  p.b.once('connection', (s: UtpStream) => {
    s.on('data', (d: Buffer) => {
      got += d.length
      h.update(d)
    })
    s.on('end', () => {
      ended = true
    })
    s.on('close', () => {
      serverClosed = true
    })
    s.on('error', (e) => {
      error = e
    })
  })
  const t0 = p.clock.now()
  const client = p.a.connect(p.sb.address())
  client.on('error', (e) => {
    error = e
  })
  client.on('close', () => {
    clientClosed = true
  })
  client.resume()
  const writer = (async () => {
    for (let off = 0; off < size; off += 65536) {
      if (!client.write(data.subarray(off, off + 65536))) await new Promise((r) => client.once('drain', r))
    }
    client.end()
  })()
  const ran = await p.clock.runUntil(() => (serverClosed && clientClosed) || error !== null, { timeout: timeoutMs })
  if (!ran) throw new Error(`transfer did not finish: ${got} of ${size} bytes after ${p.clock.now() - t0} virtual ms`)
  // A failed connection leaves the writer waiting for 'drain' forever: only await it after success.
  if (error === null) await writer
  return {
    want,
    got: h.digest('hex'),
    bytes: got,
    ended,
    error: error as Error | null,
    seconds: (p.clock.now() - t0) / 1000,
    client,
  }
}
