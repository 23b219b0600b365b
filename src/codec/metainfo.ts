// Metainfo (.torrent) files: BEP 3 (v1), BEP 52 (v2 and hybrid), BEP 47 pad files. The info dictionary is kept
// as the exact bytes found in the file: its hash is the torrent's identity, and BEP 52 forbids re-encoding it
// (a decode-encode round trip of sloppy input would change the hash). Everything else is typed for reading and
// re-encoded canonically, so a canonical file (every libtorrent-made one) encodes back byte for byte.
import { type BDict, type BValue, decode, encode } from './bencode.js'
import { rawSpan } from './bencode-span.js'
import { concatBytes, fromHex, fromLatin1, latin1, toHex, tryUtf8 } from './bytes.js'
import { CodecError, type CodecErrorCode } from './errors.js'

export type MetainfoVersion = 'v1' | 'v2' | 'hybrid'

export interface MetainfoFile {
  /** Path inside the torrent; for a single-file torrent, `[name]`. Components are never '', '.' or '..'. */
  path: string[]
  length: number
  /** Byte offset in the torrent's piece space (v2 and hybrid: each file starts on a piece boundary). */
  offset: number
  /** BEP 47 attributes ('x' executable, 'h' hidden, 'l' symlink, 'p' padding), as given. */
  attr?: string
  /** v2: root of the file's merkle tree (absent for an empty file). */
  piecesRoot?: Uint8Array
}

/** The info dictionary, parsed. `bytes` is what the infohash is computed from. */
export interface MetainfoInfo {
  bytes: Uint8Array
  version: MetainfoVersion
  name: string
  pieceLength: number
  /** Data files in torrent order (pad files excluded). */
  files: MetainfoFile[]
  /** Sum of the data files' lengths. */
  totalLength: number
  /** Whether the files sit below a directory named `name` (v1 `files`, v2 a tree with several entries or a dir). */
  multiFile: boolean
  private: boolean
  /** v1 and hybrid: the concatenated 20-byte SHA-1 piece hashes. */
  pieces?: Uint8Array
  /** v1 and hybrid: the v1 file list including BEP 47 pad files (hybrid torrents pad each file to a piece). */
  v1Files?: MetainfoFile[]
}

export interface Metainfo {
  info: MetainfoInfo
  announce?: string
  /** BEP 12 tiers. */
  announceList?: string[][]
  creationDate?: number
  comment?: string
  createdBy?: string
  /** BEP 19 web seeds. */
  urlList?: string[]
  /** v2: piece layers keyed by the hex of each file's pieces root. */
  pieceLayers?: Map<string, Uint8Array>
  /** Top-level keys not understood here, kept for `encodeMetainfo`. */
  extra: BDict
}

export interface MetainfoLimits {
  /** Largest .torrent accepted. Default 64 MiB (piece layers of a large v2 torrent take room). */
  maxBytes?: number
  /** Most files. Default 1,000,000. */
  maxFiles?: number
  /** Deepest bencode nesting (bounds the v2 file tree's depth). Default 64. */
  maxDepth?: number
}

/** A .torrent or info dictionary that is not valid. `field` names the key at fault. */
export class MetainfoError extends CodecError {
  override readonly name: string = 'MetainfoError'
  readonly field: string | undefined
  constructor(code: CodecErrorCode, message: string, field?: string) {
    super(code, `metainfo: ${message}`)
    this.field = field
  }
}

const BLOCK = 16 * 1024

function isDict(v: BValue | undefined): v is BDict {
  return v !== undefined && typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v)
}

function text(v: BValue | undefined, field: string): string {
  if (!(v instanceof Uint8Array)) throw new MetainfoError('BAD_TYPE', `${field} must be a string`, field)
  return tryUtf8(v) ?? latin1(v)
}

function optText(d: BDict, key: string): string | undefined {
  const v = d[key]
  return v instanceof Uint8Array ? (tryUtf8(v) ?? latin1(v)) : undefined
}

function int(v: BValue | undefined, field: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new MetainfoError('BAD_VALUE', `${field} must be an integer ≥ ${min}`, field)
  return v
}

