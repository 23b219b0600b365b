// Option parsing shared by every command group, so that all parse alike: negative numbers are values (`--port -1`
// is a bad port, not Node's "ambiguous" message), parse errors are one short line, user input quoted in a message
// is cut to a readable length, and `--bootstrap` lists mean the same everywhere.
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { oneLine, quote, UsageError } from './output.js'

type Options = NonNullable<ParseArgsConfig['options']>

/**
 * `parseArgs` (strict) with the house rules: an option taking a value accepts one that starts with "-" when it is a
 * number; Node's parse errors become one-line `UsageError`s.
 */
export function parseOptions<O extends Options>(
  argv: string[],
  options: O,
  allowPositionals = false,
): {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: boolean }>>['values']
  positionals: string[]
} {
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = argv[i + 1]
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      args.push(`${a}=${next}`)
      i++
    } else {
      args.push(a)
    }
  }
  try {
    const r = parseArgs({ args, options, allowPositionals, strict: true })
    return { values: r.values, positionals: r.positionals }
  } catch (err) {
    throw new UsageError(parseError(err))
  }
}

/** Node's parse errors, said in one line with the input cut. */
function parseError(err: unknown): string {
  const e = err as { code?: string; message?: string }
  const msg = String(e.message ?? err)
  const option = /'(-[^']*)'/.exec(msg)?.[1]
  const shown = option === undefined ? '' : ` ${quote(option.replace(/ <value>$/, ''))}`
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option${shown}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(msg)
        ? `option${shown} needs a value`
        : /ambiguous/.test(msg)
          ? `option${shown} needs a value (one that starts with "-" is written ${option?.split(' ')[0] ?? '--option'}=VALUE)`
          : /does not take an argument/.test(msg)
            ? `option${shown} takes no value`
            : `bad value for option${shown}`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(msg)?.[1]
      return `unexpected argument${arg === undefined ? '' : ` ${quote(arg)}`}`
    }
    default:
      return oneLine(msg)
  }
}

/**
 * `--bootstrap` values, each a comma-separated list: the `host:port` entries, or `none` (given alone) for no
 * bootstrap at all; `undefined` when the option was not given. Every group reads it this way.
 */
export function bootstrapEntries(given: string[] | undefined): string[] | 'none' | undefined {
  if (given === undefined || given.length === 0) return undefined
  const entries = given.flatMap((v) => v.split(',')).map((s) => s.trim())
  if (entries.some((s) => s === '')) throw new UsageError('--bootstrap has an empty entry')
  if (entries.includes('none')) {
    if (entries.length > 1) throw new UsageError('--bootstrap none cannot be combined with other --bootstrap values')
    return 'none'
  }
  return entries
}
