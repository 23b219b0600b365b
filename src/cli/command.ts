// What a command group module (dht, krpc, peer, holepunch, demo) gives main.ts. Its own module so that the groups
// and main.ts, which loads them, do not import each other.
import type { Output } from './output.js'

export interface CommandGroup {
  /** One line for the top-level help. */
  summary: string
  /** Full help text for `mainline <group> --help`. */
  help: string
  /** Runs the group with the arguments after the group name. Resolves to the exit code. */
  run(argv: string[], out: Output): Promise<number>
  /** `mainline <group>` with no command runs the group (instead of printing its help and exiting 2). */
  runsWithoutArgs?: boolean
}