function component(b: Uint8Array | string, field: string): string {
  const s = typeof b === 'string' ? b : (tryUtf8(b) ?? latin1(b))
  // A path component that climbs out of the download directory or names none is an attack, not a file.
  if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0'))
    throw new MetainfoError('BAD_VALUE', `unsafe path component ${JSON.stringify(s)}`, field)
  return s
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0
}

function parseV1Files(info: BDict, name: string, maxFiles: number): { files: MetainfoFile[]; multi: boolean } {
  if (info.length !== undefined) {
    const length = int(info.length, 'length')
    return { files: [{ path: [name], length, offset: 0, ...attrOf(info) }], multi: false }
  }
  const list = info.files
  if (!Array.isArray(list) || list.length === 0)
    throw new MetainfoError('MISSING_KEY', 'info needs length, files or file tree', 'files')
  if (list.length > maxFiles) throw new MetainfoError('TOO_MANY_ITEMS', `more than ${maxFiles} files`, 'files')
  const files: MetainfoFile[] = []
  let offset = 0
  for (const f of list) {
    if (!isDict(f)) throw new MetainfoError('BAD_TYPE', 'files entries must be dictionaries', 'files')
    const length = int(f.length, 'files.length')
    const path = f.path
    if (!Array.isArray(path) || path.length === 0)
      throw new MetainfoError('BAD_TYPE', 'files.path must be a non-empty list', 'files.path')
    const parts = path.map((p) => {
      if (!(p instanceof Uint8Array))
        throw new MetainfoError('BAD_TYPE', 'path components must be strings', 'files.path')
      return component(p, 'files.path')
    })
    files.push({ path: parts, length, offset, ...attrOf(f) })
    offset += length
  }
  return { files, multi: true }
}

function attrOf(d: BDict): { attr?: string } {
  return d.attr instanceof Uint8Array ? { attr: latin1(d.attr) } : {}
}

function walkTree(
  node: BDict,
  prefix: string[],
  out: MetainfoFile[],
  maxFiles: number,
  pieceLength: number,
  pos: { offset: number },
): void {
  for (const key of Object.keys(node).sort()) {
    const child = node[key]
    if (!isDict(child)) throw new MetainfoError('BAD_TYPE', 'file tree entries must be dictionaries', 'file tree')
    const leaf = child['']
    const path = [...prefix, component(fromLatin1(key), 'file tree')]
    if (isDict(leaf) && leaf.length !== undefined) {
      if (Object.keys(child).length !== 1)
        throw new MetainfoError('BAD_VALUE', `file ${path.join('/')} has sibling entries`, 'file tree')
      const length = int(leaf.length, 'file tree length')
      const root = leaf['pieces root']
      const file: MetainfoFile = { path, length, offset: pos.offset, ...attrOf(leaf) }
      if (length > 0) {
        if (!(root instanceof Uint8Array) || root.length !== 32)
          throw new MetainfoError('BAD_LENGTH', `pieces root of ${path.join('/')} must be 32 bytes`, 'pieces root')
        file.piecesRoot = root
      }
      if (out.length >= maxFiles) throw new MetainfoError('TOO_MANY_ITEMS', `more than ${maxFiles} files`, 'file tree')
      out.push(file)
      pos.offset += Math.ceil(length / pieceLength) * pieceLength
    } else {
      walkTree(child, path, out, maxFiles, pieceLength, pos)
    }
  }
}

