// BEP 10 extension registry for one connection. Our names map to the ids we advertise in our `m` (and so receive
// on); the remote's `m` maps its names to the ids we must send with. A later handshake updates the remote map
// additively: a name with id 0 is disabled, names not mentioned keep their id.

import type { Endpoint } from '../net/types.js'

/** Remote extension names remembered per connection (there are 255 ids; real clients name a dozen). */
export const MAX_REMOTE_NAMES = 255

/** Ids we advertise by default, chosen to match libtorrent's numbers for the same names. */
export const DEFAULT_LOCAL_IDS: Readonly<Record<string, number>> = { ut_pex: 1, ut_metadata: 2, ut_holepunch: 4 }

export class ExtensionRegistry {
  private readonly localByName = new Map<string, number>()
  private readonly localById = new Map<number, string>()
  private readonly remoteByName = new Map<string, number>()

  /** `local`: name → id (1..255, unique). Default `DEFAULT_LOCAL_IDS`. */
  constructor(local: Readonly<Record<string, number>> = DEFAULT_LOCAL_IDS) {
    for (const [name, id] of Object.entries(local)) {
      if (!Number.isInteger(id) || id < 1 || id > 255) throw new RangeError(`extension ${name}: id must be 1..255`)
      if (this.localById.has(id)) throw new RangeError(`extension id ${id} used twice`)
      this.localByName.set(name, id)
      this.localById.set(id, name)
    }
  }

  /** Our `m` dict for the extended handshake. */
  localMap(): Record<string, number> {
    return Object.fromEntries(this.localByName)
  }

  localId(name: string): number | undefined {
    return this.localByName.get(name)
  }

  /** The extension a received sub-id refers to (our numbering), or undefined if we never advertised it. */
  nameOf(localId: number): string | undefined {
    return this.localById.get(localId)
  }

  /**
   * Applies a remote `m` (from its first or a later extended handshake). At most `MAX_REMOTE_NAMES` names are
   * kept: later handshakes add to the map, and a peer sending new names in each must not grow it without bound.
   */
  updateRemote(m: Readonly<Record<string, number>>): void {
    for (const [name, id] of Object.entries(m)) {
      if (id === 0) this.remoteByName.delete(name)
      else if (!Number.isInteger(id) || id < 1 || id > 255) continue
      else if (this.remoteByName.has(name) || this.remoteByName.size < MAX_REMOTE_NAMES) this.remoteByName.set(name, id)
    }
  }

  /** The id to send `name` with, or undefined when the remote does not support it (or disabled it). */
  remoteId(name: string): number | undefined {
    return this.remoteByName.get(name)
  }

  remoteSupports(name: string): boolean {
    return this.remoteByName.has(name)
  }

  /** The remote's current map (enabled extensions only). */
  remoteMap(): Record<string, number> {
    return Object.fromEntries(this.remoteByName)
  }
}

/**
 * What an extension (holepunch, PEX) needs from the connection it rides on: the registry, a handler for its
 * sub-id, a way to send and to count what it drops, and the moment the remote's extended handshake arrives.
 * `PeerConnection` implements it; the extensions never see the class, so a test can drive one over a stub.
 */
export interface ExtensionHost {
  readonly extensions: Pick<ExtensionRegistry, 'localId' | 'remoteSupports'>
  readonly remote: Endpoint
  readonly isOpen: boolean
  readonly isClosed: boolean
  /** Routes extended messages carrying `name` (our sub-id for it) to `handler`. */
  handleExtension(name: string, handler: (payload: Uint8Array) => void): void
  /** Sends under the remote's id for `name`; false (and sends nothing) if the remote does not support it. */
  sendExtended(name: string, payload: Uint8Array): boolean
  /** Counts a dropped message (the connection's `drop` event and counters). */
  countDrop(reason: string): void
  /** Called after each extended handshake from the remote (its `m` is already applied to `extensions`). */
  on(event: 'extended_handshake', listener: () => void): unknown
}
