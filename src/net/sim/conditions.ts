// Link conditions of the simulated network and how they combine along a path.

/** Conditions of a path or of an access link. Every field is optional; see `DEFAULT_CONDITIONS`. */
export interface LinkConditions {
  /** One-way base latency in ms. Default: 10 on the internet path, 0.5 inside a NAT's LAN, 0 on access links. */
  latencyMs?: number
  /**
   * Extra one-way delay drawn uniformly from [0, jitterMs) per datagram. Default: 0. Datagrams with independent
   * delays can overtake each other, so jitter also reorders.
   */
  jitterMs?: number
  /** Probability (0..1) that a datagram is lost. Default: 0. */
  loss?: number
  /** Probability (0..1) that a datagram is delivered twice (the copy gets its own delay). Default: 0. */
  duplicate?: number
  /** Probability (0..1) that a datagram is held back by up to `2 × max(latencyMs, 1)` extra ms. Default: 0. */
  reorder?: number
  /**
   * IP MTU in bytes: a datagram whose payload plus IP/UDP headers (28 bytes for v4, 48 for v6) exceeds it is
   * dropped (no fragmentation), as with DF set. Default: 1500. Use `Infinity` to disable.
   */
  mtu?: number
  /** Access links only: bandwidth in bits per second, each direction. Default: unlimited. */
  bandwidthBps?: number
  /** Access links only: drop-tail queue in bytes in front of `bandwidthBps`. Default: 65,536. */
  queueBytes?: number
}

/** Fully resolved conditions (every field set). */
export type Conditions = Required<LinkConditions>

/** Defaults of the internet path (`SimNetwork` `defaults` override them field by field). */
export const DEFAULT_CONDITIONS: Readonly<Conditions> = Object.freeze({
  latencyMs: 10,
  jitterMs: 0,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  mtu: 1500,
  bandwidthBps: Number.POSITIVE_INFINITY,
  queueBytes: 65_536,
})

/** Fills the unset (or invalid) fields of `c` from `base`; probabilities are clamped to 0..1. */
export function resolveConditions(c: LinkConditions | undefined, base: Readonly<Conditions>): Conditions {
  return {
    latencyMs: nonNegative(c?.latencyMs, base.latencyMs),
    jitterMs: nonNegative(c?.jitterMs, base.jitterMs),
    loss: probability(c?.loss, base.loss),
    duplicate: probability(c?.duplicate, base.duplicate),
    reorder: probability(c?.reorder, base.reorder),
    mtu: c?.mtu !== undefined && c.mtu > 0 ? c.mtu : base.mtu,
    bandwidthBps: c?.bandwidthBps !== undefined && c.bandwidthBps > 0 ? c.bandwidthBps : base.bandwidthBps,
    queueBytes: nonNegative(c?.queueBytes, base.queueBytes),
  }
}

/** Neutral element of `accumulate`: adds no delay, never drops. */
export const NEUTRAL: Readonly<Conditions> = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  mtu: Number.POSITIVE_INFINITY,
  bandwidthBps: Number.POSITIVE_INFINITY,
  queueBytes: 65_536,
})

/** Resets the path `acc` in place to a path of no hops (no delay, no loss, no MTU limit). */
export function setNeutral(c: Conditions): void {
  c.latencyMs = 0
  c.jitterMs = 0
  c.loss = 0
  c.duplicate = 0
  c.reorder = 0
  c.mtu = Number.POSITIVE_INFINITY
}

/** Adds the hop `c` to the path `acc` in place: delays add, probabilities compound, the MTU is the minimum. */
export function accumulate(acc: Conditions, c: Readonly<Conditions>): void {
  acc.latencyMs += c.latencyMs
  acc.jitterMs += c.jitterMs
  acc.loss = 1 - (1 - acc.loss) * (1 - c.loss)
  acc.duplicate = 1 - (1 - acc.duplicate) * (1 - c.duplicate)
  acc.reorder = 1 - (1 - acc.reorder) * (1 - c.reorder)
  if (c.mtu < acc.mtu) acc.mtu = c.mtu
}

function nonNegative(v: number | undefined, dflt: number): number {
  return v !== undefined && v >= 0 ? v : dflt
}

function probability(v: number | undefined, dflt: number): number {
  if (v === undefined || Number.isNaN(v)) return dflt
  return v < 0 ? 0 : v > 1 ? 1 : v
}

/**
 * Drop-tail serialisation on one direction of an access link, for a datagram reaching it at virtual time `at`.
 * Returns the ms it waits and is serialised (added to its delay), or -1 when the queue is full. One number of
 * state per direction and no timers: the queue is implied by `busyUntil`.
 */
export function serialize(link: { busyUntil: number }, c: Readonly<Conditions>, bytes: number, at: number): number {
  if (c.bandwidthBps === Number.POSITIVE_INFINITY) return 0
  const start = Math.max(link.busyUntil, at)
  const backlogBytes = ((start - at) * c.bandwidthBps) / 8000
  if (backlogBytes + bytes > c.queueBytes && start > at) return -1
  const finish = start + (bytes * 8000) / c.bandwidthBps
  link.busyUntil = finish
  return finish - at
}
