// Making a .torrent from a file or a directory: the data is streamed once, feeding SHA-1 pieces (v1) and SHA-256
// 16 KiB blocks (v2) side by side, so a hybrid costs one read. Layout follows libtorrent 2.0: files in path order
// (the v2 file tree's order), and in a multi-file hybrid every file padded to a piece boundary with a BEP 47 pad
// file so the v1 and v2 views share piece boundaries.
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { type BEncodable, encode } from '../codec/bencode.js'
import { toHex } from '../codec/bytes.js'
import { type Metainfo, type MetainfoVersion, parseMetainfo } from '../codec/metainfo.js'
import { type InfoHashes, infoHashes } from './hash.js'
import { fileMerkle, MERKLE_BLOCK } from './merkle.js'

export interface CreateProgress {
  bytesHashed: number
  totalBytes: number
  /** Path (inside the torrent) of the file being read. */
  file: string
}

export interface CreateTorrentOptions {
  /** Power of two ≥ 16 KiB. Default: the smallest giving at most ~1500 pieces, between 16 KiB and 16 MiB. */
  pieceLength?: number
  /** Tracker URLs, one tier each. */
  trackers?: readonly string[]
  /** Default 'hybrid' (readable by v1-only and v2 clients). */
  version?: MetainfoVersion
  comment?: string
  /** Default 'mainline'. */
  createdBy?: string
  /** Unix seconds; default now. `null` leaves it out (reproducible output). */
  creationDate?: number | null
  private?: boolean
  webSeeds?: readonly string[]
  onProgress?: (p: CreateProgress) => void
  signal?: AbortSignal
}

export interface CreatedTorrent {
  /** The encoded .torrent file. */
  torrent: Uint8Array
  metainfo: Metainfo
  infoHashes: InfoHashes
}

export class TorrentCreateError extends Error {
  override readonly name = 'TorrentCreateError'
  constructor(
    readonly code: 'NO_FILES' | 'BAD_PIECE_LENGTH' | 'FILE_CHANGED',
    message: string,
  ) {
    super(message)
  }
}

interface SourceFile {
  abs: string
  path: string[]
  length: number
}

function comparePaths(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(Buffer.from(a[i]), Buffer.from(b[i]))
    if (c !== 0) return c
  }
  return a.length - b.length
}

async function listFiles(root: string): Promise<{ files: SourceFile[]; single: boolean }> {
  const st = await lstat(root)
  if (st.isFile()) return { files: [{ abs: root, path: [basename(root)], length: st.size }], single: true }
  const files: SourceFile[] = []
  const walk = async (dir: string, prefix: string[]): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name)
      // Regular files only: symlinks could point out of the tree, devices and sockets are not data.
      if (e.isDirectory()) await walk(abs, [...prefix, e.name])
      else if (e.isFile()) files.push({ abs, path: [...prefix, e.name], length: (await lstat(abs)).size })
    }
  }
  await walk(root, [])
  files.sort((a, b) => comparePaths(a.path, b.path))
  return { files, single: false }
}

export function defaultPieceLength(totalBytes: number): number {
  let pl = 16 * 1024
  while (pl < 16 * 1024 * 1024 && totalBytes / pl > 1500) pl *= 2
  return pl
}

/** Streams the files once and returns the v1 piece hashes and each file's v2 block hashes. */
class Hasher {
  private pieceHash: Hash | undefined
  private pieceFill = 0
  private readonly pieceHashes: Uint8Array[] = []
  bytesHashed = 0

  constructor(
    private readonly pieceLength: number,
    private readonly v1: boolean,
    private readonly v2: boolean,
  ) {}

  private v1Update(chunk: Uint8Array): void {
    let off = 0
    while (off < chunk.length) {
      this.pieceHash ??= createHash('sha1')
      const n = Math.min(this.pieceLength - this.pieceFill, chunk.length - off)
      this.pieceHash.update(chunk.subarray(off, off + n))
      this.pieceFill += n
      off += n
      if (this.pieceFill === this.pieceLength) this.endPiece()
    }
  }

  private endPiece(): void {
    if (!this.pieceHash) return
    this.pieceHashes.push(this.pieceHash.digest())
    this.pieceHash = undefined
    this.pieceFill = 0
  }

  /** Zero bytes of a pad file (v1 view only). */
  pad(n: number): void {
    if (this.v1 && n > 0) this.v1Update(new Uint8Array(n))
  }

