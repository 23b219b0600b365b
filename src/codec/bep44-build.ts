// BEP 44 `get` and `put` messages, written directly in canonical key order like the BEP 5 builders. Arguments
// follow them too: transaction id, our node id, then the message's own fields. Values travel as their bencoding
// (`encode(x)`), so what is signed, hashed and sent are the same bytes.
import {
  BEP44_MAX_SALT_LENGTH,
  BEP44_PUBLIC_KEY_LENGTH,
  BEP44_SIGNATURE_LENGTH,
  checkValueSize,
  toSeq,
} from './bep44.js'
import type { CompactNode } from './compact.js'
import { CodecError } from './errors.js'
import {
  ascii,
  bytesArg,
  canonicalArg,
  checkWant,
  closeQuery,
  closeReply,
  type FrameOptions,
  int,
  nodesArg,
  openQuery,
  openReply,
  raw,
  sizedArg,
  str,
  writeWant,
} from './krpc-frame.js'
import type { KrpcWant } from './krpc-types.js'

const M_GET = ascii('3:get')
const M_PUT = ascii('3:put')
const K_CAS = ascii('3:casi')
const K_ID = ascii('2:id20:')
const K_K = ascii('1:k32:')
const K_NODES = ascii('5:nodes')
const K_NODES6 = ascii('6:nodes6')
const K_SALT = ascii('4:salt')
const K_SEQ = ascii('3:seq')
const K_SIG = ascii('3:sig64:')
const K_TARGET = ascii('6:target20:')
const K_TOKEN = ascii('5:token')
const K_V = ascii('1:v')

export interface GetQueryOptions extends FrameOptions {
  /** Only send the value if the stored `seq` is greater (mutable items). */
  seq?: bigint | number
  /** BEP 32: which node lists to return. */
  want?: readonly KrpcWant[]
}

/** A BEP 44 item to put: `v` is the value's bencoding. Mutable when `k`, `sig` and `seq` are given. */
export interface PutItem {
  /** The bencoded value (canonical, 1-1000 bytes). */
  v: Uint8Array
  /** Ed25519 public key, 32 bytes. */
  k?: Uint8Array
  /** Ed25519 signature over `signatureBuffer(v, seq, salt)`, 64 bytes. */
  sig?: Uint8Array
  seq?: bigint | number
  /** ≤ 64 bytes; an empty salt is left out (BEP 44: the same as none). */
  salt?: Uint8Array
  /** Compare-and-swap: the `seq` we expect the node to hold now. */
  cas?: bigint | number
}

/** What a `get` reply carries besides `id`. Every field is optional. */
export interface GetReplyFields {
  /** Write token for a later `put` (BEP 44: always sent). */
  token?: Uint8Array
  nodes?: Uint8Array | readonly CompactNode[]
  nodes6?: Uint8Array | readonly CompactNode[]
  /** The item's bencoded value, as stored. */
  v?: Uint8Array
  k?: Uint8Array
  sig?: Uint8Array
  /** Mutable items: sent alone when the stored `seq` is not newer than the one asked for. */
  seq?: bigint | number
}

function id20(b: unknown, what: string): Uint8Array {
  return sizedArg(b, 20, what)
}

function value(v: unknown): Uint8Array {
  const b = canonicalArg(v, 'v')
  if (checkValueSize(b)) throw new CodecError('BAD_LENGTH', `v must be 1-1000 bytes bencoded, got ${b.length}`)
  return b
}

/** `get` query for `target` (20 bytes: SHA-1 of the value, or of `k` ‖ salt). */
export function buildGetQuery(
  tid: Uint8Array,
  nid: Uint8Array,
  target: Uint8Array,
  options?: GetQueryOptions,
): Uint8Array {
  bytesArg(tid, 'transaction id')
  id20(nid, 'node id')
  id20(target, 'target')
  const seq = options?.seq === undefined ? undefined : toSeq(options.seq)
  checkWant(options?.want)
  openQuery()
  raw(K_ID)
  raw(nid)
  if (seq !== undefined) {
    raw(K_SEQ)
    int64(seq)
  }
  raw(K_TARGET)
  raw(target)
  writeWant(options?.want)
  return closeQuery(M_GET, tid, options)
}

