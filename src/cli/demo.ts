// `mainline demo`: offline, no set-up. Tells the project's story in chapters, each run with the real protocol code
// on this machine (real UDP on 127.0.0.1). `npm start` runs it.

import { parseOptions } from './args.js'
import type { CommandGroup } from './command.js'
import { CHAPTERS } from './demo/index.js'
import { type Output, parseSeconds, quote, UsageError } from './output.js'

const HELP = `mainline demo: see the protocols work, offline, in a few seconds.

Usage:
  mainline demo [chapter...] [--nodes N] [--netns] [--timeout S] [--json]

Chapters (all of them, in order, when none is named):
${CHAPTERS.map((c) => `  ${c.name.padEnd(10)} ${c.title}`).join('\n')}

Options:
  --nodes N     size of the local DHT testnet (default 120, at least 10)
  --netns       holepunch chapter across real network namespaces and Linux NAT (root; needs ip and nft)
                instead of the simulated network
  --timeout S   give up after S seconds (default 60)
  --json        one JSON object per line on stdout: {"event":"chapter",…}, then each chapter's events
                ("testnet", "announced", "lookup", …), then {"event":"end","ok":true|false,"ms":T}

Everything runs on 127.0.0.1 or in memory (with --netns: in network namespaces of its own); nothing is sent to
the Internet. Exit 0 when every chapter ended as it should.`

async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseOptions(
    argv,
    {
      json: { type: 'boolean' },
      nodes: { type: 'string' },
      netns: { type: 'boolean' },
      timeout: { type: 'string' },
    },
    true,
  )
  const nodes = values.nodes === undefined ? 120 : Number(values.nodes)
  if (!Number.isInteger(nodes) || nodes < 10 || nodes > 5000)
    throw new UsageError('--nodes must be an integer 10..5000')
  const chapters = positionals.length
    ? positionals.map((name) => {
        const c = CHAPTERS.find((x) => x.name === name)
        if (!c)
          throw new UsageError(`unknown chapter ${quote(name)}; chapters: ${CHAPTERS.map((x) => x.name).join(', ')}`)
        return c
      })
    : CHAPTERS
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), parseSeconds(values.timeout, 60) * 1000)
  const t0 = performance.now()
  let ok = true
  try {
    for (const [i, c] of chapters.entries()) {
      out.event('chapter', { name: c.name, title: c.title }, `${i ? '\n' : ''}== ${c.title}\n`)
      ok = (await c.run({ out, signal: ac.signal, nodes, netns: values.netns ?? false })) && ok
    }
  } catch (err) {
    out.error(ac.signal.aborted ? 'demo timed out' : `demo failed: ${(err as Error).message}`)
    ok = false
  } finally {
    clearTimeout(timer)
  }
  const ms = Math.round(performance.now() - t0)
  out.event('end', { ok, ms }, `\n${ok ? 'Done' : 'Something went wrong'} in ${(ms / 1000).toFixed(1)} s.`)
  return ok ? 0 : 1
}

export const group: CommandGroup = {
  summary: 'offline demo: a DHT finds a peer; NATed peers holepunch; a magnet link becomes metadata',
  help: HELP,
  runsWithoutArgs: true,
  run,
}
