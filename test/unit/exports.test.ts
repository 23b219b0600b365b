// The public surface of each package entry is deliberate: its declarations are snapshotted in
// test/fixtures/api/*.d.ts.txt, so adding, removing or retyping an export is a visible diff. After a deliberate
// change: `npm run api:update`, then commit the fixture with the change.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { apiSurfaces, ENTRIES, type EntrySurface, snapshotPath } from '../../scripts/api-snapshot.js'

const root = new URL('../../', import.meta.url)
const surfaces: Map<string, EntrySurface> = apiSurfaces()

describe('public API', () => {
  for (const [entry, source] of Object.entries(ENTRIES)) {
    it(`'${entry}' matches its snapshot (npm run api:update after a deliberate change)`, () => {
      const want = readFileSync(snapshotPath(entry), 'utf8')
      assert.equal(surfaces.get(entry)?.text, want)
    })

    it(`'${entry}' exports at run time exactly the values its declarations name`, async () => {
      const mod = (await import(new URL(source, root).href)) as Record<string, unknown>
      assert.deepEqual(Object.keys(mod).sort(), surfaces.get(entry)?.values)
    })
  }

  it('package.json "exports" maps each entry to its built ESM and CJS files', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      exports: Record<
        string,
        { import: { types: string; default: string }; require: { types: string; default: string } }
      >
    }
    const keys = Object.keys(pkg.exports).filter((k) => k !== './package.json')
    assert.deepEqual(
      keys.sort(),
      Object.keys(ENTRIES)
        .map((e) => e.replace(/^mainline/, '.'))
        .sort(),
    )
    for (const [entry, source] of Object.entries(ENTRIES)) {
      const built = source.replace(/^src\//, '').replace(/\.ts$/, '')
      const map = pkg.exports[entry.replace(/^mainline/, '.')]
      assert.deepEqual(map, {
        import: { types: `./dist/esm/${built}.d.ts`, default: `./dist/esm/${built}.js` },
        require: { types: `./dist/cjs/${built}.d.ts`, default: `./dist/cjs/${built}.js` },
      })
    }
  })

  it('every import from a package entry in README.md and docs/*.md names one of its exports', () => {
    const files = ['README.md', ...readdirSync(new URL('docs/', root)).map((f) => `docs/${f}`)].filter((f) =>
      f.endsWith('.md'),
    )
    const imports = /import\s*\{([^}]*)\}\s*from\s*'(mainline(?:\/[a-z]+)?)'/g
    let checked = 0
    const missing: string[] = []
    for (const file of files) {
      const text = readFileSync(new URL(file, root), 'utf8')
      for (const m of text.matchAll(imports)) {
        const surface = surfaces.get(m[2])
        if (!surface) {
          missing.push(`${file}: no entry '${m[2]}'`)
          continue
        }
        for (const raw of m[1].split(',')) {
          const name = raw
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)[0]
          if (!name) continue
          checked++
          if (!surface.values.includes(name) && !surface.types.includes(name))
            missing.push(`${file}: ${name} from '${m[2]}'`)
        }
      }
    }
    assert.deepEqual(missing, [])
    assert.ok(checked > 10, `only ${checked} imported names found in the docs`)
  })
})