  async file(f: SourceFile, signal: AbortSignal | undefined, progress: (file: string) => void): Promise<Uint8Array[]> {
    const blocks: Uint8Array[] = []
    let block: Hash | undefined
    let blockFill = 0
    let read = 0
    const stream = createReadStream(f.abs, { highWaterMark: 1 << 20, signal })
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      read += chunk.length
      if (read > f.length) throw new TorrentCreateError('FILE_CHANGED', `${f.abs} grew while it was hashed`)
      if (this.v1) this.v1Update(chunk)
      if (this.v2) {
        let off = 0
        while (off < chunk.length) {
          block ??= createHash('sha256')
          const n = Math.min(MERKLE_BLOCK - blockFill, chunk.length - off)
          block.update(chunk.subarray(off, off + n))
          blockFill += n
          off += n
          if (blockFill === MERKLE_BLOCK) {
            blocks.push(block.digest())
            block = undefined
            blockFill = 0
          }
        }
      }
      this.bytesHashed += chunk.length
      progress(f.path.join('/'))
    }
    if (read !== f.length) throw new TorrentCreateError('FILE_CHANGED', `${f.abs} shrank while it was hashed`)
    if (block) blocks.push(block.digest())
    return blocks
  }

  finish(): Uint8Array {
    this.endPiece()
    return Buffer.concat(this.pieceHashes)
  }
}

/** Makes a .torrent for the file or directory at `path`. */
export async function createTorrent(path: string, options: CreateTorrentOptions = {}): Promise<CreatedTorrent> {
  const version = options.version ?? 'hybrid'
  const { files, single } = await listFiles(path)
  if (files.length === 0) throw new TorrentCreateError('NO_FILES', `${path} holds no regular files`)
  const totalBytes = files.reduce((n, f) => n + f.length, 0)
  const pieceLength = options.pieceLength ?? defaultPieceLength(totalBytes)
  if (!Number.isSafeInteger(pieceLength) || pieceLength < MERKLE_BLOCK || (pieceLength & (pieceLength - 1)) !== 0)
    throw new TorrentCreateError('BAD_PIECE_LENGTH', `piece length ${pieceLength} is not a power of two ≥ 16 KiB`)
  const v1 = version !== 'v2'
  const v2 = version !== 'v1'
  const hasher = new Hasher(pieceLength, v1, v2)
  const report = (file: string) => options.onProgress?.({ bytesHashed: hasher.bytesHashed, totalBytes, file })

  const v1Files: { length: number; path: string[]; attr?: string }[] = []
  const tree: Record<string, BEncodable> = Object.create(null)
  const pieceLayers: Record<string, Uint8Array> = {}
  for (const [i, f] of files.entries()) {
    options.signal?.throwIfAborted()
    const blocks = await hasher.file(f, options.signal, report)
    v1Files.push({ length: f.length, path: f.path })
    // Multi-file hybrids pad every non-empty file to a piece boundary (the last too, as libtorrent does).
    const tail = f.length % pieceLength
    if (version === 'hybrid' && !single && tail !== 0) {
      const n = pieceLength - tail
      hasher.pad(n)
      v1Files.push({ attr: 'p', length: n, path: ['.pad', String(n)] })
    }
    if (v2) {
      const leaf: Record<string, BEncodable> = { length: f.length }
      if (f.length > 0) {
        const { root, pieceLayer } = fileMerkle(blocks, pieceLength)
        leaf['pieces root'] = root
        if (pieceLayer) pieceLayers[Buffer.from(root).toString('latin1')] = pieceLayer
      }
      let node = tree
      // Dictionary keys are raw bytes (latin1 here): a UTF-8 name goes in as its bytes.
      for (const part of f.path)
        node = (node[Buffer.from(part).toString('latin1')] ??= Object.create(null)) as Record<string, BEncodable>
      node[''] = leaf
    }
    if (i === files.length - 1) report(f.path.join('/'))
  }
  const name = basename(path)
  const info: Record<string, BEncodable | undefined> = { name, 'piece length': pieceLength }
  if (options.private) info.private = 1
  if (v1) {
    info.pieces = hasher.finish()
    if (single) info.length = files[0].length
    else info.files = v1Files
  }
  if (v2) {
    info['meta version'] = 2
    info['file tree'] = tree
  }
  const trackers = options.trackers ?? []
  const top: Record<string, BEncodable | undefined> = {
    announce: trackers[0],
    'announce-list': trackers.length > 1 ? trackers.map((t) => [t]) : undefined,
    comment: options.comment,
    'created by': options.createdBy ?? 'mainline',
    'creation date':
      options.creationDate === null ? undefined : (options.creationDate ?? Math.floor(Date.now() / 1000)),
    info,
    'piece layers': v2 ? pieceLayers : undefined,
    'url-list': options.webSeeds?.length
      ? options.webSeeds.length === 1
        ? options.webSeeds[0]
        : [...options.webSeeds]
      : undefined,
  }
  const torrent = encode(top)
  const metainfo = parseMetainfo(torrent)
  return { torrent, metainfo, infoHashes: infoHashes(metainfo.info) }
}

/** Hex of the infohashes, for printing. */
export function infoHashHex(h: InfoHashes): { v1?: string; v2?: string } {
  return { ...(h.v1 && { v1: toHex(h.v1) }), ...(h.v2 && { v2: toHex(h.v2) }) }
}
