// Peer wire throughput: our incremental framer against a Buffer.concat framer of the kind bittorrent-protocol
// uses (no length bound, re-concatenating on every chunk), and ut_pex decoding against bencode@4 + a hand parse.
import { loadavg } from 'node:os'
import bencode from 'bencode'
import { encodeMessage } from '../src/codec/peer-wire.js'
import { decodePex, encodePex } from '../src/codec/pex.js'
import { WireFramer } from '../src/codec/wire-framer.js'
import { note } from './record.js'
import { report } from './report.js'

function stream(): Uint8Array {
  const parts: Uint8Array[] = []
  const block = new Uint8Array(16384)
  for (let i = 0; i < 64; i++) {
    parts.push(encodeMessage({ type: 'have', index: i }))
    parts.push(encodeMessage({ type: 'request', index: i, begin: 0, length: 16384 }))
    parts.push(encodeMessage({ type: 'piece', index: i, begin: 0, block }))
  }
  return Buffer.concat(parts)
}

function chunks(b: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size))
  return out
}

/** The anchor: concatenate pending bytes with each chunk, read a length, slice the message. */
function concatFramer(cs: Uint8Array[]): number {
  let pending = Buffer.alloc(0)
  let n = 0
  for (const c of cs) {
    pending = Buffer.concat([pending, c])
    for (;;) {
      if (pending.length < 4) break
      const len = pending.readUInt32BE(0)
      if (pending.length < 4 + len) break
      const body = pending.subarray(4, 4 + len)
      if (body.length > 0 && body[0] === 4) n += body.readUInt32BE(1) >= 0 ? 1 : 0
      else n++
      pending = pending.subarray(4 + len)
    }
  }
  return n
}

function ours(cs: Uint8Array[]): number {
  const f = new WireFramer({ handshake: false })
  let n = 0
  for (const c of cs) {
    f.push(c)
    while (f.next()) n++
  }
  return n
}

function time(fn: () => void, minMs = 400): number {
  fn()
  let iters = 0
  const start = performance.now()
  while (performance.now() - start < minMs) {
    fn()
    iters++
  }
  return (performance.now() - start) / iters
}

export async function run(): Promise<void> {
  note(
    `load average at start (1, 5, 15 min): ${loadavg()
      .map((x) => x.toFixed(1))
      .join(', ')}`,
  )
  const s = stream()
  const mb = s.length / 1e6
  const rows = []
  for (const size of [1460, 65536]) {
    const cs = chunks(s, size)
    const a = time(() => ours(cs))
    const b = time(() => concatFramer(cs))
    rows.push({ key: `wire.framer.chunk${size}.MBps`, ours: mb / (a / 1000), anchor: mb / (b / 1000), unit: 'MB/s' })
  }
  const added = Array.from({ length: 100 }, (_, i) => ({ host: `198.51.100.${i + 1}`, port: 6881 + i, flags: 0x0c }))
  const payload = encodePex({ added, dropped: added.slice(0, 20) })
  const pexOurs = time(() => decodePex(payload), 300)
  // The anchor does what decodePex does: both lists, each peer as {host, port} (added with its flags).
  const pexAnchor = time(() => {
    const d = bencode.decode(payload) as Record<string, Uint8Array>
    const peers = (a: Uint8Array, f?: Uint8Array) => {
      const out = []
      for (let i = 0; i + 6 <= a.length; i += 6) {
        out.push({
          host: `${a[i]}.${a[i + 1]}.${a[i + 2]}.${a[i + 3]}`,
          port: (a[i + 4] << 8) | a[i + 5],
          flags: f ? f[i / 6] : 0,
        })
      }
      return out
    }
    return [peers(d.added, d['added.f']), peers(d.dropped)]
  }, 300)
  note(
    `framer: ${s.length} bytes (64 × have, request, 16 KiB piece) fed in chunks; ut_pex: 100 added with flags + 20 dropped, ${payload.length} bytes`,
  )
  rows.push({ key: 'wire.pex.decode100.ops', ours: 1000 / pexOurs, anchor: 1000 / pexAnchor, unit: 'ops/s' })
  report('peer wire codecs (higher is better)', 'anchor', rows)
}
