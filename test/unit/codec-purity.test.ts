import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { it } from 'node:test'

// src/codec is the pure layer (DESIGN.md): it must run wherever a Uint8Array does.
it('src/codec imports nothing from Node or from the layers above', () => {
  const dir = join(import.meta.dirname, '../../src/codec')
  const offenders: string[] = []
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    if (!f.endsWith('.ts')) continue
    const src = readFileSync(join(dir, f), 'utf8')
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1]
      const ok = spec.startsWith('./') && !spec.includes('..')
      if (!ok) offenders.push(`${f}: ${spec}`)
    }
    // Code only: comments may mention what the code avoids.
    const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
    for (const g of ['Buffer', 'process', 'require(', 'setTimeout', 'setInterval']) {
      if (new RegExp(`\\b${g.replace('(', '\\(')}`).test(code)) offenders.push(`${f}: uses ${g}`)
    }
  }
  assert.deepEqual(offenders, [])
})
