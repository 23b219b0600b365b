// Codec benchmark: our KRPC builders and parseKrpc against the generic `bencode` package (4.x, the anchor) and its
// 2.x line (`bencode2`, what k-rpc-socket and so bittorrent-dht use) on four typical messages. Ours does more on
// decode (typed, validated result) and writes canonical bytes directly on encode.
import { Buffer } from 'node:buffer'
import { loadavg } from 'node:os'
import bencode from 'bencode'
import bencode2 from 'bencode2'
import { bytesEqual } from '../src/codec/bytes.js'
import {
  buildAnnouncePeerQuery,
  buildFindNodeReply,
  buildGetPeersReply,
  buildPingQuery,
  parseKrpc,
} from '../src/codec/index.js'
import { note } from './record.js'
import { type Row, report } from './report.js'

const ROUNDS = 10
const ROUND_MS = 40

/** Runs `fn` for about `ms`; returns operations per second. */
function timed(fn: () => unknown, ms: number): number {
  let batch = 64
  let n = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn()
    n += batch
    now = performance.now()
    if (now - start < ms / 10) batch *= 2
  }
  return n / ((now - start) / 1000)
}

/**
 * Operations per second of each function, measured in interleaved rounds (ours, anchor, other, ours, …) so a
 * busy machine slows all of them alike; each figure is the best round (~1 s of measuring per comparison).
 */
function compare(fns: (() => unknown)[]): number[] {
  for (const fn of fns) timed(fn, 60) // warm-up: let the JIT settle before anything counts
  const best = fns.map(() => 0)
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < fns.length; i++) best[i] = Math.max(best[i], timed(fns[i], ROUND_MS))
  }
  return best
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 17) & 0xff
  return b
}

interface Case {
  name: string
  ours: () => Uint8Array
  /** The same message as a plain object, for the generic encoders. */
  object: Record<string, unknown>
}

function cases(): Case[] {
  const tid = bytes(2, 1)
  const nid = bytes(20, 2)
  const target = bytes(20, 3)
  const token = bytes(4, 4)
  const nodes = bytes(26 * 8, 5)
  const values: Uint8Array[] = []
  for (let i = 0; i < 50; i++) values.push(bytes(6, 100 + i))
  const v = Uint8Array.from([0x4c, 0x54, 0x02, 0x08])
  return [
    {
      name: 'ping_query',
      ours: () => buildPingQuery(tid, nid),
      object: { t: tid, y: 'q', q: 'ping', a: { id: nid } },
    },
    {
      name: 'find_node_reply',
      ours: () => buildFindNodeReply(tid, nid, nodes, { v }),
      object: { t: tid, y: 'r', r: { id: nid, nodes }, v },
    },
    {
      name: 'get_peers_reply',
      ours: () => buildGetPeersReply(tid, nid, values, undefined, token, { v }),
      object: { t: tid, y: 'r', r: { id: nid, token, values }, v },
    },
    {
      name: 'announce_peer_query',
      ours: () => buildAnnouncePeerQuery(tid, nid, target, token, 6881, { impliedPort: true }),
      object: {
        t: tid,
        y: 'q',
        q: 'announce_peer',
        a: { id: nid, implied_port: 1, info_hash: target, port: 6881, token },
      },
    },
  ]
}

/** bencode 2.x works on Buffers: give it Buffers, as k-rpc-socket does. */
function toBuffers(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v)
  if (Array.isArray(v)) return v.map(toBuffers)
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toBuffers(x)]))
  }
  return v
}

export async function run(): Promise<void> {
  note(
    `load average at start (1, 5, 15 min): ${loadavg()
      .map((x) => x.toFixed(1))
      .join(', ')}`,
  )
  const rows: Row[] = []
  const rows2: Row[] = []
  let sink = 0
  for (const c of cases()) {
    const wire = c.ours()
    // Same bytes as the generic encoder, or the comparison is meaningless.
    if (!bytesEqual(wire, bencode.encode(c.object))) throw new Error(`${c.name}: builder output differs from bencode`)
    const obj2 = toBuffers(c.object)
    const wire2 = Buffer.from(wire)

    const [encOurs, enc4, enc2] = compare([
      () => (sink += c.ours().length),
      () => (sink += bencode.encode(c.object).length),
      () => (sink += bencode2.encode(obj2).length),
    ])
    const [decOurs, dec4, dec2] = compare([
      () => (sink += parseKrpc(wire).t.length),
      () => (sink += (bencode.decode(wire) as { t: Uint8Array }).t.length),
      () => (sink += (bencode2.decode(wire2) as { t: Uint8Array }).t.length),
    ])

    rows.push({ key: `codec.${c.name}.encode`, ours: encOurs, anchor: enc4, unit: 'msg/s' })
    rows.push({ key: `codec.${c.name}.decode`, ours: decOurs, anchor: dec4, unit: 'msg/s' })
    rows2.push({ key: `codec.${c.name}.encode.vs_bencode2`, ours: encOurs, anchor: enc2, unit: 'msg/s' })
    rows2.push({ key: `codec.${c.name}.decode.vs_bencode2`, ours: decOurs, anchor: dec2, unit: 'msg/s' })
    note(`${c.name}: ${wire.length} bytes`)
  }
  report(
    'KRPC codec: ours (builders, typed+validated parseKrpc) vs bencode 4.x (generic encode/decode)',
    'bencode@4',
    rows,
  )
  report('KRPC codec: ours vs bencode 2.x (the line k-rpc-socket uses), same rounds', 'bencode@2', rows2)
  if (sink === 42) console.log('') // keep results observable so nothing is optimised away
}
