/**
 * `mainline/torrent`: .torrent files on disk: infohashes (SHA-1 / SHA-256 of the info bytes), BEP 52 merkle
 * trees, and `createTorrent` (streamed hashing, v1, v2 or hybrid).
 * @packageDocumentation
 */
export * from './create.js'
export * from './hash.js'
export * from './merkle.js'
