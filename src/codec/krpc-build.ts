// KRPC builders (BEP 5, with BEP 32 `want`/`nodes6`, BEP 42 `ip`, BEP 43 `ro`). The bytes are written directly in
// canonical key order into a reused scratch buffer (one allocation per message: the result), which is several
// times faster than building an object and running the generic encoder. Arguments follow the seed
// (Net::BitTorrent::Protocol::BEP05): transaction id first, then our node id, then the message's own fields.
import { type BEncodable, encode } from './bencode.js'
import { utf8 } from './bytes.js'
import { type CompactNode, type CompactPeer, encodeNodes, encodePeer } from './compact.js'
import { CodecError } from './errors.js'
import type { KrpcWant } from './krpc-types.js'
import { ascii, digits, end, finish, int, raw, reset, str } from './krpc-writer.js'

/** Optional envelope fields, the last argument of every builder. Everything defaults to "absent". */
export interface KrpcOptions {
  /** Client version `v` (e.g. 4 bytes: 2-letter client code + version). A string is written as UTF-8. */
  v?: Uint8Array | string
  /** BEP 42 `ip` (replies): the requester's address as we see it, as 6/18 compact bytes or an endpoint. */
  ip?: Uint8Array | CompactPeer
  /** BEP 43 read-only flag `ro: 1` (queries). */
  ro?: boolean
  /** BEP 32 `want` (find_node and get_peers queries): which node lists to return. */
  want?: readonly KrpcWant[]
  /** `implied_port: 1` (announce_peer queries): the receiver should use our UDP source port. */
  impliedPort?: boolean
  /** BEP 32 `nodes6` (find_node and get_peers replies): compact IPv6 nodes, or nodes to encode. */
  nodes6?: Uint8Array | readonly CompactNode[]
  /** BEP 33 `scrape: 1` (get_peers queries): ask for the `BFsd`/`BFpe` bloom filters. */
  scrape?: boolean
  /** BEP 33 `noseed: 1` (get_peers queries): ask for non-seeds in `values`. */
  noseed?: boolean
  /** BEP 33 `seed: 1` (announce_peer queries): we seed this torrent. */
  seed?: boolean
  /** BEP 33 `BFsd` (get_peers replies): the seeds' bloom filter, 256 bytes. */
  BFsd?: Uint8Array
  /** BEP 33 `BFpe` (get_peers replies): the downloaders' bloom filter, 256 bytes. */
  BFpe?: Uint8Array
}

/** Compact IPv4 nodes as bytes (a multiple of 26) or as a list to encode. */
export type NodesArg = Uint8Array | readonly CompactNode[]
/** A get_peers `values` entry: 6/18 compact bytes or an endpoint. */
export type PeerArg = Uint8Array | CompactPeer

// Constant fragments, in canonical key order.
const Q_START = ascii('d1:ad2:id20:')
const R_START = ascii('d')
const R_BODY = ascii('1:rd2:id20:')
const K_R = ascii('1:rd')
const K_ID = ascii('2:id20:')
const K_BFPE = ascii('4:BFpe256:')
const K_BFSD = ascii('4:BFsd256:')
const K_NOSEED = ascii('6:noseedi1e')
const K_SCRAPE = ascii('6:scrapei1e')
const K_SEED = ascii('4:seedi1e')
const K_IP = ascii('2:ip')
const K_Q = ascii('e1:q')
const K_RO = ascii('2:roi1e')
const K_T = ascii('1:t')
const K_V = ascii('1:v')
const END_Q = ascii('1:y1:qe')
const END_R = ascii('1:y1:re')
const END_E = ascii('1:y1:ee')
const K_IMPLIED = ascii('12:implied_porti1e')
const K_INFO_HASH = ascii('9:info_hash20:')
const K_PORT = ascii('4:porti')
const K_TARGET = ascii('6:target20:')
const K_TOKEN = ascii('5:token')
const K_WANT = ascii('4:wantl')
const K_NODES = ascii('5:nodes')
const K_NODES6 = ascii('6:nodes6')
const K_VALUES = ascii('6:valuesl')
const M_PING = ascii('4:ping')
const M_FIND_NODE = ascii('9:find_node')
const M_GET_PEERS = ascii('9:get_peers')
const M_ANNOUNCE = ascii('13:announce_peer')
const E_START = ascii('d1:el')
const WANT_N4 = ascii('2:n4')
const WANT_N6 = ascii('2:n6')

