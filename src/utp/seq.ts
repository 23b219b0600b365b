// 16-bit wrapping sequence arithmetic. uTP numbers packets, not bytes, modulo 2^16: "a is before b" means b is at
// most half the space ahead of a.

export const SEQ_MASK = 0xffff

/** (a + n) mod 2^16. */
export function seqAdd(a: number, n: number): number {
  return (a + n) & SEQ_MASK
}

/** Signed distance b − a in (−32768, 32768]: how far b is ahead of a. */
export function seqDiff(b: number, a: number): number {
  return (((b - a) & SEQ_MASK) << 16) >> 16
}

/** a strictly before b. */
export function seqLt(a: number, b: number): boolean {
  return seqDiff(b, a) > 0
}

/** a before or equal to b. */
export function seqLte(a: number, b: number): boolean {
  return seqDiff(b, a) >= 0
}
