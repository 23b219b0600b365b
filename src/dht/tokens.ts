// Announce tokens (BEP 5): get_peers hands out a token bound to the requester's IP (and the info hash);
// announce_peer must bring it back from the same IP. A token is a hash of a secret that rotates every 5 minutes;
// the previous secret is still accepted, so a token stays valid for 5 to 10 minutes. Rotation is lazy (on use),
// so an idle node runs no timer for it.
import { createHash } from 'node:crypto'
import type { Random } from '../net/types.js'

/** Secret lifetime. */
export const TOKEN_ROTATE_MS = 5 * 60_000
/** Token length in bytes. libtorrent uses 4; 8 makes guessing one hopeless while keeping replies small. */
export const TOKEN_LENGTH = 8

export class TokenManager {
  private current: Uint8Array
  private previous: Uint8Array
  private rotatedAt: number

  constructor(
    private readonly random: Random,
    private readonly now: () => number,
    private readonly rotateMs = TOKEN_ROTATE_MS,
  ) {
    this.current = random.bytes(16).slice()
    this.previous = this.current
    this.rotatedAt = now()
  }

  private rotate(): void {
    const elapsed = this.now() - this.rotatedAt
    if (elapsed < this.rotateMs) return
    // Two or more periods idle: both old secrets are stale.
    this.previous = elapsed >= 2 * this.rotateMs ? this.random.bytes(16).slice() : this.current
    this.current = this.random.bytes(16).slice()
    this.rotatedAt = this.now()
  }

  /** The token for `host` asking about `infoHash`. */
  issue(host: string, infoHash: Uint8Array): Uint8Array {
    this.rotate()
    return tokenFor(this.current, host, infoHash)
  }

  /** True if `token` was issued to `host` for `infoHash` with the current or the previous secret. */
  check(token: Uint8Array, host: string, infoHash: Uint8Array): boolean {
    if (token.length !== TOKEN_LENGTH) return false
    this.rotate()
    return equal(token, tokenFor(this.current, host, infoHash)) || equal(token, tokenFor(this.previous, host, infoHash))
  }
}

function tokenFor(secret: Uint8Array, host: string, infoHash: Uint8Array): Uint8Array {
  const h = createHash('sha1').update(secret).update(host, 'latin1').update(infoHash).digest()
  return new Uint8Array(h.buffer, h.byteOffset, TOKEN_LENGTH)
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i]
  return d === 0
}
