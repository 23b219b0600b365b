// The public surface of each package entry as a normalised declaration file, so that any change to it is a
// visible diff in test/fixtures/api/. test/unit/exports.test.ts compares; after a deliberate change run
//   npm run api:update        (node --import tsx scripts/api-snapshot.ts --update)
// and commit the fixture diff with the change. `--check` exits non-zero on a difference.
//
// How: tsc emits the .d.ts of the entries in memory; a second program over those .d.ts lists each entry's
// exports, prints each export's declaration (comments and private members removed), then every declaration
// those reference that the entry does not export ("reachable, not exported": types a user meets but cannot
// name — usually a sign that something should be exported, or kept out of a signature).
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const OUT = join(ROOT, '.api-snapshot') // virtual: never written to disk

/** Package entry → source file (mirrors package.json "exports"). */
export const ENTRIES: Readonly<Record<string, string>> = {
  mainline: 'src/index.ts',
  'mainline/codec': 'src/codec/index.ts',
  'mainline/sim': 'src/sim.ts',
}

/** Where an entry's snapshot is kept. */
export function snapshotPath(entry: string): string {
  return join(ROOT, 'test/fixtures/api', `${entry.replace('/', '-')}.d.ts.txt`)
}

export interface EntrySurface {
  /** Runtime (value) export names, sorted. */
  values: string[]
  /** Type-only export names, sorted. */
  types: string[]
  /** The normalised snapshot text. */
  text: string
}

function emitDeclarations(): Map<string, string> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    strict: true,
    skipLibCheck: true,
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: join(ROOT, 'src'),
    outDir: OUT,
  }
  const program = ts.createProgram(
    Object.values(ENTRIES).map((f) => join(ROOT, f)),
    options,
  )
  const files = new Map<string, string>()
  const result = program.emit(undefined, (name, text) => files.set(resolve(name), text), undefined, true)
  const errors = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error)
  if (errors.length) throw new Error(ts.formatDiagnostics(errors, formatHost))
  return files
}

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => ROOT,
  getNewLine: () => '\n',
}

function declarationProgram(dts: Map<string, string>): ts.Program {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    noEmit: true,
    skipLibCheck: true,
  }
  const host = ts.createCompilerHost(options)
  const readFile = host.readFile.bind(host)
  const fileExists = host.fileExists.bind(host)
  const getSourceFile = host.getSourceFile.bind(host)
  host.readFile = (f) => dts.get(resolve(f)) ?? readFile(f)
  host.fileExists = (f) => dts.has(resolve(f)) || fileExists(f)
  host.directoryExists = (d) => resolve(d).startsWith(OUT) || ts.sys.directoryExists(d)
  host.realpath = (f) => (resolve(f).startsWith(OUT) ? f : (ts.sys.realpath?.(f) ?? f))
  host.getSourceFile = (f, lang, onError, create) => {
    const text = dts.get(resolve(f))
    if (text !== undefined) return ts.createSourceFile(f, text, lang, true)
    return getSourceFile(f, lang, onError, create)
  }
  return ts.createProgram([...dts.keys()], options, host)
}

function isPrivateMember(m: ts.Node): boolean {
  if (!ts.isClassElement(m)) return false
  if (m.name && ts.isPrivateIdentifier(m.name)) return true
  return (ts.getCombinedModifierFlags(m as ts.Declaration) & ts.ModifierFlags.Private) !== 0
}

/** The statement to print for a declaration (a variable's whole `declare const` statement). */
function statementOf(decl: ts.Declaration): ts.Node {
  if (ts.isVariableDeclaration(decl)) return decl.parent.parent
  return decl
}

const stripPrivate: ts.TransformerFactory<ts.Node> = (ctx) => {
  const visit = (node: ts.Node): ts.Node | undefined => {
    if (isPrivateMember(node)) return undefined
    return ts.visitEachChild(node, visit, ctx)
  }
  return (root) => ts.visitNode(root, visit) as ts.Node
}

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed })

function print(node: ts.Node): string {
  const transformed = ts.transform(node, [stripPrivate]).transformed[0]
  return printer.printNode(ts.EmitHint.Unspecified, transformed, node.getSourceFile())
}

/** Symbols named by type positions inside `node` (skipping private members). */
function referencedSymbols(node: ts.Node, checker: ts.TypeChecker): ts.Symbol[] {
  const out: ts.Symbol[] = []
  const add = (s: ts.Symbol | undefined) => {
    if (!s) return
    out.push(s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s)
  }
  const visit = (n: ts.Node): void => {
    if (isPrivateMember(n)) return
    if (ts.isTypeReferenceNode(n)) add(checker.getSymbolAtLocation(n.typeName))
    else if (ts.isExpressionWithTypeArguments(n)) add(checker.getSymbolAtLocation(n.expression))
    else if (ts.isTypeQueryNode(n)) add(checker.getSymbolAtLocation(n.exprName))
    else if (ts.isImportTypeNode(n)) {
      const t = checker.getTypeFromTypeNode(n)
      add(t.aliasSymbol ?? t.getSymbol())
    }
    ts.forEachChild(n, visit)
  }
  visit(node)
  return out
}

/** `// label a, b, c` as comment lines of at most 116 characters. */
function wrap(label: string, names: readonly string[]): string[] {
  const lines: string[] = []
  let line = `// ${label}`
  for (const [i, name] of (names.length ? names : ['none']).entries()) {
    const item = ` ${name}${i < names.length - 1 ? ',' : ''}`
    if (line.length + item.length > 116) {
      lines.push(line)
      line = '//   '
    }
    line += line.endsWith('   ') ? item.trimStart() : item
  }
  lines.push(line)
  return lines
}

