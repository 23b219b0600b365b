// `node.metadata(…)` on a SwarmNode: joins the swarm of the infohash (its info unknown), runs a MetadataFetch with
// the node's dialer, hole punch and DHT, and on success keeps the verified metainfo with the swarm, which serves
// it from then on. The node is seen through its public methods (`MetadataHost`).
import { type Metainfo, parseInfo } from '../codec/metainfo.js'
import type { Clock, Endpoint } from '../net/types.js'
import { WireError } from '../wire/errors.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import type { Initiator } from './initiator.js'
import {
  MetadataError,
  type MetadataEvents,
  type MetadataOptions,
  type MetadataPeerSource,
  type MetadataResult,
  type MetadataTarget,
  type MetadataTransport,
  matchesTarget,
  parseTarget,
} from './metadata.js'
import { MetadataFetch } from './metadata-fetch.js'
import type { Swarm } from './swarm.js'

/** What a fetch needs of its node (SwarmNode, seen through its public methods). */
export interface MetadataHost {
  readonly clock: Clock
  readonly dht: { getPeers(infoHash: Uint8Array, o: { signal?: AbortSignal }): AsyncIterable<Endpoint> } | undefined
  add(infoHash: Uint8Array): Swarm
  get(infoHash: Uint8Array): Swarm | undefined
  initiator(infoHash: Uint8Array): Initiator | undefined
  remove(infoHash: Uint8Array): Promise<void>
  isSelf(ep: Endpoint): boolean
  emit<K extends keyof MetadataEvents>(event: K, ...args: MetadataEvents[K]): boolean
}

/** The metainfo each swarm serves (set by `adoptMetainfo`). */
const metainfos = new WeakMap<Swarm, Metainfo>()
/** Each node's running fetches, ended by `stopFetches` when it closes. */
const fetches = new WeakMap<object, Set<MetadataFetch>>()

/** Keeps `m` as the swarm's metainfo and serves its info dictionary over ut_metadata from now on. */
export function adoptMetainfo(swarm: Swarm, m: Metainfo): void {
  metainfos.set(swarm, m)
  // BEP 27: a private torrent's info spreads only through its tracker; libtorrent leaves ut_metadata out for it.
  if (!m.info.private) swarm.setMetadata(m.info.bytes)
}

export function metainfoOf(swarm: Swarm | undefined): Metainfo | undefined {
  return swarm && metainfos.get(swarm)
}

/** Ends the node's running fetches (`MetadataError('CLOSED')`). */
export function stopFetches(host: object): void {
  for (const f of fetches.get(host) ?? []) f.stop(new MetadataError('CLOSED', 'the node closed'))
  fetches.delete(host)
}

/** Fetches running per swarm: a second call for the same torrent waits for the first rather than racing it. */
const running = new WeakMap<Swarm, Promise<unknown>>()

export async function fetchMetadata(
  host: MetadataHost,
  target: Uint8Array | string,
  opts: MetadataOptions = {},
): Promise<MetadataResult> {
  const t = parseTarget(target)
  const started = host.clock.now()
  const known = metainfoOf(host.get(t.swarmHash))
  if (known && matchesTarget(known.info.bytes, t)) {
    return { info: known.info.bytes, infoHash: t.infoHash, metainfo: known, from: [], elapsedMs: 0 }
  }
  if (opts.signal?.aborted) throw new MetadataError('ABORTED', 'the metadata fetch was aborted')
  const created = host.get(t.swarmHash) === undefined
  const swarm = host.add(t.swarmHash)
  const initiator = host.initiator(t.swarmHash) as Initiator
  const other = running.get(swarm)
  if (other) {
    // Whatever the first one's outcome, look again: it may have found the metadata, or failed for its own reasons.
    await abortable(
      other.catch(() => {}),
      opts.signal,
    )
    return fetchMetadata(host, target, opts)
  }
  const p = fetchInSwarm(host, t, opts, started, { swarm, initiator, created })
  running.set(swarm, p)
  try {
    return await p
  } finally {
    running.delete(swarm)
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new MetadataError('ABORTED', 'the metadata fetch was aborted'))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

async function fetchInSwarm(
  host: MetadataHost,
  t: MetadataTarget,
  opts: MetadataOptions,
  started: number,
  { swarm, initiator, created }: { swarm: Swarm; initiator: Initiator; created: boolean },
): Promise<MetadataResult> {
  const punched = new WeakSet<PeerConnection>()
  const onPunched = (r: { conn: PeerConnection }) => punched.add(r.conn)
  initiator.on('hp_connected', onPunched)
  const given: { ep: Endpoint; source: MetadataPeerSource }[] = [
    ...(opts.peers ?? []).map((ep) => ({ ep, source: 'given' as const })),
    ...t.peers.map((ep) => ({ ep, source: 'x.pe' as const })),
  ]
  const dht = opts.dht !== false ? host.dht : undefined
  const fetch = new MetadataFetch(
    {
      swarm,
      clock: host.clock,
      verify: (info) => matchesTarget(info, t),
      connect: (ep, signal) => connectFor(swarm, initiator, ep, signal),
      lookup: dht ? (signal) => dht.getPeers(t.swarmHash, { signal }) : undefined,
      isSelf: (ep) => host.isSelf(ep),
      holepunched: (c) => punched.has(c) || initiator.punchFor(c.remote) !== undefined,
      emit: (event, ...args) => host.emit(event, ...args),
    },
    {
      peers: given,
      maxSize: opts.maxSize ?? 16 * 1024 * 1024,
      maxPeers: opts.maxPeers ?? 8,
      maxOutstanding: opts.maxOutstanding ?? 8,
      requestTimeout: opts.requestTimeout ?? 10_000,
      signal: opts.signal,
    },
  )
  let mine = fetches.get(host)
  if (!mine) fetches.set(host, (mine = new Set()))
  mine.add(fetch)
  fetch.start()
  try {
    const r = await fetch.promise
    const metainfo: Metainfo = { info: parseInfo(r.info), extra: Object.create(null) }
    if (t.trackers.length > 0) {
      metainfo.announce = t.trackers[0]
      metainfo.announceList = t.trackers.map((tr) => [tr])
    }
    adoptMetainfo(swarm, metainfo)
    return {
      info: r.info,
      infoHash: t.infoHash,
      metainfo,
      from: r.fromEndpoints,
      elapsedMs: host.clock.now() - started,
    }
  } catch (err) {
    if (created) await host.remove(t.swarmHash)
    throw err
  } finally {
    mine.delete(fetch)
    initiator.off('hp_connected', onPunched)
  }
}

/** Dials `ep` for the swarm: uTP, then TCP, then (for a holepunch-capable peer) a rendezvous and a punch. */
async function connectFor(
  swarm: Swarm,
  initiator: Initiator,
  ep: Endpoint,
  signal: AbortSignal,
): Promise<{ conn: PeerConnection; transport: MetadataTransport }> {
  try {
    const conn = await swarm.connect(ep, { signal })
    return { conn, transport: conn.transport }
  } catch (err) {
    const unreachable = err instanceof WireError && err.code === 'DIAL_FAILED'
    if (!unreachable || signal.aborted || !initiator.supportsHolepunch(ep) || !initiator.findIntroducer(ep)) throw err
    return { conn: (await initiator.rendezvous(ep)).conn, transport: 'holepunch' }
  }
}
