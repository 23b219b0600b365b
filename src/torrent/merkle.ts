// BEP 52 merkle trees: SHA-256 over 16 KiB blocks, a branching factor of 2, leaves past the end of a file set to
// zero. A piece layer is the layer where one hash covers `piece length` bytes.
import { createHash } from 'node:crypto'

export const MERKLE_BLOCK = 16 * 1024
const ZERO: Uint8Array = new Uint8Array(32)

function sha256(a: Uint8Array, b: Uint8Array): Uint8Array {
  return createHash('sha256').update(a).update(b).digest()
}

function nextPow2(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** The hash of a subtree of `leaves` zero leaves (a power of two). */
export function zeroSubtree(leaves: number): Uint8Array {
  let h: Uint8Array = ZERO
  for (let n = leaves; n > 1; n /= 2) h = sha256(h, h)
  return h
}

/** Root over `hashes`, padded to a power of two (at least `minWidth`) with `pad`. */
export function merkleRoot(hashes: readonly Uint8Array[], pad: Uint8Array = ZERO, minWidth = 1): Uint8Array {
  const width = nextPow2(Math.max(hashes.length, minWidth))
  let layer = [...hashes]
  let padding = pad
  for (let w = width; w > 1; w /= 2) {
    const next: Uint8Array[] = []
    for (let i = 0; i < w; i += 2) next.push(sha256(layer[i] ?? padding, layer[i + 1] ?? padding))
    layer = next
    padding = sha256(padding, padding)
  }
  return layer[0] ?? pad
}

/**
 * From a file's block hashes (one per 16 KiB, the last block possibly short): its pieces root and, when the
 * file is larger than one piece, its piece layer (one 32-byte hash per piece, concatenated).
 */
export function fileMerkle(
  blockHashes: readonly Uint8Array[],
  pieceLength: number,
): {
  root: Uint8Array
  pieceLayer?: Uint8Array
} {
  const perPiece = pieceLength / MERKLE_BLOCK
  if (blockHashes.length <= perPiece) return { root: merkleRoot(blockHashes) }
  const pieces: Uint8Array[] = []
  for (let i = 0; i < blockHashes.length; i += perPiece) {
    pieces.push(merkleRoot(blockHashes.slice(i, i + perPiece), ZERO, perPiece))
  }
  const layer = new Uint8Array(32 * pieces.length)
  for (const [i, p] of pieces.entries()) layer.set(p, 32 * i)
  return { root: merkleRoot(pieces, zeroSubtree(perPiece)), pieceLayer: layer }
}

/** Whether a piece layer hashes up to `root` (BEP 52: check the layers outside the info dictionary). */
export function pieceLayerMatches(layer: Uint8Array, root: Uint8Array, pieceLength: number): boolean {
  const hashes: Uint8Array[] = []
  for (let i = 0; i < layer.length; i += 32) hashes.push(layer.subarray(i, i + 32))
  const r = merkleRoot(hashes, zeroSubtree(pieceLength / MERKLE_BLOCK))
  return r.length === root.length && r.every((b, i) => b === root[i])
}
