// A lookup as an async stream of its progress events (each reply and failure as it happens, then the result).
import { type TraversalEvent, type TraversalOptions, type TraversalResult, traverse } from './traversal.js'

/**
 * The same lookup as a stream of progress events: every reply and failure as it happens, then the result.
 * Breaking out of the loop cancels the lookup.
 */
export async function* traversalEvents(
  opts: Omit<TraversalOptions, 'onEvent'>,
): AsyncGenerator<TraversalEvent | { type: 'done'; result: TraversalResult }> {
  const queue: TraversalEvent[] = []
  let wake: (() => void) | undefined
  let outcome: { result: TraversalResult } | { error: unknown } | undefined
  const inner = new AbortController()
  const outer = opts.signal
  const forward = () => inner.abort()
  if (outer?.aborted) inner.abort()
  outer?.addEventListener('abort', forward, { once: true })
  traverse({
    ...opts,
    signal: inner.signal,
    onEvent: (e) => {
      queue.push(e)
      wake?.()
    },
  }).then(
    (result) => {
      outcome = { result }
      wake?.()
    },
    (error) => {
      outcome = { error }
      wake?.()
    },
  )
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!
      if (outcome) {
        if ('error' in outcome) throw outcome.error
        yield { type: 'done', result: outcome.result }
        return
      }
      await new Promise<void>((r) => {
        wake = r
      })
      wake = undefined
    }
  } finally {
    outer?.removeEventListener('abort', forward)
    if (!outcome) inner.abort()
  }
}
