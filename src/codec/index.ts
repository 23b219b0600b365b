/**
 * `mainline/codec`: the pure layer. Uint8Array in, typed values out, and back; no Node APIs, no I/O, no timers.
 * Every decoder is bounded and fails only with a `CodecError` (or a subclass) carrying a code and an offset.
 * This file lists the public wire formats; the byte helpers and hot-path writers the codecs are built from are
 * internal (import them by path inside the package).
 * @packageDocumentation
 */

// Bencode, and raw spans of a bencoded value (the exact bytes BEP 44 signs).
export {
  type BDict,
  type BEncodable,
  type BValue,
  bencode,
  type DecodeOptions,
  decode,
  decodePrefix,
  encode,
} from './bencode.js'
export { rawSpan, type SpanOptions } from './bencode-span.js'
// BEP 33 scrape bloom filters.
export { BLOOM_FILTER_BYTES, bloomEstimate, estimateUnion, ScrapeBloomFilter } from './bep33.js'
// BEP 42 node ids.
export { isBep42Exempt, isValidNodeIdForIp, nodeIdForIp } from './bep42.js'
// BEP 44 storage: signature buffers, targets, size rules, get/put messages.
export {
  BEP44_MAX_SALT_LENGTH,
  BEP44_MAX_SEQ,
  BEP44_MAX_VALUE_LENGTH,
  BEP44_PUBLIC_KEY_LENGTH,
  BEP44_SIGNATURE_LENGTH,
  type Bep44Problem,
  checkMutableItem,
  checkSaltSize,
  checkValueSize,
  type HashFunction,
  INVALID_SIGNATURE,
  immutableTarget,
  type MutableItemFields,
  mutableTarget,
  mutableTargetInput,
  signatureBuffer,
  toSeq,
} from './bep44.js'
export {
  buildGetQuery,
  buildGetReply,
  buildPutQuery,
  buildPutReply,
  type GetQueryOptions,
  type GetReplyFields,
  type PutItem,
} from './bep44-build.js'
// BEP 51 infohash sampling.
export {
  buildSampleInfohashesQuery,
  buildSampleInfohashesReply,
  SAMPLE_INTERVAL_MAX,
  type SampleQueryOptions,
  type SampleReplyFields,
  samplesThatFit,
  splitSamples,
} from './bep51.js'
// Hex, for info hashes and ids typed by people.
export { fromHex, toHex } from './bytes.js'
// Compact peer and node info (BEP 5, BEP 32).
export {
  COMPACT_NODE_V4_LENGTH,
  COMPACT_NODE_V6_LENGTH,
  COMPACT_PEER_V4_LENGTH,
  COMPACT_PEER_V6_LENGTH,
  type CompactNode,
  type CompactPeer,
  decodeNode,
  decodeNodes,
  decodePeer,
  decodePeers,
  decodePeerValues,
  encodeNode,
  encodeNodes,
  encodePeer,
  encodePeers,
  encodePeerValues,
} from './compact.js'
export { CodecError, type CodecErrorCode } from './errors.js'
// BEP 10 extended handshake.
export {
  decodeExtendedHandshake,
  EXTENDED_HANDSHAKE_ID,
  type ExtendedHandshake,
  type ExtendedHandshakeInit,
  encodeExtendedHandshake,
} from './extension.js'
// BEP 55 holepunch messages.
export {
  decodeHolepunch,
  encodeHolepunch,
  HolepunchError,
  type HolepunchErrorName,
  type HolepunchMessage,
  HolepunchMsgType,
  type HolepunchType,
  holepunchErrorName,
} from './holepunch.js'
export type { IpFamily } from './ip.js'
// KRPC (BEP 5): builders, the parser, message types, error codes.
export * from './krpc.js'
// Magnet links (BEP 9, BEP 53; v2 btmh from BEP 52).
export {
  formatMagnet,
  fromBase32,
  MAGNET_MAX_LENGTH,
  MagnetError,
  type MagnetErrorCode,
  type MagnetLink,
  type MagnetPeer,
  magnetSelects,
  parseMagnet,
  toBase32,
} from './magnet.js'
// Metainfo (.torrent) files: v1, v2 and hybrid, with the info dictionary's exact bytes.
export {
  encodeMetainfo,
  type Metainfo,
  MetainfoError,
  type MetainfoFile,
  type MetainfoInfo,
  type MetainfoLimits,
  type MetainfoVersion,
  parseInfo,
  parseMetainfo,
} from './metainfo.js'
// Node ids, XOR distance, transaction ids.
export {
  type ByteSource,
  compareDistance,
  isNodeId,
  NODE_ID_BITS,
  NODE_ID_LENGTH,
  randomNodeId,
  randomTransactionId,
  sortByDistance,
  TRANSACTION_ID_LENGTH,
  xorDistance,
} from './node-id.js'
// Peer wire messages (BEP 3) and the handshake.
export {
  DEFAULT_MAX_FRAME,
  decodeHandshake,
  decodeMessage,
  encodeExtendedMessage,
  encodeHandshake,
  encodeMessage,
  HANDSHAKE_LENGTH,
  type Handshake,
  MessageId,
  makeReserved,
  type PeerMessage,
  type PeerMessageType,
  PROTOCOL_NAME,
  type ReservedFlags,
  reservedFlags,
} from './peer-wire.js'
// PEX (BEP 11).
export {
  type DecodedPex,
  decodePex,
  encodePex,
  type PexDecodeOptions,
  PexFlags,
  type PexMessage,
  type PexPeer,
} from './pex.js'
// BEP 9 metadata exchange messages.
export {
  decodeUtMetadata,
  encodeUtMetadata,
  METADATA_MAX_SIZE,
  METADATA_PIECE_SIZE,
  metadataPieceCount,
  metadataPieceLength,
  type UtMetadataContext,
  type UtMetadataMessage,
} from './ut-metadata.js'
// uTP packets (BEP 29).
export {
  decodeUtpPacket,
  EXT_CLOSE_REASON,
  EXT_SACK,
  encodeUtpPacket,
  isUtpPacket,
  ST_DATA,
  ST_FIN,
  ST_RESET,
  ST_STATE,
  ST_SYN,
  UTP_HEADER_SIZE,
  UTP_TYPE_NAMES,
  UTP_VERSION,
  type UtpHeaderFields,
  type UtpPacket,
  type UtpPacketInit,
  type UtpType,
} from './utp-packet.js'
// An incremental framer for a peer wire byte stream.
export { type FramerItem, type FramerOptions, WireFramer } from './wire-framer.js'
