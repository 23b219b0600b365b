// KRPC (BEP 5) message types, error codes and the parse error. Parsed messages mirror the wire keys (`y`, `t`,
// `q`, `a`, `r`, `e`, `v`, `ip`, `ro`), with byte strings as Uint8Array views into the packet and unknown keys
// kept as decoded bencode values.
import { CodecError, type CodecErrorCode } from './errors.js'

export const KRPC_GENERIC_ERROR = 201
export const KRPC_SERVER_ERROR = 202
export const KRPC_PROTOCOL_ERROR = 203
export const KRPC_METHOD_UNKNOWN = 204
// BEP 44 additions, named here so every KRPC error code has one home.
export const KRPC_MESSAGE_TOO_BIG = 205
export const KRPC_INVALID_SIGNATURE = 206
export const KRPC_SALT_TOO_BIG = 207
export const KRPC_CAS_MISMATCH = 301
export const KRPC_SEQUENCE_TOO_LOW = 302

/** The names BEP 5 (201-204) and BEP 44 (205-207, 301, 302) give the error codes. */
export const KRPC_ERROR_NAMES: Readonly<Record<number, string>> = Object.freeze({
  201: 'Generic Error',
  202: 'Server Error',
  203: 'Protocol Error',
  204: 'Method Unknown',
  205: 'Message (v field) too big',
  206: 'Invalid signature',
  207: 'Salt (salt field) too big',
  301: 'CAS mismatch',
  302: 'Sequence number less than current',
})

/**
 * The query methods the parser types and validates; any other `q` parses as an unknown query. BEP 44 `get`/`put`
 * and BEP 51 `sample_infohashes` are typed only with `parseKrpc(bytes, { allMethods: true })`.
 */
export type KrpcMethod = 'ping' | 'find_node' | 'get_peers' | 'announce_peer' | StorageMethod
export const KRPC_METHODS: readonly KrpcMethod[] = ['ping', 'find_node', 'get_peers', 'announce_peer']
/** BEP 44 and BEP 51 methods. */
export type StorageMethod = 'get' | 'put' | 'sample_infohashes'
export const STORAGE_METHODS: readonly StorageMethod[] = ['get', 'put', 'sample_infohashes']

/** Address families a query can ask for with `want` (BEP 32). */
export type KrpcWant = 'n4' | 'n6'

/** Keys every message may carry besides its body. */
interface KrpcEnvelope {
  /** Transaction id, echoed verbatim in the reply. */
  t: Uint8Array
  /** Client version (libtorrent: "LT" + 2 raw bytes). */
  v?: Uint8Array
  /** BEP 42: the compact address (6 or 18 bytes) the sender sees us at. Dropped when of another length. */
  ip?: Uint8Array
  /** Other top-level keys, as decoded bencode. */
  [key: string]: unknown
}

export interface PingArgs {
  id: Uint8Array
  [key: string]: unknown
}

export interface FindNodeArgs {
  id: Uint8Array
  target: Uint8Array
  /** BEP 32 `want`, as text ("n4", "n6"; other strings are kept). */
  want?: string[]
  [key: string]: unknown
}

export interface GetPeersArgs {
  id: Uint8Array
  info_hash: Uint8Array
  want?: string[]
  /** BEP 33: 1 asks for the `BFsd`/`BFpe` bloom filters. Any integer is kept; only 1 means yes. */
  scrape?: number
  /** BEP 33: 1 asks for non-seeds in `values` (best effort). */
  noseed?: number
  [key: string]: unknown
}

export interface AnnouncePeerArgs {
  id: Uint8Array
  info_hash: Uint8Array
  /** 1-65535; may be 0 or absent (then 0) when `implied_port` is set. */
  port: number
  token: Uint8Array
  /** True when `implied_port` is a non-zero integer: use the UDP source port. */
  implied_port?: boolean
  /** BEP 33: 1 when the announcer seeds. Absent or any other value: a downloader. */
  seed?: number
  [key: string]: unknown
}

/** BEP 44 `get`: the item stored under `target`; with `seq`, only when the stored one is newer. */
export interface GetArgs {
  id: Uint8Array
  target: Uint8Array
  seq?: bigint
  want?: string[]
  [key: string]: unknown
}

/**
 * BEP 44 `put`. `v` is the value's bencoding exactly as sent (canonical, 1-1000 bytes: checked). Mutable when
 * `k` (32 bytes) is present, and then `sig` (64 bytes) and `seq` (≥ 0) are too; `salt` is ≤ 64 bytes. The
 * signature is not checked here: that needs Ed25519, outside the codec.
 */
export interface PutArgs {
  id: Uint8Array
  token: Uint8Array
  v: Uint8Array
  k?: Uint8Array
  sig?: Uint8Array
  seq?: bigint
  cas?: bigint
  salt?: Uint8Array
  [key: string]: unknown
}

/** BEP 51 `sample_infohashes`: `target` only steers the `nodes` returned. */
export interface SampleInfohashesArgs {
  id: Uint8Array
  target: Uint8Array
  want?: string[]
  [key: string]: unknown
}

/** Arguments of a query with a method we do not type: every key as decoded bencode, `id` checked. */
export interface UnknownArgs {
  id: Uint8Array
  [key: string]: unknown
}

