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
    constructor(opts?: { bootstrap?: false | string[]; host?: string; k?: number; concurrency?: number })
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
    toJSON(): { nodes: Array<Peer & { id?: string }>; values: unknown }
    destroy(cb?: () => void): void
  }
  export default DHT
}
