// A 4-ary min-heap of events keyed by (time, sequence). Keys live in typed arrays beside the items, so sifting
// compares contiguous numbers instead of chasing object pointers: with 10^5–10^6 queued events, cache misses are
// what a heap costs, and four children per node halve the depth.

/** Something queued at a time; `dead` marks a lazily deleted entry. */
export interface HeapItem {
  dead: boolean
}

export class EventHeap<T extends HeapItem> {
  private at = new Float64Array(1024)
  private seq = new Float64Array(1024)
  private items: (T | undefined)[] = []
  size = 0

  /** Time of the top entry (undefined behaviour when empty: check `size`). */
  topTime(): number {
    return this.at[0]
  }

  top(): T {
    return this.items[0]!
  }

  push(item: T, time: number, seq: number): void {
    if (this.size === this.at.length) this.grow()
    const at = this.at
    const sq = this.seq
    const items = this.items
    let i = this.size++
    while (i > 0) {
      const p = (i - 1) >> 2
      const pa = at[p]
      if (pa < time || (pa === time && sq[p] < seq)) break
      at[i] = pa
      sq[i] = sq[p]
      items[i] = items[p]
      i = p
    }
    at[i] = time
    sq[i] = seq
    items[i] = item
  }

  /** Removes and returns the top entry; the heap must not be empty. */
  pop(): T {
    const at = this.at
    const sq = this.seq
    const items = this.items
    const top = items[0]!
    const n = --this.size
    if (n === 0) {
      items[0] = undefined
      return top
    }
    const lt = at[n]
    const ls = sq[n]
    const li = items[n]
    items[n] = undefined
    let i = 0
    for (;;) {
      const first = 4 * i + 1
      if (first >= n) break
      let c = first
      let ct = at[first]
      let cs = sq[first]
      const last = Math.min(first + 4, n)
      for (let k = first + 1; k < last; k++) {
        const kt = at[k]
        if (kt < ct || (kt === ct && sq[k] < cs)) {
          c = k
          ct = kt
          cs = sq[k]
        }
      }
      if (lt < ct || (lt === ct && ls < cs)) break
      at[i] = ct
      sq[i] = cs
      items[i] = items[c]
      i = c
    }
    at[i] = lt
    sq[i] = ls
    items[i] = li
    return top
  }

  /** Drops every dead entry and rebuilds the heap. Returns how many were dropped. */
  compact(): number {
    const live: { item: T; at: number; seq: number }[] = []
    for (let i = 0; i < this.size; i++) {
      const item = this.items[i]!
      if (!item.dead) live.push({ item, at: this.at[i], seq: this.seq[i] })
    }
    const dropped = this.size - live.length
    live.sort((a, b) => a.at - b.at || a.seq - b.seq) // a sorted array is a valid heap
    this.items.length = 0
    this.size = live.length
    for (let i = 0; i < live.length; i++) {
      this.at[i] = live[i].at
      this.seq[i] = live[i].seq
      this.items[i] = live[i].item
    }
    return dropped
  }

  private grow(): void {
    const at = new Float64Array(this.at.length * 2)
    at.set(this.at)
    this.at = at
    const seq = new Float64Array(this.seq.length * 2)
    seq.set(this.seq)
    this.seq = seq
  }
}
