// Checks the package as npm would install it: `npm pack` (which builds through `prepare`), unpack into a temp
// dir, then load every entry of package.json "exports" with require() and with import(), and check that both
// give the same non-empty export list and that a path outside "exports" is refused.
// Usage: node scripts/check-pack.mjs   (npm run check:pack)
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const dir = mkdtempSync(join(tmpdir(), 'mainline-pack-'))
try {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const out = execFileSync(npm, ['pack', '--silent', '--pack-destination', dir], { encoding: 'utf8' })
  const tarball = join(dir, out.trim().split('\n').at(-1))
  const home = join(dir, 'node_modules', pkg.name)
  mkdirSync(home, { recursive: true })
  execFileSync('tar', ['xzf', tarball, '-C', home, '--strip-components=1'])
  writeFileSync(join(dir, 'package.json'), '{ "name": "pack-check", "private": true }\n')
  const entries = Object.keys(pkg.exports)
    .filter((k) => k !== './package.json')
    .map((k) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`))
  const probe = `
    const entries = ${JSON.stringify(entries)}
    const failures = []
    for (const e of entries) {
      const cjs = Object.keys(require(e)).sort()
      const esm = Object.keys(await import(e)).filter((k) => k !== 'default' && k !== 'module.exports').sort()
      if (cjs.length === 0) failures.push(e + ': no exports')
      if (cjs.join() !== esm.join()) failures.push(e + ': CJS and ESM export lists differ')
      console.log(e + ': ' + cjs.length + ' exports (CJS = ESM)')
    }
    try { require(${JSON.stringify(`${pkg.name}/dist/esm/utp/ledbat.js`)}); failures.push('a deep import resolved') }
    catch (err) { if (err.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw err }
    if (failures.length) { console.error(failures.join('\\n')); process.exit(1) }
  `
  writeFileSync(
    join(dir, 'probe.cjs'),
    `(async () => {${probe}})().catch((e) => { console.error(e); process.exit(1) })\n`,
  )
  execFileSync(process.execPath, ['probe.cjs'], { cwd: dir, stdio: 'inherit' })
  console.log('package OK')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
