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
