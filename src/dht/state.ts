// The DHT's saved state — our node id and the good nodes of our routing tables, so that a restarted node is useful
// at once — its JSON format, and the storage interface the DHT takes it through (an edge, like the socket: the
// real file storage, state-file.ts, is the default; tests and embedders can inject their own).
import { fromHex, toHex } from '../codec/bytes.js'
import { isUnicastAddress, normalizeIP } from '../codec/ip.js'
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

/** Where a DHT keeps its state between runs. Errors are `DHTError` with code `STATE_FILE`. */
export interface StateStorage {
  /**
   * Called by listen() before load(): rejects when the storage can never work (the DHT's listen() then rejects
   * too), and tidies up after an interrupted save. Optional.
   */
  check?(): Promise<void>
  /** The saved state, or undefined when there is none. A bad one rejects (the DHT reports it and starts afresh). */
  load(): Promise<DHTState | undefined>
  /** Replaces the saved state; a crash at any moment leaves the old state or the new one. */
  save(state: DHTState): Promise<void>
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
      // Broadcast, multicast and unspecified addresses are never nodes: a hostile file must not make us ping them.
      if (nid?.length !== 20 || !ip || !isUnicastAddress(ip)) continue
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue
      nodes.push({ id: nid, host: ip, port })
    }
  }
  return { id, nodes }
}