interface QueryEnvelope extends KrpcEnvelope {
  y: 'q'
  /** BEP 43: the sender is read-only (do not add it to the routing table). */
  ro?: boolean
}

export interface PingQuery extends QueryEnvelope {
  known: true
  q: 'ping'
  a: PingArgs
}
export interface FindNodeQuery extends QueryEnvelope {
  known: true
  q: 'find_node'
  a: FindNodeArgs
}
export interface GetPeersQuery extends QueryEnvelope {
  known: true
  q: 'get_peers'
  a: GetPeersArgs
}
export interface AnnouncePeerQuery extends QueryEnvelope {
  known: true
  q: 'announce_peer'
  a: AnnouncePeerArgs
}
export interface GetQuery extends QueryEnvelope {
  known: true
  q: 'get'
  a: GetArgs
}
export interface PutQuery extends QueryEnvelope {
  known: true
  q: 'put'
  a: PutArgs
}
export interface SampleInfohashesQuery extends QueryEnvelope {
  known: true
  q: 'sample_infohashes'
  a: SampleInfohashesArgs
}
/** A query whose method we do not know (`known: false`): answer 204, or handle it (BEP 44, BEP 51) yourself. */
export interface UnknownQuery extends QueryEnvelope {
  known: false
  q: string
  a: UnknownArgs
}

export type KnownQuery =
  | PingQuery
  | FindNodeQuery
  | GetPeersQuery
  | AnnouncePeerQuery
  | GetQuery
  | PutQuery
  | SampleInfohashesQuery
export type KrpcQuery = KnownQuery | UnknownQuery

/** The body of a reply. Which keys are present depends on the query it answers. */
export interface ReplyValues {
  id: Uint8Array
  /** Compact IPv4 nodes, a multiple of 26 bytes. */
  nodes?: Uint8Array
  /** Compact IPv6 nodes, a multiple of 38 bytes. */
  nodes6?: Uint8Array
  /** Compact peers, each 6 or 18 bytes; entries of other lengths are skipped (as libtorrent does). */
  values?: Uint8Array[]
  token?: Uint8Array
  /** BEP 44 `get`: the item's bencoding as received (hash or verify these bytes, do not re-encode). */
  v?: Uint8Array
  /** BEP 44: the mutable item's public key, 32 bytes. */
  k?: Uint8Array
  /** BEP 44: the mutable item's signature, 64 bytes. */
  sig?: Uint8Array
  /** BEP 44: the mutable item's sequence number (int64). */
  seq?: bigint
  /** BEP 51: stored infohashes, a multiple of 20 bytes. */
  samples?: Uint8Array
  /** BEP 51: seconds (0-21600) before asking this node for samples again. */
  interval?: number
  /** BEP 51: how many infohashes the node stores (≥ 0). */
  num?: number
  /** BEP 33: bloom filter of the seeds' IPs, 256 bytes. */
  BFsd?: Uint8Array
  /** BEP 33: bloom filter of the downloaders' IPs, 256 bytes. */
  BFpe?: Uint8Array
  [key: string]: unknown
}

export interface KrpcReply extends KrpcEnvelope {
  y: 'r'
  r: ReplyValues
}

export interface KrpcErrorReply extends KrpcEnvelope {
  y: 'e'
  /** [code, message]; the message is UTF-8 text (latin1 when it is not valid UTF-8). */
  e: [number, string]
}

export type KrpcMessage = KrpcQuery | KrpcReply | KrpcErrorReply

/**
 * A malformed KRPC message. `reason` is the text to send back in a 203 error (libtorrent's wording: "not a
 * dictionary", "missing 'info_hash' key", "invalid value for 'id'", "invalid port"). `tid` is the transaction id
 * when one could be read, and `isQuery` whether the message said `y: q`: answer only when both hold.
 *
 * Two codes, on purpose: `err.krpcCode === 203` is the numeric KRPC error code (BEP 5 "protocol error") to put in
 * the reply, while `err.code` stays the string reason inherited from `CodecError` (`'MISSING_KEY'`,
 * `'TRUNCATED'`, …) so that every codec error, KRPC or not, can be counted and matched by the same field.
 *
 * @example
 * try { parseKrpc(bytes) } catch (err) {
 *   if (err instanceof KrpcError) console.log(err.krpcCode, err.code, err.reason) // 203 'MISSING_KEY' "missing 'q' key"
 * }
 */
export class KrpcError extends CodecError {
  override readonly name: string = 'KrpcError'
  /** The numeric KRPC error code to reply with: 203 (protocol error). `code` is the codec's string reason. */
  readonly krpcCode: number
  readonly reason: string
  readonly tid: Uint8Array | undefined
  readonly isQuery: boolean
  /** The method name of a query, when it could be read. */
  readonly method: string | undefined

  constructor(
    code: CodecErrorCode,
    reason: string,
    info: { offset?: number; tid?: Uint8Array; isQuery?: boolean; method?: string; krpcCode?: number } = {},
  ) {
    super(code, reason, info.offset ?? -1)
    this.reason = reason
    this.krpcCode = info.krpcCode ?? KRPC_PROTOCOL_ERROR
    this.tid = info.tid
    this.isQuery = info.isQuery ?? false
    this.method = info.method
  }

  /** True when the sender expects an answer and we can address it: a query whose `t` we read. */
  get shouldReply(): boolean {
    return this.isQuery && this.tid !== undefined
  }
}