// ---- argument checks ---------------------------------------------------------------------------------------

function bytesArg(b: unknown, what: string): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new CodecError('NOT_ENCODABLE', `${what} must be a Uint8Array`)
  return b
}

function id20(b: unknown, what: string): Uint8Array {
  const x = bytesArg(b, what)
  if (x.length !== 20) throw new CodecError('BAD_LENGTH', `${what} must be 20 bytes, got ${x.length}`)
  return x
}

function nodesBytes(nodes: NodesArg, family: 4 | 6): Uint8Array {
  if (nodes instanceof Uint8Array) {
    const size = family === 4 ? 26 : 38
    if (nodes.length % size !== 0) {
      throw new CodecError('BAD_LENGTH', `${family === 4 ? 'nodes' : 'nodes6'} must be a multiple of ${size} bytes`)
    }
    return nodes
  }
  return encodeNodes(nodes, family)
}

function ipBytes(ip: Uint8Array | CompactPeer): Uint8Array {
  if (ip instanceof Uint8Array) {
    if (ip.length !== 6 && ip.length !== 18) throw new CodecError('BAD_LENGTH', 'ip must be 6 or 18 bytes')
    return ip
  }
  return encodePeer(ip)
}

// ---- envelope ----------------------------------------------------------------------------------------------

function queryStart(nid: Uint8Array): void {
  reset()
  id20(nid, 'node id')
  raw(Q_START)
  raw(nid)
}

/** Closes `a`, writes `ip`, `q`, `ro`, `t`, `v`, `y` (canonical order) and returns the message. */
function queryEnd(method: Uint8Array, tid: Uint8Array, opts: KrpcOptions | undefined): Uint8Array {
  bytesArg(tid, 'transaction id')
  if (opts?.ip !== undefined) {
    // `ip` sorts between `a` and `q`: close `a`, write it, then `q`.
    end()
    raw(K_IP)
    str(ipBytes(opts.ip))
    raw(K_Q.subarray(1))
  } else {
    raw(K_Q)
  }
  raw(method)
  if (opts?.ro) raw(K_RO)
  raw(K_T)
  str(tid)
  if (opts?.v !== undefined) {
    raw(K_V)
    str(typeof opts.v === 'string' ? utf8(opts.v) : bytesArg(opts.v, 'v'))
  }
  raw(END_Q)
  return finish()
}

function bloom(b: Uint8Array | undefined, what: string): Uint8Array | undefined {
  if (b === undefined) return undefined
  if (bytesArg(b, what).length !== 256) throw new CodecError('BAD_LENGTH', `${what} must be 256 bytes, got ${b.length}`)
  return b
}

function replyStart(nid: Uint8Array, opts: KrpcOptions | undefined): void {
  id20(nid, 'node id')
  const bfpe = bloom(opts?.BFpe, 'BFpe')
  const bfsd = bloom(opts?.BFsd, 'BFsd')
  reset()
  raw(R_START)
  if (opts?.ip !== undefined) {
    raw(K_IP)
    str(ipBytes(opts.ip))
  }
  if (bfpe === undefined && bfsd === undefined) {
    raw(R_BODY)
  } else {
    // BEP 33: the capitalised keys sort before `id`.
    raw(K_R)
    if (bfpe !== undefined) {
      raw(K_BFPE)
      raw(bfpe)
    }
    if (bfsd !== undefined) {
      raw(K_BFSD)
      raw(bfsd)
    }
    raw(K_ID)
  }
  raw(nid)
}

