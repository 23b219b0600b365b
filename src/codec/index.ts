/**
 * `mainline/codec`: the pure layer. Uint8Array in, typed values out, and back; no Node APIs, no I/O, no timers.
 * Every decoder is bounded and fails only with a `CodecError` (or a subclass) carrying a code and an offset.
 * @packageDocumentation
 */
export * from './bencode.js'
export * from './bencode-span.js'
export * from './bep42.js'
export * from './bytes.js'
export * from './compact.js'
export * from './crc32c.js'
export * from './errors.js'
export * from './extension.js'
export * from './holepunch.js'
export * from './ip.js'
export * from './krpc.js'
export * from './magnet.js'
export * from './metainfo.js'
export * from './node-id.js'
export * from './peer-wire.js'
export * from './pex.js'
export * from './ut-metadata.js'
export * from './utp-packet.js'
export * from './wire-framer.js'
