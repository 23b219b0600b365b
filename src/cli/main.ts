#!/usr/bin/env node
// The `mainline` command: `mainline <group> <command> [args] [--json]`. Each group lives in its own module and is
// loaded only when used, so `mainline krpc decode` never pays for the DHT or uTP.
import { readFileSync } from 'node:fs'
import type { CommandGroup } from './command.js'
import { Output, oneLine, quote, UsageError } from './output.js'

const GROUPS: Record<string, () => Promise<CommandGroup>> = {
  // Each group adds one line here: name: async () => (await import('./name.js')).group,
  dht: async () => (await import('./dht.js')).group,
  demo: async () => (await import('./demo.js')).group,
  krpc: async () => (await import('./krpc.js')).group,
  peer: async () => (await import('./peer.js')).group,
  holepunch: async () => (await import('./holepunch.js')).group,
  nat: async () => (await import('./nat.js')).group,
  torrent: async () => (await import('./torrent.js')).group,
  magnet: async () => (await import('./magnet.js')).group,
}

function version(): string {
  // dist/esm/cli/main.js and src/cli/main.ts both sit below the package root; walk up to its package.json.
  let dir = new URL('.', import.meta.url)
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'mainline' && pkg.version) return pkg.version
    } catch {}
    dir = new URL('..', dir)
  }
  return 'unknown'
}

async function topHelp(): Promise<string> {
  const lines = [
    'mainline: the Mainline DHT, the peer wire protocol with PEX, uTP and BEP 55 holepunch NAT traversal.',
    '',
    'Usage: mainline <group> <command> [args] [--json]',
    '',
    'Groups:',
  ]
  for (const [name, load] of Object.entries(GROUPS)) lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`)
  lines.push(
    '',
    'Options:',
    '  --json       one JSON object per line on stdout, each with an "event" key',
    '  --help, -h   help for mainline or for a group (mainline <group> --help)',
    '  --version    print the version',
  )
  return lines.join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const out = new Output(argv.includes('--json'))
  const [first, ...rest] = argv
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${version()}\n`)
    return 0
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${await topHelp()}\n`)
    return first === undefined ? 2 : 0
  }
  const load = GROUPS[first]
  if (!load) {
    out.error(`unknown group ${quote(first)} (see mainline --help)`)
    return 2
  }
  const group = await load()
  // --help anywhere after the group (`mainline peer serve --help`) shows the group's help.
  if ((rest.length === 0 && !group.runsWithoutArgs) || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${group.help}\n`)
    return rest.length === 0 ? 2 : 0
  }
  try {
    return await group.run(rest, out)
  } catch (err) {
    // A usage error is one line: what is wrong, then where to read more.
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.error(`${oneLine((err as Error).message)} (see mainline ${first} --help)`)
      return 2
    }
    // Our own errors carry a code and a message meant for the user (a port in use, a timeout): no stack trace.
    const code = (err as { code?: unknown } | undefined)?.code
    if (err instanceof Error && typeof code === 'string') {
      out.error(`${oneLine(err.message)} (${code})`)
      return 1
    }
    throw err
  }
}

// Node's own warnings (MaxListenersExceededWarning, deprecations…) are for developers: the CLI speaks in its own
// one-line messages only. MAINLINE_DEBUG=1 shows them.
process.removeAllListeners('warning')
process.on('warning', (w) => {
  if (process.env.MAINLINE_DEBUG)
    process.stderr.write(`mainline: node warning: ${oneLine(`${w.name}: ${w.message}`)}\n`)
})

// `mainline … | head` closes stdout early: end quietly instead of dying on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`mainline: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  },
)
