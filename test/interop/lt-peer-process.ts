// Drives libtorrent peers (test/interop/lt_peer.py) from a test: JSON-line commands in, events out, with
// timeouts, killed on teardown (lt-process.ts). Re-exports the skip-or-fail rule (lt-available.ts).
import { fileURLToPath } from 'node:url'
import { type LtEvent, LtProcess } from './lt-process.js'

export { libtorrentSkip, PYTHON } from './lt-available.js'

const SCRIPT = fileURLToPath(new URL('./lt_peer.py', import.meta.url))

export type { LtEvent } from './lt-process.js'

export interface LtPeerInfo {
  host: string
  port: number
  local: [string, number]
  client: string
  pid: string
  flags: number
  source: number
  holepunched: boolean
  outgoing: boolean
}

export class LtPeers extends LtProcess {
  static spawn(): LtPeers {
    return new LtPeers(SCRIPT)
  }

  /** Starts a named libtorrent session on 127.0.0.1 with a magnet torrent for `infohash`; resolves its port. */
  async start(name: string, infohash: string, settings: Record<string, unknown> = {}): Promise<number> {
    this.send({ cmd: 'start', name, infohash, settings })
    const e = await this.waitFor((x) => x.event === 'started' && x.name === name, 15_000, `start of ${name}`)
    return e.port as number
  }

  connect(name: string, host: string, port: number): void {
    this.send({ cmd: 'connect', name, host, port })
  }

  async peers(name: string): Promise<LtPeerInfo[]> {
    const mark = this.events.length
    this.send({ cmd: 'peers', name })
    const e = await this.waitForNew(mark, (x) => x.event === 'peers' && x.name === name)
    return e.peers as LtPeerInfo[]
  }

  /** Waits for a `peer_log_alert` (or any alert) from `name` whose text matches `re`. */
  alert(name: string, re: RegExp, ms = 10_000): Promise<LtEvent> {
    return this.waitFor(
      (e) => e.event === 'alert' && e.name === name && re.test(e.msg ?? ''),
      ms,
      `${name} alert ${re}`,
    )
  }
}
