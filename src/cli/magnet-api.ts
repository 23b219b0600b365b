// The metadata API agreed with the `metadata` branch (node.metadata, node.add(metainfo), its events), as the CLI
// uses it. Interim: replaced by the real types when that branch is merged.
import type { Metainfo } from '../codec/metainfo.js'
import type { Endpoint } from '../net/types.js'
import type { SwarmNode } from '../swarm/node.js'
import type { Swarm } from '../swarm/swarm.js'

export interface MetadataOptions {
  signal?: AbortSignal
  peers?: Endpoint[]
  dht?: boolean
  maxSize?: number
  maxPeers?: number
}

export interface MetadataResult {
  info: Uint8Array
  infoHash: Uint8Array
  metainfo: Metainfo
  from: Endpoint[]
  elapsedMs: number
}

export interface MetadataEvents {
  'metadata:peer': [{ infoHash: Uint8Array; peer: Endpoint; source: string }]
  'metadata:connected': [{ infoHash: Uint8Array; peer: Endpoint; transport: string }]
  'metadata:piece': [{ infoHash: Uint8Array; piece: number; pieces: number; peer: Endpoint }]
  'metadata:dropped': [{ infoHash: Uint8Array; peer: Endpoint; reason: string }]
}

export interface MetadataNode {
  metadata(infoHash: Uint8Array | string, opts?: MetadataOptions): Promise<MetadataResult>
  addTorrent(metainfo: Metainfo): Swarm
  on<K extends keyof MetadataEvents>(event: K, listener: (...args: MetadataEvents[K]) => void): unknown
}

/** The node seen through the metadata API. */
export function metadataNode(node: SwarmNode): MetadataNode {
  const n = node as unknown as {
    metadata: MetadataNode['metadata']
    add(m: Metainfo): Swarm
    on: MetadataNode['on']
  }
  return {
    metadata: (ih, opts) => n.metadata(ih, opts),
    addTorrent: (m) => n.add(m),
    on: (e, l) => n.on(e, l),
  }
}
