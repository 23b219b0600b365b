// A growable ring indexed by 16-bit sequence number. Entries carry their own seq so a stale slot is detected;
// the live range is always narrower than the capacity (the owner bounds it), so lookups are one array read.

export interface Sequenced {
  seq: number
}

export class SeqRing<T extends Sequenced> {
  private slots: (T | undefined)[]
  private mask: number
  size = 0

  constructor(capacity = 16) {
    let cap = 16
    while (cap < capacity) cap *= 2
    this.slots = new Array(cap)
    this.mask = cap - 1
  }

  get capacity(): number {
    return this.mask + 1
  }

  get(seq: number): T | undefined {
    const e = this.slots[seq & this.mask]
    return e !== undefined && e.seq === seq ? e : undefined
  }

  /** Stores an entry; grows so that a live range of `span` packets fits without collisions. */
  put(entry: T, span: number): void {
    if (span >= this.mask) this.grow(span)
    const i = entry.seq & this.mask
    if (this.slots[i] === undefined) this.size++
    this.slots[i] = entry
  }

  take(seq: number): T | undefined {
    const i = seq & this.mask
    const e = this.slots[i]
    if (e === undefined || e.seq !== seq) return undefined
    this.slots[i] = undefined
    this.size--
    return e
  }

  clear(): void {
    this.slots.fill(undefined)
    this.size = 0
  }

  private grow(span: number): void {
    let cap = this.mask + 1
    while (cap <= span) cap *= 2
    if (cap > 65536) cap = 65536
    const old = this.slots
    this.slots = new Array(cap)
    this.mask = cap - 1
    for (const e of old) if (e !== undefined) this.slots[e.seq & this.mask] = e
  }
}