/** Parses an info dictionary (from a .torrent, or assembled from BEP 9 pieces). The bytes are kept, not copied. */
export function parseInfo(bytes: Uint8Array, limits: MetainfoLimits = {}): MetainfoInfo {
  const maxFiles = limits.maxFiles ?? 1_000_000
  // Lenient: the hash is over the bytes as found, so sloppy (non-canonical) encoders' files are still readable.
  const info = decode(bytes, { strict: false, maxDepth: limits.maxDepth ?? 64 })
  if (!isDict(info)) throw new MetainfoError('BAD_TYPE', 'info must be a dictionary', 'info')
  const name = component(text(info.name, 'name'), 'name')
  const pieceLength = int(info['piece length'], 'piece length', 1)
  const meta = info['meta version']
  if (meta !== undefined && meta !== 2)
    throw new MetainfoError('BAD_VALUE', `meta version ${String(meta)} is newer than this reader`, 'meta version')
  const hasV2 = meta === 2
  const hasV1 = info.pieces !== undefined
  if (!hasV1 && !hasV2) throw new MetainfoError('MISSING_KEY', 'info has neither pieces nor meta version 2', 'pieces')
  const out: MetainfoInfo = {
    bytes,
    version: hasV1 && hasV2 ? 'hybrid' : hasV2 ? 'v2' : 'v1',
    name,
    pieceLength,
    files: [],
    totalLength: 0,
    multiFile: false,
    private: info.private === 1,
  }
  if (hasV1) {
    const pieces = info.pieces
    if (!(pieces instanceof Uint8Array) || pieces.length % 20 !== 0)
      throw new MetainfoError('BAD_LENGTH', 'pieces must be a multiple of 20 bytes', 'pieces')
    const { files, multi } = parseV1Files(info, name, maxFiles)
    const total = files.reduce((n, f) => n + f.length, 0)
    if (pieces.length / 20 !== Math.ceil(total / pieceLength))
      throw new MetainfoError('BAD_LENGTH', `${pieces.length / 20} piece hashes for ${total} bytes`, 'pieces')
    out.pieces = pieces
    out.v1Files = files
    out.files = files.filter((f) => !f.attr?.includes('p'))
    out.multiFile = multi
  }
  if (hasV2) {
    if (!isPowerOfTwo(pieceLength) || pieceLength < BLOCK)
      throw new MetainfoError('BAD_VALUE', 'v2 piece length must be a power of two ≥ 16 KiB', 'piece length')
    const tree = info['file tree']
    if (!isDict(tree) || Object.keys(tree).length === 0)
      throw new MetainfoError('MISSING_KEY', 'v2 info needs a non-empty file tree', 'file tree')
    if (isDict(tree['']) && tree[''].length !== undefined)
      throw new MetainfoError('BAD_VALUE', 'the file tree root must not be a file', 'file tree')
    const files: MetainfoFile[] = []
    walkTree(tree, [], files, maxFiles, pieceLength, { offset: 0 })
    if (files.length === 0) throw new MetainfoError('MISSING_KEY', 'file tree holds no files', 'file tree')
    const single = files.length === 1 && files[0].path.length === 1 && files[0].path[0] === name
    if (hasV1) {
      // BEP 52: a hybrid's v1 view must describe the same files, in the same order.
      const same =
        out.files.length === files.length &&
        out.files.every((f, i) => f.length === files[i].length && f.path.join('/') === files[i].path.join('/'))
      if (!same) throw new MetainfoError('BAD_VALUE', 'hybrid v1 files differ from the v2 file tree', 'files')
    } else {
      out.multiFile = !single
    }
    out.files = files
  }
  out.totalLength = out.files.reduce((n, f) => n + f.length, 0)
  return out
}

function strings(v: BValue | undefined, field: string): string[] {
  if (v instanceof Uint8Array) return [text(v, field)]
  if (!Array.isArray(v)) throw new MetainfoError('BAD_TYPE', `${field} must be a string or a list`, field)
  return v.filter((x): x is Uint8Array => x instanceof Uint8Array).map((x) => text(x, field))
}