/** Closes `r`, writes `t`, `v`, `y` and returns the message. */
function replyEnd(tid: Uint8Array, opts: KrpcOptions | undefined): Uint8Array {
  bytesArg(tid, 'transaction id')
  end()
  raw(K_T)
  str(tid)
  if (opts?.v !== undefined) {
    raw(K_V)
    str(typeof opts.v === 'string' ? utf8(opts.v) : bytesArg(opts.v, 'v'))
  }
  raw(END_R)
  return finish()
}

function want(opts: KrpcOptions | undefined): void {
  const w = opts?.want
  if (w === undefined) return
  raw(K_WANT)
  for (const x of w) {
    if (x === 'n4') raw(WANT_N4)
    else if (x === 'n6') raw(WANT_N6)
    else throw new CodecError('NOT_ENCODABLE', `want must list 'n4' or 'n6', got ${String(x)}`)
  }
  end()
}

// ---- queries -----------------------------------------------------------------------------------------------

/** `ping` query: `{a: {id}}`. */
export function buildPingQuery(tid: Uint8Array, nid: Uint8Array, options?: KrpcOptions): Uint8Array {
  queryStart(nid)
  return queryEnd(M_PING, tid, options)
}

/** `find_node` query for `target` (20 bytes); `options.want` asks for `n4`/`n6`. */
export function buildFindNodeQuery(
  tid: Uint8Array,
  nid: Uint8Array,
  target: Uint8Array,
  options?: KrpcOptions,
): Uint8Array {
  queryStart(nid)
  raw(K_TARGET)
  raw(id20(target, 'target'))
  want(options)
  return queryEnd(M_FIND_NODE, tid, options)
}

/** `get_peers` query for `infoHash` (20 bytes); `options.want` asks for `n4`/`n6`. */
export function buildGetPeersQuery(
  tid: Uint8Array,
  nid: Uint8Array,
  infoHash: Uint8Array,
  options?: KrpcOptions,
): Uint8Array {
  queryStart(nid)
  raw(K_INFO_HASH)
  raw(id20(infoHash, 'info_hash'))
  if (options?.noseed) raw(K_NOSEED)
  if (options?.scrape) raw(K_SCRAPE)
  want(options)
  return queryEnd(M_GET_PEERS, tid, options)
}

/**
 * `announce_peer` query: `token` from the node's get_peers reply, `port` 1-65535 (0 allowed with
 * `options.impliedPort`, which asks the receiver to use our UDP source port).
 */
export function buildAnnouncePeerQuery(
  tid: Uint8Array,
  nid: Uint8Array,
  infoHash: Uint8Array,
  token: Uint8Array,
  port: number,
  options?: KrpcOptions,
): Uint8Array {
  const implied = options?.impliedPort === true
  if (!Number.isInteger(port) || port < (implied ? 0 : 1) || port > 65535) {
    throw new CodecError('BAD_VALUE', `announce port must be ${implied ? 0 : 1}-65535, got ${port}`)
  }
  bytesArg(token, 'token')
  queryStart(nid)
  if (implied) raw(K_IMPLIED)
  raw(K_INFO_HASH)
  raw(id20(infoHash, 'info_hash'))
  raw(K_PORT)
  digits(port)
  end()
  if (options?.seed) raw(K_SEED)
  raw(K_TOKEN)
  str(token)
  return queryEnd(M_ANNOUNCE, tid, options)
}

// ---- replies -----------------------------------------------------------------------------------------------

/** Reply to `ping`: `{r: {id}}`. */
export function buildPingReply(tid: Uint8Array, nid: Uint8Array, options?: KrpcOptions): Uint8Array {
  replyStart(nid, options)
  return replyEnd(tid, options)
}

function nodes6(options: KrpcOptions | undefined): void {
  if (options?.nodes6 === undefined) return
  raw(K_NODES6)
  str(nodesBytes(options.nodes6, 6))
}

/** Reply to `find_node`: compact IPv4 `nodes` (bytes or a list); `options.nodes6` adds IPv6 nodes. */
export function buildFindNodeReply(
  tid: Uint8Array,
  nid: Uint8Array,
  nodes: NodesArg | undefined,
  options?: KrpcOptions,
): Uint8Array {
  const n4 = nodes === undefined ? undefined : nodesBytes(nodes, 4)
  replyStart(nid, options)
  if (n4 !== undefined) {
    raw(K_NODES)
    str(n4)
  }
  nodes6(options)
  return replyEnd(tid, options)
}

