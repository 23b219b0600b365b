// The pieces of one info dictionary of one announced size, as peers sent them, and the search for the whole that
// hashes to the infohash. BEP 9 pieces carry no hashes of their own: only the whole is checked. So every distinct
// version of a piece is kept with the peers that sent it, and when the first whole fails, the fetcher gathers
// second opinions and `verify` tries the wholes that leave out one suspect peer, then two…: a peer that corrupts
// all it sends is found once every piece has a version from someone honest. When a whole verifies, every peer
// that sent a different version of any piece is proven bad.
import { bytesEqual } from '../codec/bytes.js'
import { metadataPieceCount, metadataPieceLength } from '../codec/ut-metadata.js'

interface Version {
  bytes: Uint8Array
  /** Peers (by key) that sent these bytes, in order of arrival. */
  from: string[]
}

export interface VerifiedMetadata {
  info: Uint8Array
  /** Peers whose versions make up `info`. */
  from: string[]
  /** Peers that sent a version of some piece that is not in `info`. */
  bad: string[]
}

export interface AssemblyLimits {
  /** Distinct versions kept of one piece; more are ignored. Default 8 (the peers asked at once by default). */
  maxVersions?: number
  /** Wholes hashed in one `verify` call. Default 64. */
  maxTries?: number
  /** Largest group of suspects left out at once. Default 2. */
  maxSuspects?: number
}

export class MetadataAssembly {
  readonly pieces: number
  /** Wholes hashed by the last `verify` call. */
  lastTries = 0
  /** The last `verify` stopped at `maxTries` with untried wholes left: call it again (after yielding). */
  moreToTry = false
  private readonly versions: Version[][]
  /** Wholes already hashed (by the versions chosen), so a later `verify` does not hash them again. */
  private readonly tried = new Set<string>()
  private readonly limits: Required<AssemblyLimits>

  constructor(
    readonly size: number,
    limits: AssemblyLimits = {},
  ) {
    this.pieces = metadataPieceCount(size)
    this.versions = Array.from({ length: this.pieces }, () => [])
    this.limits = {
      maxVersions: limits.maxVersions ?? 8,
      maxTries: limits.maxTries ?? 64,
      maxSuspects: limits.maxSuspects ?? 2,
    }
  }

  /**
   * Records `bytes` as piece `piece` from `peer`. Returns 'new' (a first or a new version), 'same' (bytes we had),
   * or 'ignored' (wrong length, out of range, or too many versions).
   */
  add(piece: number, bytes: Uint8Array, peer: string): 'new' | 'same' | 'ignored' {
    if (piece < 0 || piece >= this.pieces || bytes.length !== metadataPieceLength(this.size, piece)) return 'ignored'
    const list = this.versions[piece]
    for (const v of list) {
      if (!bytesEqual(v.bytes, bytes)) continue
      if (!v.from.includes(peer)) v.from.push(peer)
      return 'same'
    }
    if (list.length >= this.limits.maxVersions) return 'ignored'
    // A copy: `bytes` is a view into a frame buffer.
    list.push({ bytes: bytes.slice(), from: [peer] })
    return 'new'
  }

  /** Whether `peer` sent a version of `piece`. */
  hasFrom(piece: number, peer: string): boolean {
    return this.versions[piece]?.some((v) => v.from.includes(peer)) ?? false
  }

  /** Distinct peers that sent some version of `piece`. */
  sources(piece: number): number {
    const s = new Set<string>()
    for (const v of this.versions[piece] ?? []) for (const p of v.from) s.add(p)
    return s.size
  }

  /** Every piece has at least one version. */
  get complete(): boolean {
    return this.versions.every((l) => l.length > 0)
  }

  /** Pieces with no version yet. */
  missing(): number[] {
    const out: number[] = []
    for (let i = 0; i < this.pieces; i++) if (this.versions[i].length === 0) out.push(i)
    return out
  }

  /** Peers that sent any piece. */
  contributors(): string[] {
    const s = new Set<string>()
    for (const l of this.versions) for (const v of l) for (const p of v.from) s.add(p)
    return [...s]
  }

