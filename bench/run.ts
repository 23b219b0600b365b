// `npm run bench -- <name> [...]`: runs bench/<name>.ts (all of them with no name). Each bench module exports
// `run(): Promise<void>` and prints a table plus `RESULT <area>.<case>.<metric> ours=… anchor=… ratio=…` lines;
// each bench's tables are then written to bench/results/<date>_<name>.json (bench/record.ts).
import { readdirSync } from 'node:fs'
import { writeRecord } from './record.js'

const dir = new URL('.', import.meta.url)
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && f !== 'report.ts' && f !== 'record.ts')
  .map((f) => f.slice(0, -3))
const wanted = process.argv.slice(2)
const names = wanted.length ? wanted : available
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown bench ${JSON.stringify(name)}; available: ${available.join(', ')}`)
    process.exit(2)
  }
}
for (const name of names) {
  console.log(`\n== bench ${name}`)
  const mod = (await import(new URL(`${name}.ts`, dir).href)) as { run(): Promise<void> }
  await mod.run()
  const file = writeRecord(name)
  if (file) console.log(`recorded: ${file}`)
}
