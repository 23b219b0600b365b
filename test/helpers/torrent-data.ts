// The data the libtorrent-made fixtures (test/fixtures/lt-*.torrent) were hashed from: test/interop/lt_torrent.py's
// generator, the same formula, so unit tests can rebuild the files without committing them.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The bytes fixtures were made from (byte i of file `seed`). */
export function fixtureBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed * 13 + (i >> 8)) & 0xff
  return b
}

export function writeFixtureData(dir: string): void {
  writeFileSync(join(dir, 'single.bin'), fixtureBytes(100000, 1))
  mkdirSync(join(dir, 'multi/sub'), { recursive: true })
  writeFileSync(join(dir, 'multi/a.txt'), fixtureBytes(40000, 2))
  writeFileSync(join(dir, 'multi/sub/b.bin'), fixtureBytes(70000, 3))
  writeFileSync(join(dir, 'multi/c.txt'), fixtureBytes(5, 4))
}