/** Parses a .torrent file. Throws `MetainfoError` (a `CodecError`) on anything malformed or past the limits. */
export function parseMetainfo(file: Uint8Array, limits: MetainfoLimits = {}): Metainfo {
  const maxBytes = limits.maxBytes ?? 64 * 1024 * 1024
  if (file.length > maxBytes) throw new MetainfoError('LENGTH_OVERFLOW', `file larger than ${maxBytes} bytes`)
  const top = decode(file, { strict: false, maxDepth: limits.maxDepth ?? 64 })
  if (!isDict(top)) throw new MetainfoError('BAD_TYPE', 'a .torrent must be a dictionary')
  const infoBytes = rawSpan(file, ['info'], { maxDepth: limits.maxDepth ?? 64 })
  if (!infoBytes || !isDict(top.info)) throw new MetainfoError('MISSING_KEY', 'no info dictionary', 'info')
  const info = parseInfo(infoBytes, limits)
  const m: Metainfo = { info, extra: Object.create(null) }
  const known = new Set(['info', 'announce', 'announce-list', 'creation date', 'comment', 'created by', 'url-list'])
  if (info.version !== 'v1') known.add('piece layers')
  for (const k of Object.keys(top)) if (!known.has(k)) m.extra[k] = top[k]
  if (top.announce instanceof Uint8Array) m.announce = text(top.announce, 'announce')
  const al = top['announce-list']
  if (Array.isArray(al)) m.announceList = al.filter(Array.isArray).map((tier) => strings(tier, 'announce-list'))
  if (typeof top['creation date'] === 'number') m.creationDate = top['creation date']
  m.comment = optText(top, 'comment')
  m.createdBy = optText(top, 'created by')
  if (top['url-list'] !== undefined) m.urlList = strings(top['url-list'], 'url-list')
  if (info.version !== 'v1' && top['piece layers'] !== undefined) m.pieceLayers = parsePieceLayers(top, info)
  return dropUndefined(m)
}

function parsePieceLayers(top: BDict, info: MetainfoInfo): Map<string, Uint8Array> {
  const pl = top['piece layers']
  if (!isDict(pl)) throw new MetainfoError('BAD_TYPE', 'piece layers must be a dictionary', 'piece layers')
  const layers = new Map<string, Uint8Array>()
  for (const k of Object.keys(pl)) {
    const v = pl[k]
    if (k.length !== 32 || !(v instanceof Uint8Array) || v.length % 32 !== 0)
      throw new MetainfoError('BAD_LENGTH', 'piece layers: 32-byte keys, values a multiple of 32', 'piece layers')
    layers.set(toHex(fromLatin1(k)), v)
  }
  // Each file larger than a piece has its layer, one hash per piece; the roots themselves are checked by hashing.
  for (const f of info.files) {
    if (f.length <= info.pieceLength || !f.piecesRoot) continue
    const layer = layers.get(toHex(f.piecesRoot))
    if (!layer) throw new MetainfoError('MISSING_KEY', `no piece layer for ${f.path.join('/')}`, 'piece layers')
    if (layer.length !== 32 * Math.ceil(f.length / info.pieceLength))
      throw new MetainfoError('BAD_LENGTH', `piece layer of ${f.path.join('/')} has the wrong length`, 'piece layers')
  }
  return layers
}

function dropUndefined(m: Metainfo): Metainfo {
  for (const k of Object.keys(m) as (keyof Metainfo)[]) if (m[k] === undefined) delete m[k]
  return m
}

/**
 * Encodes a metainfo file: the info dictionary's bytes as they are, the other keys canonically. A file that was
 * canonical comes back byte for byte.
 */
export function encodeMetainfo(m: Metainfo): Uint8Array {
  const top: Record<string, BValue | string | string[] | string[][] | undefined> = { ...m.extra }
  top.announce = m.announce
  top['announce-list'] = m.announceList
  top['creation date'] = m.creationDate
  top.comment = m.comment
  top['created by'] = m.createdBy
  // One web seed as a string, several as a list (what libtorrent writes).
  top['url-list'] = m.urlList && (m.urlList.length === 1 ? m.urlList[0] : m.urlList)
  if (m.pieceLayers) {
    const pl: BDict = Object.create(null)
    for (const [hex, layer] of m.pieceLayers) pl[latin1(fromHex(hex) ?? new Uint8Array(0))] = layer
    top['piece layers'] = pl
  }
  const keys = [...Object.keys(top).filter((k) => top[k] !== undefined), 'info'].sort()
  const parts: Uint8Array[] = [fromLatin1('d')]
  for (const k of keys) {
    parts.push(fromLatin1(`${k.length}:${k}`))
    parts.push(k === 'info' ? m.info.bytes : encode(top[k] as BValue))
  }
  parts.push(fromLatin1('e'))
  return concatBytes(parts)
}
