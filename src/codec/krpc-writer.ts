// The byte writer behind the KRPC builders: one scratch buffer reused by every build (a build costs one
// allocation, the result), with small helpers for bencode's pieces. Builders are synchronous and never
// re-entered, so module state is safe.

let W = new Uint8Array(2048)
let WP = 0

/** Starts a new message. */
export function reset(): void {
  WP = 0
}

function reserve(n: number): void {
  if (WP + n <= W.length) return
  let size = W.length * 2
  while (size < WP + n) size *= 2
  const next = new Uint8Array(size)
  next.set(W.subarray(0, WP))
  W = next
}

/** Raw bytes (a constant fragment, or the content of a string). */
export function raw(b: Uint8Array): void {
  reserve(b.length)
  const w = W
  let p = WP
  if (b.length > 32) {
    w.set(b, p)
    p += b.length
  } else {
    for (let i = 0; i < b.length; i++) w[p++] = b[i]
  }
  WP = p
}

/** A non-negative integer in decimal. */
export function digits(n: number): void {
  reserve(16)
  if (n < 10) {
    W[WP++] = 0x30 + n
    return
  }
  if (n < 100) {
    W[WP++] = 0x30 + ((n / 10) | 0)
    W[WP++] = 0x30 + (n % 10)
    return
  }
  const s = String(n)
  for (let i = 0; i < s.length; i++) W[WP++] = s.charCodeAt(i)
}

/** A byte string: `<len>:<bytes>`. */
export function str(b: Uint8Array): void {
  digits(b.length)
  W[WP++] = 0x3a // digits() reserved room for it
  raw(b)
}

/** An integer: `i<n>e`. */
export function int(n: number): void {
  reserve(2)
  W[WP++] = 0x69
  if (n < 0) {
    W[WP++] = 0x2d
    n = -n
  }
  digits(n)
  end()
}

/** `e`: closes a dict, a list or an integer. */
export function end(): void {
  reserve(1)
  W[WP++] = 0x65
}

/** The message written since `reset()`, as a new array. */
export function finish(): Uint8Array {
  const out = W.slice(0, WP)
  WP = 0
  if (W.length > 1 << 16) W = new Uint8Array(2048) // do not keep a huge scratch buffer
  return out
}

export function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i)
  return b
}