/** `put` query: `token` from the node's `get` reply; an immutable item is `{ v }`. */
export function buildPutQuery(
  tid: Uint8Array,
  nid: Uint8Array,
  token: Uint8Array,
  item: PutItem,
  options?: FrameOptions,
): Uint8Array {
  bytesArg(tid, 'transaction id')
  id20(nid, 'node id')
  bytesArg(token, 'token')
  const v = value(item.v)
  const mutable = item.k !== undefined || item.sig !== undefined
  if (mutable && (item.k === undefined || item.sig === undefined || item.seq === undefined)) {
    throw new CodecError('BAD_VALUE', 'a mutable put needs k, sig and seq')
  }
  const k = item.k === undefined ? undefined : sizedArg(item.k, BEP44_PUBLIC_KEY_LENGTH, 'k')
  const sig = item.sig === undefined ? undefined : sizedArg(item.sig, BEP44_SIGNATURE_LENGTH, 'sig')
  const seq = item.seq === undefined ? undefined : toSeq(item.seq)
  const cas = item.cas === undefined ? undefined : toSeq(item.cas)
  const salt = item.salt === undefined ? undefined : bytesArg(item.salt, 'salt')
  if (salt !== undefined && salt.length > BEP44_MAX_SALT_LENGTH) {
    throw new CodecError('BAD_LENGTH', `salt must be at most ${BEP44_MAX_SALT_LENGTH} bytes, got ${salt.length}`)
  }
  openQuery()
  if (cas !== undefined) {
    raw(K_CAS)
    digits64(cas)
  }
  raw(K_ID)
  raw(nid)
  if (k !== undefined) {
    raw(K_K)
    raw(k)
  }
  if (salt !== undefined && salt.length > 0) {
    raw(K_SALT)
    str(salt)
  }
  if (seq !== undefined) {
    raw(K_SEQ)
    int64(seq)
  }
  if (sig !== undefined) {
    raw(K_SIG)
    raw(sig)
  }
  raw(K_TOKEN)
  str(token)
  raw(K_V)
  raw(v)
  return closeQuery(M_PUT, tid, options)
}

/** Reply to `get`: nodes and token always (BEP 44), the item when there is one to send. */
export function buildGetReply(
  tid: Uint8Array,
  nid: Uint8Array,
  fields: GetReplyFields,
  options?: FrameOptions,
): Uint8Array {
  bytesArg(tid, 'transaction id')
  id20(nid, 'node id')
  const k = fields.k === undefined ? undefined : sizedArg(fields.k, BEP44_PUBLIC_KEY_LENGTH, 'k')
  const sig = fields.sig === undefined ? undefined : sizedArg(fields.sig, BEP44_SIGNATURE_LENGTH, 'sig')
  const seq = fields.seq === undefined ? undefined : toSeq(fields.seq)
  const n4 = fields.nodes === undefined ? undefined : nodesArg(fields.nodes, 4)
  const n6 = fields.nodes6 === undefined ? undefined : nodesArg(fields.nodes6, 6)
  const token = fields.token === undefined ? undefined : bytesArg(fields.token, 'token')
  const v = fields.v === undefined ? undefined : value(fields.v)
  if ((k === undefined) !== (sig === undefined) || (k !== undefined && (seq === undefined || v === undefined))) {
    throw new CodecError('BAD_VALUE', 'a mutable item needs k, sig, seq and v together')
  }
  openReply(options)
  raw(K_ID)
  raw(nid)
  if (k !== undefined) {
    raw(K_K)
    raw(k)
  }
  if (n4 !== undefined) {
    raw(K_NODES)
    str(n4)
  }
  if (n6 !== undefined) {
    raw(K_NODES6)
    str(n6)
  }
  if (seq !== undefined) {
    raw(K_SEQ)
    int64(seq)
  }
  if (sig !== undefined) {
    raw(K_SIG)
    raw(sig)
  }
  if (token !== undefined) {
    raw(K_TOKEN)
    str(token)
  }
  if (v !== undefined) {
    raw(K_V)
    raw(v)
  }
  return closeReply(tid, options)
}

/** Reply to `put`: `{r: {id}}`. */
export function buildPutReply(tid: Uint8Array, nid: Uint8Array, options?: FrameOptions): Uint8Array {
  bytesArg(tid, 'transaction id')
  id20(nid, 'node id')
  openReply(options)
  raw(K_ID)
  raw(nid)
  return closeReply(tid, options)
}

/** `i<n>e` for a non-negative bigint. */
function int64(n: bigint): void {
  if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return int(Number(n))
  raw(ascii(`i${n}e`))
}

/** The digits and closing `e` of an integer whose `i` is already written (`3:casi`). */
function digits64(n: bigint): void {
  raw(ascii(`${n}e`))
}
