// Every bench run is written to bench/results/ so that README and docs quote only recorded figures.
// `report()` collects its tables here; `run.ts` writes one JSON file per bench with the date, the machine and the
// versions of both sides.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, type as osType, release, totalmem } from 'node:os'
import type { Row } from './report.js'

export interface Table {
  title: string
  anchor: string
  rows: Array<Row & { ratio: number }>
}

const tables: Table[] = []
const notes: string[] = []

/** Called by `report()`: one printed table. */
export function collectTable(t: Table): void {
  tables.push(t)
}

/** Free-form facts a bench wants kept with its figures (set-up, counts, what was found). */
export function note(text: string): void {
  notes.push(text)
}

function version(pkg: string): string | undefined {
  try {
    const p = new URL(`../node_modules/${pkg}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version
  } catch {
    return undefined
  }
}

/** Writes what `name` reported since the last call to bench/results/<date>_<name>.json; returns the path. */
export function writeRecord(name: string): string | undefined {
  if (tables.length === 0 && notes.length === 0) return undefined
  const date = new Date()
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
    devDependencies?: Record<string, string>
  }
  const anchors: Record<string, string | undefined> = {}
  for (const dep of Object.keys(own.devDependencies ?? {})) anchors[dep] = version(dep)
  const cpu = cpus()
  const record = {
    bench: name,
    date: date.toISOString(),
    machine: {
      os: `${osType()} ${release()}`,
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    versions: { mainline: own.version, ...anchors },
    tables: tables.splice(0),
    notes: notes.splice(0),
  }
  const dir = new URL('./results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const stamp = record.date.replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z')
  const file = new URL(`${stamp}_${name}.json`, dir)
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`)
  return file.pathname
}
