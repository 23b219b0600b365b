// Infohashes: SHA-1 (v1) and SHA-256 (v2) of the info dictionary's exact bytes; a hybrid torrent has both.
import { createHash } from 'node:crypto'
import type { Metainfo, MetainfoInfo } from '../codec/metainfo.js'
import { pieceLayerMatches } from './merkle.js'

export interface InfoHashes {
  /** SHA-1, 20 bytes: v1 and hybrid torrents. */
  v1?: Uint8Array
  /** SHA-256, 32 bytes: v2 and hybrid torrents (truncated to 20 bytes where a 20-byte id is needed). */
  v2?: Uint8Array
}

export function infoHashV1(infoBytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(infoBytes).digest())
}

export function infoHashV2(infoBytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(infoBytes).digest())
}

/** The infohashes a torrent of this version has. */
export function infoHashes(info: MetainfoInfo): InfoHashes {
  const out: InfoHashes = {}
  if (info.version !== 'v2') out.v1 = infoHashV1(info.bytes)
  if (info.version !== 'v1') out.v2 = infoHashV2(info.bytes)
  return out
}

/** Files (by path) whose piece layer does not hash up to their pieces root; empty when all match. */
export function badPieceLayers(m: Metainfo): string[] {
  const bad: string[] = []
  if (m.info.version === 'v1') return bad
  for (const f of m.info.files) {
    if (!f.piecesRoot || f.length <= m.info.pieceLength) continue
    const layer = m.pieceLayers?.get(Buffer.from(f.piecesRoot).toString('hex'))
    if (!layer || !pieceLayerMatches(layer, f.piecesRoot, m.info.pieceLength)) bad.push(f.path.join('/'))
  }
  return bad
}