  /**
   * Looks for a whole that `check` accepts: first the best-supported version of each piece, then the wholes that
   * leave out each suspect (a contributor), then each pair… Returns it, or undefined when none of the wholes the
   * current versions allow verifies (more opinions are needed).
   */
  verify(check: (info: Uint8Array) => boolean): VerifiedMetadata | undefined {
    if (!this.complete) return undefined
    const peers = this.contributors()
    let tries = 0
    this.lastTries = 0
    this.moreToTry = false
    for (const choice of this.choices(peers)) {
      const k = choice.join(',')
      if (this.tried.has(k)) continue
      if (tries >= this.limits.maxTries) {
        this.moreToTry = true
        return undefined
      }
      this.lastTries = ++tries
      this.tried.add(k)
      const info = this.join(choice)
      if (!check(info)) continue
      const from = new Set<string>()
      const bad = new Set<string>()
      choice.forEach((c, piece) => {
        this.versions[piece].forEach((v, i) => {
          for (const p of v.from) (i === c ? from : bad).add(p)
        })
      })
      // A peer that sent one good piece and one bad one is bad.
      for (const p of bad) from.delete(p)
      return { info, from: [...from], bad: [...bad] }
    }
    return undefined
  }

  /**
   * Wholes to try, as the version chosen for each piece: each peer's own (many liars, one honest peer), leaving
   * out one peer, two… (a few peers that corrupt all they send), then every mix of versions of the disputed pieces
   * while they are few (a peer that corrupts some).
   */
  private *choices(peers: string[]): Generator<number[]> {
    // The whole as each peer sent it (where it sent a piece): finds the honest one among many liars.
    for (const p of peers) {
      const c = this.choose(new Set())
      if (!c) break
      this.versions.forEach((l, i) => {
        const mine = l.findIndex((v) => v.from.includes(p))
        if (mine >= 0) c[i] = mine
      })
      yield c
    }
    for (const suspects of subsets(peers, this.limits.maxSuspects)) {
      const c = this.choose(suspects)
      if (c) yield c
    }
    const base = this.choose(new Set())
    const disputed = this.versions.flatMap((l, i) => (l.length > 1 ? [i] : []))
    if (!base || disputed.length === 0) return
    let combos = 1
    for (const i of disputed) combos *= this.versions[i].length
    if (combos > 256) return
    for (let n = 0; n < combos; n++) {
      const c = base.slice()
      let rest = n
      for (const i of disputed) {
        c[i] = rest % this.versions[i].length
        rest = Math.floor(rest / this.versions[i].length)
      }
      yield c
    }
  }

  /** For each piece, the version sent by most peers outside `suspects`; undefined if some piece has none. */
  private choose(suspects: Set<string>): number[] | undefined {
    const out: number[] = []
    for (const list of this.versions) {
      let best = -1
      let bestVotes = 0
      list.forEach((v, i) => {
        const votes = v.from.filter((p) => !suspects.has(p)).length
        if (votes > bestVotes) {
          best = i
          bestVotes = votes
        }
      })
      if (best < 0) return undefined
      out.push(best)
    }
    return out
  }

  private join(choice: number[]): Uint8Array {
    const out = new Uint8Array(this.size)
    let at = 0
    choice.forEach((c, piece) => {
      const b = this.versions[piece][c].bytes
      out.set(b, at)
      at += b.length
    })
    return out
  }
}

/** Subsets of `items` by increasing size, up to `max` elements (the empty set first). */
function* subsets(items: string[], max: number): Generator<Set<string>> {
  function* rec(start: number, size: number, acc: string[]): Generator<Set<string>> {
    if (acc.length === size) {
      yield new Set(acc)
      return
    }
    for (let i = start; i < items.length; i++) yield* rec(i + 1, size, [...acc, items[i]])
  }
  for (let size = 0; size <= Math.min(max, items.length); size++) yield* rec(0, size, [])
}
