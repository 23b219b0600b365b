// The default StateStorage: a JSON file, written atomically — a temp file in the same directory (created
// exclusively), fsync'd, then renamed over the old file — so a kill at any moment leaves the old file or the new
// one, never a torn one. The path is trusted only as far as it is a regular file: the rename would replace whatever
// is there (as root, /dev/null), so a directory, FIFO, device or socket — or a symlink to one — is refused, and
// nothing is ever opened in a way that blocks (a FIFO opened for reading waits for a writer forever).
import { randomBytes } from 'node:crypto'
import type { Stats } from 'node:fs'
import { constants } from 'node:fs'
import { lstat, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { DHTError } from './errors.js'
import { type DHTState, parseState, type StateStorage, serializeState } from './state.js'

/** Larger state files are not read (ours stay under 250 KB: at most 2,000 nodes). */
export const MAX_STATE_BYTES = 4 * 1024 * 1024
/** A temp file this old is left from an interrupted save even if its writer's pid is alive again (reused). */
const STALE_TEMP_MS = 10 * 60_000

export class FileStateStorage implements StateStorage {
  constructor(readonly path: string) {
    if (path === '') throw new DHTError('STATE_FILE', 'the state file path is empty')
  }

  /** The path is a regular file (or a symlink to one) or absent, its directory writable; stale temps removed. */
  async check(): Promise<void> {
    const { target } = await resolveTarget(this.path)
    const dir = dirname(target)
    await removeStaleTemps(dir, basename(target))
    // Writable: create (exclusively) and remove a temp file, as a save will.
    const probe = tempName(target)
    try {
      const fh = await open(probe, 'wx', 0o600)
      await fh.close()
      await unlink(probe)
    } catch (err) {
      throw new DHTError('STATE_FILE', `state file ${show(this.path)} cannot be written: ${reason(err)}`)
    }
  }

  async load(): Promise<DHTState | undefined> {
    const { target, exists } = await resolveTarget(this.path)
    if (!exists) return undefined
    let text: string
    try {
      // O_NONBLOCK: should a FIFO have taken the file's place since, opening it still returns at once.
      const fh = await open(target, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW)
      try {
        const st = await fh.stat()
        if (!st.isFile()) throw notRegular(this.path, st)
        if (st.size > MAX_STATE_BYTES)
          throw new DHTError('STATE_FILE', `state file ${show(this.path)} is larger than ${MAX_STATE_BYTES} bytes`)
        text = await fh.readFile('utf8')
      } finally {
        await fh.close()
      }
    } catch (err) {
      if (err instanceof DHTError) throw err
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new DHTError('STATE_FILE', `cannot read state file ${show(this.path)}: ${reason(err)}`)
    }
    return parseState(text)
  }

  async save(state: DHTState): Promise<void> {
    const { target } = await resolveTarget(this.path)
    const tmp = tempName(target)
    try {
      const fh = await open(tmp, 'wx', 0o600)
      try {
        await fh.writeFile(serializeState(state), 'utf8')
        await fh.sync()
      } finally {
        await fh.close()
      }
      // What is at the target must still be a regular file (or nothing) when we replace it.
      await resolveTarget(target)
      await rename(tmp, target)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      if (err instanceof DHTError) throw err
      throw new DHTError('STATE_FILE', `cannot write state file ${show(this.path)}: ${reason(err)}`)
    }
  }
}

/** Reads a state file; `undefined` if there is none. */
export function loadState(path: string): Promise<DHTState | undefined> {
  return new FileStateStorage(path).load()
}

/** Writes a state file atomically (temp file + fsync + rename). */
export function saveState(path: string, state: DHTState): Promise<void> {
  return new FileStateStorage(path).save(state)
}

/**
 * The file a save replaces: `path` itself, or where its symlink points (a symlink stays a symlink). Rejects with
 * STATE_FILE when that is not a regular file, or is a symlink to nothing.
 */
async function resolveTarget(path: string): Promise<{ target: string; exists: boolean }> {
  let st: Stats
  try {
    st = await lstat(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      await directoryOf(path)
      return { target: path, exists: false }
    }
    throw new DHTError('STATE_FILE', `state file ${show(path)}: ${reason(err)}`)
  }
  if (!st.isSymbolicLink()) {
    if (!st.isFile()) throw notRegular(path, st)
    return { target: path, exists: true }
  }
  let real: string
  try {
    real = await realpath(path)
    st = await stat(real)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new DHTError('STATE_FILE', `state file ${show(path)} is a symbolic link to nothing`)
    throw new DHTError('STATE_FILE', `state file ${show(path)}: ${reason(err)}`)
  }
  if (!st.isFile()) throw notRegular(path, st)
  return { target: real, exists: true }
}

/** A missing directory is reported as such (not as "cannot be written"). */
async function directoryOf(path: string): Promise<void> {
  const dir = dirname(path)
  let st: Stats
  try {
    st = await stat(dir)
  } catch (err) {
    throw new DHTError('STATE_FILE', `state file ${show(path)}: directory ${show(dir)}: ${reason(err)}`)
  }
  if (!st.isDirectory()) throw new DHTError('STATE_FILE', `state file ${show(path)}: ${show(dir)} is not a directory`)
}

function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
}

/**
 * Removes temp files an interrupted save of `name` left in `dir`: ours by name, regular files only, whose writer is
 * gone (or which are older than any save takes). Best effort: a failure here never stops a start.
 */
async function removeStaleTemps(dir: string, name: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  const prefix = `.${name}.`
  for (const f of names) {
    if (!f.startsWith(prefix) || !f.endsWith('.tmp')) continue
    const m = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(f.slice(prefix.length))
    if (!m) continue
    const p = join(dir, f)
    try {
      const st = await lstat(p)
      if (!st.isFile()) continue
      if (processAlive(Number(m[1])) && Date.now() - st.mtimeMs < STALE_TEMP_MS) continue
      await unlink(p)
    } catch {}
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function notRegular(path: string, st: Stats): DHTError {
  const kind = st.isDirectory()
    ? 'a directory'
    : st.isFIFO()
      ? 'a FIFO (named pipe)'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isBlockDevice()
          ? 'a block device'
          : st.isSocket()
            ? 'a socket'
            : 'not a regular file'
  return new DHTError('STATE_FILE', `state file ${show(path)} is ${kind}, not a regular file`)
}

/** A path for a one-line message: quoted, and cut when very long. */
function show(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path)
}

/** An fs error's code and short text (never its stack). */
function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e.code ? `${e.code}${e.syscall ? ` (${e.syscall})` : ''}` : String(e.message ?? e).split('\n')[0]
}
