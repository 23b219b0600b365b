// Bytes written to a connection and not yet packetised. Chunks are held by reference (no copy); a chunk's callback
// runs once its last byte has been copied into a packet, so the writer may reuse its buffer from then on.

export type WriteCallback = (err?: Error | null) => void

const EMPTY = new Uint8Array(0)

export class WriteQueue {
  /** Bytes queued. */
  bytes = 0
  private readonly chunks: Uint8Array[] = []
  private readonly cbs: (WriteCallback | null)[] = []
  private head = 0
  private offset = 0

  push(chunk: Uint8Array, cb: WriteCallback | null): void {
    this.chunks.push(chunk)
    this.cbs.push(cb)
    this.bytes += chunk.length
  }

  /** Copies the next `n` (≤ bytes) bytes into `dst` at `off`, running the callbacks of chunks it finishes. */
  copyOut(dst: Uint8Array, off: number, n: number): void {
    let left = n
    while (left > 0) {
      const chunk = this.chunks[this.head]
      const take = Math.min(chunk.length - this.offset, left)
      dst.set(take === chunk.length ? chunk : chunk.subarray(this.offset, this.offset + take), off)
      off += take
      left -= take
      this.offset += take
      if (this.offset === chunk.length) {
        const cb = this.cbs[this.head]
        this.chunks[this.head] = EMPTY
        this.cbs[this.head] = null
        this.head++
        this.offset = 0
        if (cb !== null) cb()
      }
    }
    this.bytes -= n
    if (this.head === this.chunks.length) {
      this.chunks.length = 0
      this.cbs.length = 0
      this.head = 0
    } else if (this.head > 1024) {
      this.chunks.splice(0, this.head)
      this.cbs.splice(0, this.head)
      this.head = 0
    }
  }

  /**
   * Copies what is queued (callers use it for less than one packet) into one owned chunk and runs the pending
   * callbacks: a writer whose tail Nagle holds back can then go on writing instead of waiting for the ACKs.
   */
  adoptTail(): void {
    let pending = false
    for (let i = this.head; i < this.cbs.length; i++) if (this.cbs[i] !== null) pending = true
    if (!pending) return
    const tail = new Uint8Array(this.bytes)
    let off = 0
    const cbs: WriteCallback[] = []
    for (let i = this.head; i < this.chunks.length; i++) {
      const c = i === this.head ? this.chunks[i].subarray(this.offset) : this.chunks[i]
      tail.set(c, off)
      off += c.length
      const cb = this.cbs[i]
      if (cb !== null) cbs.push(cb)
    }
    this.chunks.length = 0
    this.cbs.length = 0
    this.chunks.push(tail)
    this.cbs.push(null)
    this.head = 0
    this.offset = 0
    for (const cb of cbs) cb()
  }

  /** Drops everything queued and fails the pending callbacks with `err`. */
  fail(err: Error): void {
    const cbs = this.cbs.slice(this.head)
    this.chunks.length = 0
    this.cbs.length = 0
    this.head = 0
    this.offset = 0
    this.bytes = 0
    for (const cb of cbs) cb?.(err)
  }
}
