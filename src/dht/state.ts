// The state file: our node id and the good nodes of our routing tables, so that a restarted node is useful at
// once. JSON, written atomically: a temp file in the same directory, fsync'd, then renamed over the old file, so a
// kill at any moment leaves either the old file or the new one, never a torn one.
import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { fromHex, toHex } from '../codec/bytes.js'
import { normalizeIP } from '../codec/ip.js'
import { DHTError } from './errors.js'

export interface SavedNode {
  id: Uint8Array
  host: string
  port: number
}

export interface DHTState {
  id: Uint8Array
  nodes: SavedNode[]
}

const FORMAT = 'mainline-dht-state'
const VERSION = 1
/** Nodes read back from a state file at most (a huge or hostile file must not flood the table). */
export const MAX_SAVED_NODES = 2000

export function serializeState(state: DHTState): string {
  return `${JSON.stringify({
    format: FORMAT,
    version: VERSION,
    id: toHex(state.id),
    nodes: state.nodes.slice(0, MAX_SAVED_NODES).map((n) => [toHex(n.id), n.host, n.port]),
  })}\n`
}

/** Parses a state file; anything malformed is skipped (a bad entry) or rejected (a bad file) with `STATE_FILE`. */
export function parseState(text: string): DHTState {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw new DHTError('STATE_FILE', 'state file is not JSON')
  }
  if (typeof doc !== 'object' || doc === null) throw new DHTError('STATE_FILE', 'state file is not an object')
  const d = doc as Record<string, unknown>
  if (d.format !== FORMAT || d.version !== VERSION) throw new DHTError('STATE_FILE', 'unknown state file format')
  const id = typeof d.id === 'string' ? fromHex(d.id) : undefined
  if (id?.length !== 20) throw new DHTError('STATE_FILE', 'state file has no valid node id')
  const nodes: SavedNode[] = []
  if (Array.isArray(d.nodes)) {
    for (const e of d.nodes.slice(0, MAX_SAVED_NODES)) {
      if (!Array.isArray(e) || e.length !== 3) continue
      const [hex, host, port] = e as unknown[]
      const nid = typeof hex === 'string' ? fromHex(hex) : undefined
      const ip = typeof host === 'string' ? normalizeIP(host) : undefined
      if (nid?.length !== 20 || !ip) continue
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue
      nodes.push({ id: nid, host: ip, port })
    }
  }
  return { id, nodes }
}

/** Reads a state file; `undefined` if there is none. */
export async function loadState(path: string): Promise<DHTState | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new DHTError('STATE_FILE', `cannot read state file: ${(err as Error).message}`)
  }
  return parseState(text)
}

/** Writes a state file atomically (temp file + fsync + rename). */
export async function saveState(path: string, state: DHTState): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.writeFile(serializeState(state), 'utf8')
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw new DHTError('STATE_FILE', `cannot write state file: ${(err as Error).message}`)
  }
}
