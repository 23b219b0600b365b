// The layers of docs/architecture.md, checked on the import graph of src/: each module imports only from its own
// layer and the layers its row allows. A new dependency between layers is a deliberate edit of this table and of
// the document, never an accident.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { it } from 'node:test'
import ts from 'typescript'
import { importGraph, SRC, sources } from '../helpers/import-graph.js'

/** Layer → the layers it may import (besides itself). Keep in step with docs/architecture.md. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  codec: [],
  net: ['codec'],
  'net/sim': ['net', 'codec'],
  dht: ['net', 'codec'],
  utp: ['net', 'codec'],
  wire: ['net', 'codec'],
  // .torrent files on disk: hashing with node:crypto over the pure metainfo codec.
  torrent: ['codec'],
  swarm: ['dht', 'utp', 'wire', 'torrent', 'net', 'codec'],
  cli: ['swarm', 'dht', 'utp', 'wire', 'torrent', 'net/sim', 'net', 'codec'],
  // The package entries re-export; they are imported by nothing inside src/.
  entry: ['swarm', 'dht', 'utp', 'wire', 'torrent', 'net/sim', 'net', 'codec'],
}

/**
 * The edges of the world — UDP sockets, TCP, name resolution — are `net/`'s (the real adapters: `UdpSocket`,
 * `bindUdp`, `dnsResolver`, `realTcp`) and injected into the layers above, which must not reach them directly.
 */
const EDGE_BUILTINS = ['node:dgram', 'dgram', 'node:dns', 'node:dns/promises', 'dns', 'node:net', 'net']
const MAY_USE_EDGES = new Set(['net', 'cli', 'entry'])

function layerOf(file: string): string {
  const rel = relative(SRC, file).split('\\').join('/')
  if (!rel.includes('/')) return 'entry'
  if (rel.startsWith('net/sim/')) return 'net/sim'
  return rel.slice(0, rel.indexOf('/'))
}

it('every import in src/ goes to the same layer or one its row in MAY_IMPORT allows', () => {
  const graph = importGraph(sources(SRC))
  const wrong: string[] = []
  for (const [file, deps] of graph) {
    const from = layerOf(file)
    const allowed = MAY_IMPORT[from]
    if (!allowed) {
      wrong.push(`${relative(SRC, file)}: layer ${from} is not in the table`)
      continue
    }
    for (const dep of deps) {
      const to = layerOf(dep)
      if (to !== from && !allowed.includes(to))
        wrong.push(`${relative(SRC, file)} (${from}) → ${relative(SRC, dep)} (${to})`)
      if (to === 'entry') wrong.push(`${relative(SRC, file)} imports the package entry ${relative(SRC, dep)}`)
    }
  }
  assert.deepEqual(wrong, [])
  assert.ok(graph.size > 50, `only ${graph.size} modules found`)
})

it('no protocol layer opens a socket or resolves a name itself: those edges are injected from net/', () => {
  const wrong: string[] = []
  for (const file of sources(SRC)) {
    const layer = layerOf(file)
    if (MAY_USE_EDGES.has(layer)) continue
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    for (const f of info.importedFiles)
      if (EDGE_BUILTINS.includes(f.fileName)) wrong.push(`${relative(SRC, file)} (${layer}) imports ${f.fileName}`)
  }
  assert.deepEqual(wrong, [])
})
