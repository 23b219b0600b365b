// What a demo chapter is: a short, self-contained story told with real protocol code on this machine.
import type { Output } from '../output.js'

export interface ChapterContext {
  out: Output
  /** Aborts when the demo's --timeout passes. */
  signal: AbortSignal
  /** Options from the command line (e.g. --nodes). */
  nodes: number
  /** `--netns`: run across real network namespaces (root) where a chapter can; default false (simulated/loopback). */
  netns?: boolean
}

export interface Chapter {
  /** Name on the command line: `mainline demo <name>`. */
  name: string
  /** One line for `mainline demo --help` and the chapter heading. */
  title: string
  /** Tells the story; resolves to true when it ended as it should (the demo then exits 0). */
  run(ctx: ChapterContext): Promise<boolean>
}
