// Minimal types for untyped devDependencies used as anchors in tests and benchmarks.
declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array
    decode(data: Uint8Array, start?: number, end?: number, encoding?: string): unknown
  }
  export default bencode
}
declare module 'bencode2' {
  const bencode: {
    encode(value: unknown): Buffer
    decode(data: Uint8Array, start?: number, end?: number, encoding?: string): unknown
  }
  export default bencode
}
declare module 'bittorrent-dht' {
  import type { EventEmitter } from 'node:events'

  interface Peer {
    host: string
    port: number
  }
  class DHT extends EventEmitter {
    constructor(opts?: {
      bootstrap?: false | string[]
      host?: string
      k?: number
      concurrency?: number
      /** BEP 44: verify(sig, message, publicKey); without it mutable items are neither stored nor returned. */
      verify?: (sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
    })
    nodeId: Buffer
    /** Internals the benchmark counts through (k-rpc, its dgram socket and its k-bucket routing table). */
    _rpc: {
      socket: { query: (...a: unknown[]) => unknown; socket: import('node:dgram').Socket }
      nodes: { toArray(): Array<{ id: Buffer; host: string; port: number }> }
    }
    listen(port: number, host: string, cb?: () => void): void
    address(): { address: string; port: number; family: string }
    addNode(node: Peer & { id?: Buffer }): void
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null) => void): void
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, n: number) => void): () => void
    /** BEP 44 put: `v` alone is immutable; `k`, `seq`, `sign` (and `salt`, `cas`) make it mutable. */
    put(
      opts: {
        v: Buffer
        k?: Buffer
        seq?: number
        salt?: Buffer
        cas?: number
        sign?: (buf: Buffer) => Buffer
      },
      cb?: (err: Error | null, hash: Buffer, n?: number) => void,
    ): Buffer
    /** BEP 44 get by target (SHA-1 of the value, or of k + salt). */
    get(
      hash: Buffer | string,
      opts: { salt?: Buffer; cache?: boolean },
      cb: (err: Error | null, res: { v: Buffer; k?: Buffer; seq?: number; sig?: Buffer; id?: Buffer } | null) => void,
    ): void
    toJSON(): { nodes: Array<Peer & { id?: string }>; values: unknown }
    destroy(cb?: () => void): void
  }
  export default DHT
}