/**
 * Reply to `get_peers`: `values` (compact peers, omitted when empty), `nodes` (omitted when undefined) and the
 * announce `token` (omitted when undefined, as libtorrent does when its store is full).
 */
export function buildGetPeersReply(
  tid: Uint8Array,
  nid: Uint8Array,
  values: readonly PeerArg[] | undefined,
  nodes: NodesArg | undefined,
  token: Uint8Array | undefined,
  options?: KrpcOptions,
): Uint8Array {
  const n4 = nodes === undefined ? undefined : nodesBytes(nodes, 4)
  if (token !== undefined) bytesArg(token, 'token')
  replyStart(nid, options)
  if (n4 !== undefined) {
    raw(K_NODES)
    str(n4)
  }
  nodes6(options)
  if (token !== undefined) {
    raw(K_TOKEN)
    str(token)
  }
  if (values !== undefined && values.length > 0) {
    raw(K_VALUES)
    for (const p of values) {
      const b = p instanceof Uint8Array ? p : encodePeer(p)
      if (b.length !== 6 && b.length !== 18) {
        reset()
        throw new CodecError('BAD_LENGTH', `a values entry must be 6 or 18 bytes, got ${b.length}`)
      }
      str(b)
    }
    end()
  }
  return replyEnd(tid, options)
}

/** Reply to `announce_peer`: `{r: {id}}`. */
export function buildAnnouncePeerReply(tid: Uint8Array, nid: Uint8Array, options?: KrpcOptions): Uint8Array {
  return buildPingReply(tid, nid, options)
}

/** Error reply: `error` is [code, message] (201 generic, 202 server, 203 protocol, 204 method unknown). */
export function buildErrorReply(
  tid: Uint8Array,
  error: readonly [number, string | Uint8Array],
  options?: KrpcOptions,
): Uint8Array {
  const [code, message] = error
  if (!Number.isSafeInteger(code)) throw new CodecError('NOT_ENCODABLE', `error code must be an integer, got ${code}`)
  bytesArg(tid, 'transaction id')
  const text = typeof message === 'string' ? utf8(message) : bytesArg(message, 'error message')
  reset()
  raw(E_START)
  int(code)
  str(text)
  end()
  if (options?.ip !== undefined) {
    raw(K_IP)
    str(ipBytes(options.ip))
  }
  raw(K_T)
  str(tid)
  if (options?.v !== undefined) {
    raw(K_V)
    str(typeof options.v === 'string' ? utf8(options.v) : bytesArg(options.v, 'v'))
  }
  raw(END_E)
  return finish()
}

// ---- generic (other methods: BEP 44 get/put, BEP 51 sample_infohashes, ...) -----------------------------------

/** Any query through the generic encoder: `args` must include `id`. */
export function buildQuery(
  tid: Uint8Array,
  method: string,
  args: { readonly [key: string]: BEncodable | undefined },
  options?: Pick<KrpcOptions, 'v' | 'ip' | 'ro'>,
): Uint8Array {
  return encode({
    t: bytesArg(tid, 'transaction id'),
    y: 'q',
    q: method,
    a: args,
    v: options?.v,
    ip: options?.ip === undefined ? undefined : ipBytes(options.ip),
    ro: options?.ro ? 1 : undefined,
  })
}

/** Any reply through the generic encoder: `values` must include `id`. */
export function buildReply(
  tid: Uint8Array,
  values: { readonly [key: string]: BEncodable | undefined },
  options?: Pick<KrpcOptions, 'v' | 'ip'>,
): Uint8Array {
  return encode({
    t: bytesArg(tid, 'transaction id'),
    y: 'r',
    r: values,
    v: options?.v,
    ip: options?.ip === undefined ? undefined : ipBytes(options.ip),
  })
}
