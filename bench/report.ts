// Shared output for benchmarks: a readable table plus machine-readable RESULT lines, kept for bench/results/.
import { collectTable } from './record.js'

export interface Row {
  /** `<area>.<case>.<metric>`, e.g. `codec.ping_query.decode`. */
  key: string
  ours: number
  anchor: number
  unit?: string
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 1000) return Math.round(n).toString()
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(3)
}

/** Prints a table of rows and one `RESULT` line per row; ratio = ours / anchor. */
export function report(title: string, anchorName: string, rows: Row[]): void {
  console.log(`\n${title}`)
  const w = Math.max(...rows.map((r) => r.key.length), 10)
  console.log(`${'case'.padEnd(w)}  ${'ours'.padStart(12)}  ${anchorName.padStart(14)}  ${'ratio'.padStart(7)}  unit`)
  for (const r of rows) {
    const ratio = r.ours / r.anchor
    console.log(
      `${r.key.padEnd(w)}  ${fmt(r.ours).padStart(12)}  ${fmt(r.anchor).padStart(14)}  ${fmt(ratio).padStart(7)}  ${r.unit ?? ''}`,
    )
  }
  collectTable({ title, anchor: anchorName, rows: rows.map((r) => ({ ...r, ratio: r.ours / r.anchor })) })
  for (const r of rows)
    console.log(`RESULT ${r.key} ours=${fmt(r.ours)} anchor=${fmt(r.anchor)} ratio=${fmt(r.ours / r.anchor)}`)
}
