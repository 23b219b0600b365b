// No import cycles in src/: every module can be read (and loaded) after the modules it imports. Type-only imports
// count too — a cycle of types is still two modules that cannot be understood one without the other.
import assert from 'node:assert/strict'
import { relative, resolve } from 'node:path'
import { describe, it } from 'node:test'
import ts from 'typescript'
import { cycles, importGraph, SRC, sources } from '../helpers/import-graph.js'

/**
 * Cycles that exist and are owed a fix, each with its reason. The test fails on any other cycle, and also when a
 * listed one is gone (so the list only shrinks). None is owed today.
 */
const KNOWN_CYCLES: readonly string[] = []

describe('import graph of src/', () => {
  it('has no cycles (but the listed ones, which must still exist)', () => {
    const files = sources(SRC)
    const graph = importGraph(files)
    assert.ok(graph.size > 50, `only ${graph.size} modules found under src/`)
    const found = cycles(graph).map((scc) => scc.map((f) => relative(SRC, f)).join(' ↔ '))
    assert.deepEqual(found.sort(), [...KNOWN_CYCLES].sort())
  })

  it('the checker finds a cycle, including one through a type-only import', () => {
    const a = resolve(SRC, 'a.ts')
    const b = resolve(SRC, 'b.ts')
    const c = resolve(SRC, 'c.ts')
    assert.deepEqual(
      cycles(
        new Map([
          [a, [b]],
          [b, [c]],
          [c, [a]],
        ]),
      ),
      [[a, b, c]],
    )
    assert.deepEqual(
      cycles(
        new Map([
          [a, [b]],
          [b, []],
        ]),
      ),
      [],
    )
    const info = ts.preProcessFile("import type { X } from './x.js'\nlet y: import('./y.js').Y", true, true)
    assert.deepEqual(
      info.importedFiles.map((f) => f.fileName),
      ['./x.js', './y.js'],
    )
  })
})
