// The BEP 9 metadata API of SwarmNode (`node.metadata(…)`): its options, result, events and errors, and what a
// target names (a hex infohash, 20 or 32 bytes, or a magnet link with its `x.pe` peers). The fetch itself is in
// metadata-fetch.ts; the piece bookkeeping and verification in metadata-assembly.ts.
import { bytesEqual, fromHex } from '../codec/bytes.js'
import { parseMagnet } from '../codec/magnet.js'
import type { Metainfo } from '../codec/metainfo.js'
import type { Endpoint } from '../net/types.js'
import { infoHashV1, infoHashV2 } from '../torrent/hash.js'

export interface MetadataOptions {
  /** Stops the fetch; it rejects with `MetadataError('ABORTED')`. */
  signal?: AbortSignal
  /** Peers to try at once, beside the DHT's and PEX's (a magnet link's `x.pe` are added to these). */
  peers?: Endpoint[]
  /** Find peers through the node's DHT (`get_peers`). Default true when the node has a DHT. */
  dht?: boolean
  /** Refuse a `metadata_size` above this many bytes: such a peer is dropped (`too_large`). Default 16 MiB. */
  maxSize?: number
  /** Peers used at once (connected or being dialed). Default 8. */
  maxPeers?: number
  /** Requests outstanding at one peer. Default 8. */
  maxOutstanding?: number
  /** A peer with requests outstanding that answers nothing for this long is dropped (`timeout`), ms. Default 10 s. */
  requestTimeout?: number
}

export interface MetadataResult {
  /** The exact bencoded info dictionary, verified against the infohash. */
  info: Uint8Array
  /** The infohash asked for (20 bytes v1, or 32 bytes v2). */
  infoHash: Uint8Array
  /** The parsed metainfo (info only, plus the magnet's trackers as its announce list when a magnet was given). */
  metainfo: Metainfo
  /** Peers whose pieces made up the result (their listen endpoints where known). */
  from: Endpoint[]
  elapsedMs: number
}

export type MetadataPeerSource = 'dht' | 'x.pe' | 'pex' | 'given'
export type MetadataTransport = 'utp' | 'tcp' | 'holepunch'
/**
 * Why a peer is no longer asked: `corrupt` (its pieces are not those of the verified whole), `rejected` (refuses
 * us), `too_large` (announced a metadata_size over `maxSize`), `invalid` (a message that breaks BEP 9: piece out
 * of range, wrong size, total_size unlike its metadata_size), `timeout` (silent with requests outstanding),
 * `unsolicited` (sends pieces nobody asked for), `unverified` (every whole of its announced size fails the hash).
 */
export type MetadataDropReason =
  | 'corrupt'
  | 'rejected'
  | 'too_large'
  | 'invalid'
  | 'timeout'
  | 'unsolicited'
  | 'unverified'

/** Progress of `node.metadata(…)`, emitted on the node. `infoHash` is the 20-byte swarm infohash. */
export type MetadataEvents = {
  'metadata:peer': [e: { infoHash: Uint8Array; peer: Endpoint; source: MetadataPeerSource }]
  'metadata:connected': [e: { infoHash: Uint8Array; peer: Endpoint; transport: MetadataTransport }]
  /** A piece arrived (`received` pieces of `pieces` have a version now). */
  'metadata:piece': [e: { infoHash: Uint8Array; piece: number; pieces: number; received: number; peer: Endpoint }]
  /** A peer is no longer asked (and, unless it merely refused, disconnected). */
  'metadata:dropped': [e: { infoHash: Uint8Array; peer: Endpoint; reason: MetadataDropReason; detail?: string }]
  /** The whole of `size` bytes was assembled and failed the hash: second opinions follow. */
  'metadata:verify_failed': [e: { infoHash: Uint8Array; size: number }]
}

export type MetadataErrorCode =
  | 'BAD_TARGET' // not an infohash or a magnet link
  | 'NOT_FOUND' // no peer gave us the metadata (none found, all refused or dropped)
  | 'TOO_LARGE' // every peer that had it announced a size over maxSize
  | 'VERIFY_FAILED' // pieces came, but no whole of them hashes to the infohash
  | 'ABORTED' // the signal fired
  | 'CLOSED' // the node closed

export class MetadataError extends Error {
  override readonly name = 'MetadataError'
  constructor(
    readonly code: MetadataErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** What `node.metadata` is asked for. */
export interface MetadataTarget {
  /** The 20-byte infohash the swarm runs under (v1, or a v2 hash truncated, as BEP 52 handshakes do). */
  swarmHash: Uint8Array
  /** The hash reported in the result: 20 bytes (v1) or 32 (v2). */
  infoHash: Uint8Array
  v1?: Uint8Array
  v2?: Uint8Array
  peers: Endpoint[]
  trackers: string[]
  magnet: boolean
}

/** Reads a target: a 20- or 32-byte infohash (bytes or hex), or a magnet link. */
export function parseTarget(target: Uint8Array | string): MetadataTarget {
  let v1: Uint8Array | undefined
  let v2: Uint8Array | undefined
  let peers: Endpoint[] = []
  let trackers: string[] = []
  let magnet = false
  if (typeof target === 'string' && /^magnet:/i.test(target)) {
    let link: ReturnType<typeof parseMagnet>
    try {
      link = parseMagnet(target)
    } catch (err) {
      throw new MetadataError('BAD_TARGET', (err as Error).message, { cause: err })
    }
    v1 = link.infoHash
    v2 = link.infoHashV2
    peers = link.peers.map((p) => ({ host: p.host, port: p.port }))
    trackers = link.trackers
    magnet = true
  } else {
    const bytes = typeof target === 'string' ? fromHex(target) : target
    if (bytes?.length === 20) v1 = bytes
    else if (bytes?.length === 32) v2 = bytes
    else throw new MetadataError('BAD_TARGET', 'expected a 20- or 32-byte infohash (hex) or a magnet link')
  }
  const swarmHash = v1 ?? (v2 as Uint8Array).subarray(0, 20)
  return { swarmHash, infoHash: v1 ?? (v2 as Uint8Array), v1, v2, peers, trackers, magnet }
}

/** Whether `info` hashes to every infohash the target names. */
export function matchesTarget(info: Uint8Array, t: Pick<MetadataTarget, 'v1' | 'v2'>): boolean {
  if (t.v1 && !bytesEqual(infoHashV1(info), t.v1)) return false
  if (t.v2 && !bytesEqual(infoHashV2(info), t.v2)) return false
  return t.v1 !== undefined || t.v2 !== undefined
}

/** The 20-byte infohash a torrent's swarm runs under: v1 (also for hybrids), else the truncated v2. */
export function swarmInfoHash(info: { bytes: Uint8Array; version: 'v1' | 'v2' | 'hybrid' }): Uint8Array {
  return info.version === 'v2' ? infoHashV2(info.bytes).subarray(0, 20) : infoHashV1(info.bytes)
}
