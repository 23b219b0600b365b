// Whether Debian's python3-libtorrent can be used, the interop tier's skip-or-fail rule, and the JSON-line reader
// of its helper processes, in one place.
import { spawnSync } from 'node:child_process'

/** The Debian module is only visible to the system interpreter (a pyenv `python3` earlier on PATH does not see it). */
export const PYTHON = '/usr/bin/python3'

let probed: string | false | undefined

/**
 * The skip-or-fail rule for interop tests. Returns `false` when libtorrent is usable, or a one-line skip reason when
 * it is not. In CI (`process.env.CI` set) a missing libtorrent is a failure, so this throws instead.
 */
export function libtorrentSkip(): string | false {
  if (probed === undefined) {
    // Only "not installed" is a reason to skip. A probe that times out or dies (a loaded machine, a broken
    // install) is an error: skipping on it would hide every interop test behind a slow import.
    const r = spawnSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore', timeout: 120_000 })
    const err = r.error as NodeJS.ErrnoException | undefined
    if (err?.code === 'ENOENT') probed = `${PYTHON} is not installed`
    else if (err || r.signal) throw new Error(`probing libtorrent failed: ${err?.message ?? `killed by ${r.signal}`}`)
    else
      probed = r.status === 0 ? false : `libtorrent not available (${PYTHON} -c 'import libtorrent' exited ${r.status})`
  }
  if (probed && process.env.CI) throw new Error(`${probed}; interop tests must run in CI`)
  return probed
}

/** Calls `onEvent` with each JSON line a helper process prints on stdout (the test ↔ helper protocol). */
export function onJsonLines<T>(stream: NodeJS.ReadableStream | null | undefined, onEvent: (event: T) => void): void {
  let buf = ''
  stream?.setEncoding('utf8')
  stream?.on('data', (chunk: string) => {
    buf += chunk
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i).trim()
      buf = buf.slice(i + 1)
      if (line) onEvent(JSON.parse(line) as T)
    }
  })
}
