// Drives libtorrent seeders and magnet fetchers (test/interop/lt_magnet.py) from a test or the metadata bench:
// JSON-line commands in, events out, with timeouts; killed on teardown (lt-process.ts).
import { fileURLToPath } from 'node:url'
import type { Endpoint } from '../../src/net/types.js'
import { type LtEvent, LtProcess } from './lt-process.js'

export { libtorrentSkip } from './lt-available.js'

const SCRIPT = fileURLToPath(new URL('./lt_magnet.py', import.meta.url))

export type LtTransport = 'tcp' | 'utp' | 'both'

export type LtMagnetEvent = LtEvent

export interface LtSeeding {
  port: number
  v1?: string
  v2?: string
  seeding: boolean
}

export interface LtMetadata {
  v1?: string
  v2?: string
  elapsed_ms: number
  /** From add_torrent to the first peer_connect_alert (null when none came). */
  connected_ms: number | null
  size: number
  name_in_info: string
}

const pairs = (eps: readonly Endpoint[] | undefined) => (eps ?? []).map((e) => [e.host, e.port])

export class LtMagnet extends LtProcess {
  static spawn(): LtMagnet {
    return new LtMagnet(SCRIPT)
  }

  /** A timeout names the helper's recent errors and alerts of the awaited session. */
  protected override timeoutDetail(what: string): string {
    const errors = this.events.filter((e) => e.event === 'error' || (e.name === what && e.event === 'alert'))
    return ` ${JSON.stringify(errors.slice(-8))}`
  }

  /**
   * A libtorrent session seeding `torrent` (its data in `savePath`, or none: it still serves the metadata), on
   * `transport` only, announced on a DHT bootstrapped from `dht` when given.
   */
  async seed(
    name: string,
    torrent: string,
    opts: { savePath?: string; transport?: LtTransport; dht?: Endpoint[]; recheck?: boolean } = {},
  ): Promise<LtSeeding> {
    this.send({
      cmd: 'seed',
      name,
      torrent,
      save_path: opts.savePath,
      transport: opts.transport ?? 'both',
      dht: pairs(opts.dht),
      recheck: opts.recheck ?? false,
    })
    const e = await this.waitFor((x) => x.event === 'seeding' && x.name === name, 150_000, name)
    return e as unknown as LtSeeding
  }

  /** Announces `name`'s torrent on its DHT again. */
  announce(name: string): void {
    this.send({ cmd: 'announce', name })
  }

  /** libtorrent's own magnet fetch: resolves with its metadata_received_alert (elapsed from add_torrent). */
  async fetch(
    name: string,
    magnet: string,
    opts: { transport?: LtTransport; dht?: Endpoint[]; peers?: Endpoint[]; ms?: number } = {},
  ): Promise<LtMetadata> {
    const mark = this.events.length
    this.send({
      cmd: 'fetch',
      name,
      magnet,
      transport: opts.transport ?? 'both',
      dht: pairs(opts.dht),
      peers: pairs(opts.peers),
    })
    const e = await this.waitForNew(mark, (x) => x.event === 'metadata' && x.name === name, opts.ms ?? 30_000, name)
    return e as unknown as LtMetadata
  }

  stop(name: string): void {
    this.send({ cmd: 'stop', name })
  }
}