export function apiSurfaces(): Map<string, EntrySurface> {
  const dts = emitDeclarations()
  const program = declarationProgram(dts)
  const checker = program.getTypeChecker()
  const ours = (d: ts.Declaration) => dts.has(resolve(d.getSourceFile().fileName))
  const where = (d: ts.Declaration) =>
    relative(OUT, d.getSourceFile().fileName)
      .replace(/\.d\.ts$/, '.ts')
      .split('\\')
      .join('/')
  const exportsOf = (source: string): ts.Symbol[] => {
    const file = join(OUT, relative('src', source).replace(/\.ts$/, '.d.ts'))
    const sf = program.getSourceFile(file)
    const mod = sf && checker.getSymbolAtLocation(sf)
    if (!mod) throw new Error(`no declarations for ${source}`)
    return checker.getExportsOfModule(mod).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }
  const resolveAlias = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s)
  // `export type { X }` anywhere along the re-export chain makes X a type-only export.
  const typeOnly = (sym: ts.Symbol): boolean => {
    for (
      let s: ts.Symbol | undefined = sym;
      s && s.flags & ts.SymbolFlags.Alias;
      s = checker.getImmediateAliasedSymbol(s)
    ) {
      const d = s.declarations?.[0]
      if (d && ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) return true
      if (d && ts.isImportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) return true
    }
    return false
  }
  // Which entry exports a symbol, so a type reached from one entry and exported by another is named, not copied.
  const home = new Map<ts.Symbol, string>()
  for (const [entry, source] of Object.entries(ENTRIES)) {
    for (const sym of exportsOf(source)) if (!home.has(resolveAlias(sym))) home.set(resolveAlias(sym), entry)
  }
  const printDecls = (label: string, decls: ts.Declaration[]) =>
    `// ${label} — ${decls.map(where).join(', ')}\n${decls.map((d) => print(statementOf(d))).join('\n')}`
  const surfaces = new Map<string, EntrySurface>()
  for (const [entry, source] of Object.entries(ENTRIES)) {
    const exported = new Set<ts.Symbol>()
    const values: string[] = []
    const types: string[] = []
    const sections: string[] = []
    const queue: ts.Symbol[] = []
    for (const sym of exportsOf(source)) {
      const target = resolveAlias(sym)
      exported.add(target)
      const isType = typeOnly(sym) || !(target.flags & ts.SymbolFlags.Value)
      ;(isType ? types : values).push(sym.name)
      const decls = (target.declarations ?? []).filter(ours)
      const notes = [
        target.name !== sym.name ? `declared as ${target.name}` : '',
        isType && target.flags & ts.SymbolFlags.Value ? 'type only' : '',
      ]
      const label = `${sym.name}${notes.some(Boolean) ? ` (${notes.filter(Boolean).join(', ')})` : ''}`
      sections.push(printDecls(label, decls))
      for (const d of decls) queue.push(...referencedSymbols(statementOf(d), checker))
    }
    const reachable = new Map<string, string>()
    const elsewhere = new Set<string>()
    const seen = new Set<ts.Symbol>()
    while (queue.length) {
      const s = queue.shift() as ts.Symbol
      if (seen.has(s) || exported.has(s) || s.flags & ts.SymbolFlags.TypeParameter) continue
      seen.add(s)
      const decls = (s.declarations ?? []).filter(ours)
      // Members (a property's type, an enum member) are reached through their parent.
      if (decls.length === 0 || decls.some((d) => !ts.isSourceFile(statementOf(d).parent))) continue
      const other = home.get(s)
      if (other) {
        elsewhere.add(`${s.name} (${other})`)
        continue
      }
      reachable.set(`${where(decls[0])}:${s.name}`, printDecls(s.name, decls))
      for (const d of decls) queue.push(...referencedSymbols(statementOf(d), checker))
    }
    const reachableText = [...reachable.keys()].sort().map((k) => reachable.get(k))
    const text = [
      `// Public surface of '${entry}' (${source}). Generated by scripts/api-snapshot.ts: do not edit;`,
      '// after a deliberate change run `npm run api:update` and commit this diff.',
      ...wrap(`values (${values.length}):`, values),
      ...wrap(`types (${types.length}):`, types),
      ...wrap('used from other entries:', [...elsewhere].sort()),
      '',
      ...sections,
      '',
      `// ---- reachable from the exports above, exported by no entry (${reachableText.length}) ----`,
      '',
      ...reachableText,
      '',
    ].join('\n')
    surfaces.set(entry, { values, types, text })
  }
  return surfaces
}

function main(): void {
  const mode = process.argv[2]
  if (mode !== '--update' && mode !== '--check') {
    console.error('usage: node --import tsx scripts/api-snapshot.ts --update | --check')
    process.exit(2)
  }
  let differ = 0
  for (const [entry, surface] of apiSurfaces()) {
    const path = snapshotPath(entry)
    let old = ''
    try {
      old = readFileSync(path, 'utf8')
    } catch {}
    if (old === surface.text) continue
    differ++
    if (mode === '--update') {
      writeFileSync(path, surface.text)
      console.log(`updated ${relative(ROOT, path)}`)
    } else console.error(`${relative(ROOT, path)} differs from the public surface of '${entry}'`)
  }
  if (mode === '--check' && differ) process.exit(1)
  if (differ === 0) console.log('public surface unchanged')
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
