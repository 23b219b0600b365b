// Key files of `mainline dht keygen` / `put --mutable --key FILE`: one JSON object holding an Ed25519 key for
// BEP 44 mutable items, written with mode 0600 and never over an existing file.
//
//   {"type":"ed25519","seed":"<64 hex digits>","publicKey":"<64 hex digits>"}
//
// `seed` is the 32-byte private key of RFC 8032 (what `generateKeypair(seed)` takes); `publicKey` is the BEP 44
// `k`, kept beside it so that a reader can tell which key a file holds without deriving it. On reading, the public
// key is derived from the seed again and must match.
import { open, readFile, stat } from 'node:fs/promises'
import { fromHex, toHex } from '../codec/bytes.js'
import { generateKeypair, type LocalKeypair } from '../dht/bep44-crypto.js'
import { quote, UsageError } from './output.js'

/** A key file is a few hundred bytes; anything much larger is not one (and is not read whole). */
const MAX_KEY_FILE = 4096

export interface KeyFileContents {
  type: 'ed25519'
  seed: string
  publicKey: string
}

export function keyFileContents(kp: LocalKeypair): KeyFileContents {
  return { type: 'ed25519', seed: toHex(kp.seed), publicKey: toHex(kp.publicKey) }
}

/** Writes a new key file with mode 0600; fails (EEXIST) rather than replace a file that is already there. */
export async function writeKeyFile(path: string, kp: LocalKeypair): Promise<void> {
  const fh = await open(path, 'wx', 0o600)
  try {
    // The mode given to open() is masked by the umask; set it outright so the file is never group/world readable.
    await fh.chmod(0o600)
    await fh.writeFile(`${JSON.stringify(keyFileContents(kp))}\n`)
  } finally {
    await fh.close()
  }
}

/**
 * Reads a key file. Problems with the file are `UsageError`s (exit 2). `warn` is told when the file can be read by
 * other users (the key still works: refusing would only make people loosen the check).
 */
export async function readKeyFile(path: string, warn: (text: string) => void = () => {}): Promise<LocalKeypair> {
  let text: string
  try {
    const st = await stat(path)
    if (!st.isFile()) throw new UsageError(`--key ${quote(path)} is not a regular file`)
    if (st.size > MAX_KEY_FILE) throw new UsageError(`--key ${quote(path)} is not a key file (too large)`)
    if ((st.mode & 0o077) !== 0) warn(`key file ${quote(path)} can be read by other users (chmod 600 it)`)
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw new UsageError(`cannot read --key ${quote(path)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  let data: Partial<KeyFileContents>
  try {
    data = JSON.parse(text) as Partial<KeyFileContents>
  } catch {
    throw new UsageError(`--key ${quote(path)} is not a key file (not JSON; make one with mainline dht keygen)`)
  }
  const seed = typeof data?.seed === 'string' && /^[0-9a-fA-F]{64}$/.test(data.seed) ? fromHex(data.seed) : undefined
  if (data?.type !== 'ed25519' || !seed) {
    throw new UsageError(`--key ${quote(path)} is not an ed25519 key file (needs "type":"ed25519" and a 64-hex "seed")`)
  }
  const kp = generateKeypair(seed)
  if (data.publicKey !== undefined && String(data.publicKey).toLowerCase() !== toHex(kp.publicKey)) {
    throw new UsageError(`--key ${quote(path)}: "publicKey" is not the seed's public key`)
  }
  return kp
}
