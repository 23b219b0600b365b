// The BEP 44 client: put and get immutable and mutable items, written against a small transport (a lookup that
// sends any method to the nodes it meets, and a single query) so that it runs on the DHT or on a fake in tests.
// What comes back is checked here: an immutable value must hash to its target, a mutable item must carry the
// asked key and a valid signature; anything else is discarded and counted.
import { type BEncodable, type BValue, decode, encode } from '../codec/bencode.js'
import { BEP44_MAX_SALT_LENGTH, checkValueSize, signatureBuffer, toSeq } from '../codec/bep44.js'
import { bytesEqual } from '../codec/bytes.js'
import type { ReplyValues } from '../codec/krpc-types.js'
import type { Endpoint } from '../net/types.js'
import { type Keypair, mutableTargetOf, type Signer, sha1, verifySignature } from './bep44-crypto.js'
import { abortError, DHTError } from './errors.js'
import type { ClosestNode } from './traversal.js'

/** A node that answered, with its id. */
export type RepliedNode = Endpoint & { id: Uint8Array }

export interface LookupSpec {
  target: Uint8Array
  method: string
  /** The query's arguments without `id` (bencodable; a value `v` in its decoded form). */
  args: Record<string, BEncodable>
  signal?: AbortSignal
  /** Every reply, as it arrives. */
  onReply?: (node: RepliedNode, r: ReplyValues) => void
}

export interface LookupOutcome {
  /** The K closest nodes that replied, closest first. */
  closest: ClosestNode[]
  /** The K closest that replied with a token. */
  withToken: ClosestNode[]
  queries: number
}

/** What the storage client needs from the DHT. */
export interface StorageTransport {
  /** An iterative lookup toward `target` sending `method` to every node it asks (closer nodes from the replies). */
  lookup(spec: LookupSpec): Promise<LookupOutcome>
  /** One query; KRPC error replies reject with DHTError `KRPC_ERROR` and `krpcCode`. */
  query(
    node: Endpoint,
    method: string,
    args: Record<string, BEncodable>,
    opts?: { signal?: AbortSignal },
  ): Promise<{ id: Uint8Array; r: ReplyValues }>
}

/** A put's outcome. */
export interface PutResult {
  target: Uint8Array
  /** How many of the K closest nodes (that gave a token) stored it. */
  stored: number
  /** How many were asked to. */
  nodes: number
  /** KRPC error codes the refusing nodes answered, with their counts. */
  refused: Record<number, number>
  /** The sequence number put (mutable items). */
  seq?: bigint
}

export interface ImmutableGetResult {
  target: Uint8Array
  /** The value's bencoding, as received (it hashes to `target`). */
  v?: Uint8Array
  /** The value, decoded. */
  value?: BValue
  /** Values received that did not hash to the target. */
  discarded: number
}

/** A verified mutable item. */
export interface MutableItemResult {
  target: Uint8Array
  publicKey: Uint8Array
  salt?: Uint8Array
  seq: bigint
  /** The value's bencoding, as signed. */
  v: Uint8Array
  value: BValue
  sig: Uint8Array
  /** The node it came from. */
  from: Endpoint
}

export interface MutableGetResult {
  /** The newest valid item found (highest seq), if any. */
  item?: MutableItemResult
  /** Items received that were not validly signed by the key, or were malformed. */
  discarded: number
}

export interface PutMutableOptions {
  /** The key to sign with, or `publicKey` with `sign`. */
  keypair?: Keypair
  publicKey?: Uint8Array
  sign?: Signer
  value: BEncodable
  salt?: Uint8Array | string
  /** Default: one more than the newest found (0 when none). */
  seq?: bigint | number
  /** Compare-and-swap: the seq the nodes must hold now. */
  cas?: bigint | number
  signal?: AbortSignal
}

export interface GetMutableOptions {
  salt?: Uint8Array | string
  /** Only items newer than this seq. */
  seq?: bigint | number
  signal?: AbortSignal
}

/** A put refused because the DHT holds a newer item (code `SEQ_TOO_LOW`) or another one than `cas` (`CAS_MISMATCH`). */
export class StorageConflictError extends DHTError {
  override readonly name: string = 'StorageConflictError'
  /** The newest seq seen in the DHT, when known. */
  readonly seq: bigint | undefined
  constructor(code: 'SEQ_TOO_LOW' | 'CAS_MISMATCH', message: string, seq: bigint | undefined) {
    super(code, message)
    this.seq = seq
  }
}

/** Encodes a value for BEP 44: its bencoding, 1-1000 bytes. */
export function encodeValue(value: BEncodable): Uint8Array {
  let v: Uint8Array
  try {
    v = encode(value)
  } catch (err) {
    throw new DHTError('BAD_ARGUMENT', `value is not bencodable: ${(err as Error).message}`)
  }
  if (checkValueSize(v)) throw new DHTError('BAD_ARGUMENT', `a value is 1-1000 bytes bencoded, got ${v.length}`)
  return v
}

export function saltBytes(salt: Uint8Array | string | undefined): Uint8Array | undefined {
  if (salt === undefined) return undefined
  const s = typeof salt === 'string' ? new TextEncoder().encode(salt) : salt
  if (!(s instanceof Uint8Array) || s.length > BEP44_MAX_SALT_LENGTH) {
    throw new DHTError('BAD_ARGUMENT', `a salt is at most ${BEP44_MAX_SALT_LENGTH} bytes`)
  }
  return s.length === 0 ? undefined : s
}

function checkTarget(target: Uint8Array): void {
  if (!(target instanceof Uint8Array) || target.length !== 20)
    throw new DHTError('BAD_ARGUMENT', 'a target is 20 bytes')
}

function checkPublicKey(k: Uint8Array | undefined): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length !== 32) throw new DHTError('BAD_ARGUMENT', 'a public key is 32 bytes')
  return k
}

/** A put's result and the arguments it sent (without token): what a republish sends again. */
export interface SentPut {
  result: PutResult
  args: Record<string, BEncodable>
}

/** Stores an immutable value on the K closest nodes to its SHA-1. */
export async function putImmutable(
  t: StorageTransport,
  value: BEncodable,
  opts: { signal?: AbortSignal } = {},
): Promise<SentPut> {
  const v = encodeValue(value)
  const target = sha1(v)
  const look = await t.lookup({ target, method: 'get', args: { target }, signal: opts.signal })
  const args = { v: decode(v) }
  return { result: await putTo(t, look.withToken, args, target, opts.signal), args }
}

/** Re-stores an item already encoded and signed (republishing): `args` are the put's arguments without token. */
export async function putItem(
  t: StorageTransport,
  target: Uint8Array,
  args: Record<string, BEncodable>,
  opts: { signal?: AbortSignal } = {},
): Promise<PutResult> {
  const look = await t.lookup({ target, method: 'get', args: { target }, signal: opts.signal })
  return putTo(t, look.withToken, args, target, opts.signal)
}

async function putTo(
  t: StorageTransport,
  nodes: readonly ClosestNode[],
  args: Record<string, BEncodable>,
  target: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<PutResult> {
  const results = await Promise.allSettled(
    nodes.map((n) => t.query(n, 'put', { ...args, token: n.token as Uint8Array }, { signal })),
  )
  if (signal?.aborted) throw abortError()
  const refused: Record<number, number> = {}
  let stored = 0
  for (const r of results) {
    if (r.status === 'fulfilled') stored++
    else if (r.reason instanceof DHTError && r.reason.krpcCode !== undefined) {
      refused[r.reason.krpcCode] = (refused[r.reason.krpcCode] ?? 0) + 1
    }
  }
  const out: PutResult = { target, stored, nodes: nodes.length, refused }
  if (typeof args.seq === 'bigint') out.seq = args.seq
  return out
}

/** Looks up an immutable value; stops at the first that hashes to `target`. */
export async function getImmutable(
  t: StorageTransport,
  target: Uint8Array,
  opts: { signal?: AbortSignal } = {},
): Promise<ImmutableGetResult> {
  checkTarget(target)
  const stop = new AbortController()
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal
  const out: ImmutableGetResult = { target, discarded: 0 }
  const onReply = (_node: RepliedNode, r: ReplyValues) => {
    if (out.v || !(r.v instanceof Uint8Array)) return
    if (!bytesEqual(sha1(r.v), target)) {
      out.discarded++
      return
    }
    const value = tryDecode(r.v)
    if (value === undefined) {
      out.discarded++
      return
    }
    out.v = r.v.slice()
    out.value = value
    stop.abort()
  }
  try {
    await t.lookup({ target, method: 'get', args: { target }, signal, onReply })
  } catch (err) {
    if (!out.v || opts.signal?.aborted) throw err
  }
  return out
}

/** The checks a mutable item in a reply must pass; undefined (discard) when it fails one. */
export function verifiedItem(
  r: ReplyValues,
  from: Endpoint,
  publicKey: Uint8Array,
  salt: Uint8Array | undefined,
  target: Uint8Array,
): MutableItemResult | undefined {
  const { v, k, sig, seq } = r
  if (!(v instanceof Uint8Array) || !(k instanceof Uint8Array) || !(sig instanceof Uint8Array)) return undefined
  if (typeof seq !== 'bigint' || seq < 0n || !bytesEqual(k, publicKey)) return undefined
  let buf: Uint8Array
  try {
    buf = signatureBuffer(v, seq, salt)
  } catch {
    return undefined
  }
  if (!verifySignature(k, buf, sig)) return undefined
  const value = tryDecode(v)
  if (value === undefined) return undefined
  const item: MutableItemResult = {
    target,
    publicKey: k.slice(),
    seq,
    v: v.slice(),
    value,
    sig: sig.slice(),
    from: { host: from.host, port: from.port },
  }
  if (salt) item.salt = salt.slice()
  return item
}

/**
 * Mutable items under `publicKey` (and salt) as they arrive, verified; each one yielded is newer than the ones
 * before it. Ends when the lookup ends.
 */
export async function* getMutableItems(
  t: StorageTransport,
  publicKey: Uint8Array,
  opts: GetMutableOptions & { onDiscard?: () => void } = {},
): AsyncGenerator<MutableItemResult> {
  const k = checkPublicKey(publicKey)
  const salt = saltBytes(opts.salt)
  const target = mutableTargetOf(k, salt)
  const minSeq = opts.seq === undefined ? undefined : toSeq(opts.seq)
  const queue: MutableItemResult[] = []
  let wake: (() => void) | undefined
  let done = false
  let failure: unknown
  let best = minSeq ?? -1n
  const stop = new AbortController()
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal
  const args: Record<string, BEncodable> = minSeq === undefined ? { target } : { target, seq: minSeq }
  const onReply = (node: RepliedNode, r: ReplyValues) => {
    if (r.v === undefined && r.sig === undefined) return
    const item = verifiedItem(r, node, k, salt, target)
    if (!item) {
      if (r.v !== undefined) opts.onDiscard?.()
      return
    }
    if (item.seq <= best) return
    best = item.seq
    queue.push(item)
    wake?.()
  }
  t.lookup({ target, method: 'get', args, signal, onReply }).then(
    () => {
      done = true
      wake?.()
    },
    (err) => {
      failure = err
      done = true
      wake?.()
    },
  )
  try {
    for (;;) {
      const item = queue.shift()
      if (item) {
        yield item
        continue
      }
      if (done) break
      await new Promise<void>((resolve) => {
        wake = resolve
      })
      wake = undefined
    }
    if (failure !== undefined && !(stop.signal.aborted && !opts.signal?.aborted)) throw failure
  } finally {
    stop.abort()
  }
}

/** The newest valid mutable item under `publicKey` (and salt) among the K closest nodes' answers. */
export async function getMutable(
  t: StorageTransport,
  publicKey: Uint8Array,
  opts: GetMutableOptions = {},
): Promise<MutableGetResult> {
  const out: MutableGetResult = { discarded: 0 }
  for await (const item of getMutableItems(t, publicKey, { ...opts, onDiscard: () => out.discarded++ })) {
    out.item = item
  }
  return out
}

/**
 * Signs and stores a mutable item on the K closest nodes to SHA-1(k ‖ salt). The lookup first reads what they
 * hold: `seq` defaults to one more than the newest found; a given `seq` older than that (or equal, with another
 * value) fails with StorageConflictError `SEQ_TOO_LOW` carrying the newest, a `cas` other than it with
 * `CAS_MISMATCH`.
 */
export async function putMutable(t: StorageTransport, opts: PutMutableOptions): Promise<SentPut> {
  const k = checkPublicKey(opts.keypair?.publicKey ?? opts.publicKey)
  const sign = opts.keypair?.sign ?? opts.sign
  if (typeof sign !== 'function') throw new DHTError('BAD_ARGUMENT', 'a mutable put needs a keypair or sign')
  const v = encodeValue(opts.value)
  const salt = saltBytes(opts.salt)
  const cas = opts.cas === undefined ? undefined : toSeq(opts.cas)
  const target = mutableTargetOf(k, salt)
  let newest: MutableItemResult | undefined
  const look = await t.lookup({
    target,
    method: 'get',
    args: { target },
    signal: opts.signal,
    onReply: (node, r) => {
      const item = r.v === undefined ? undefined : verifiedItem(r, node, k, salt, target)
      if (item && (!newest || item.seq > newest.seq)) newest = item
    },
  })
  let seq: bigint
  if (opts.seq === undefined) seq = newest ? newest.seq + 1n : 0n
  else {
    seq = toSeqArg(opts.seq)
    if (newest && (newest.seq > seq || (newest.seq === seq && !bytesEqual(newest.v, v)))) {
      throw new StorageConflictError('SEQ_TOO_LOW', `the DHT holds seq ${newest.seq}`, newest.seq)
    }
  }
  if (cas !== undefined && newest && newest.seq !== cas) {
    throw new StorageConflictError('CAS_MISMATCH', `the DHT holds seq ${newest.seq}, not ${cas}`, newest.seq)
  }
  const sig = await sign(signatureBuffer(v, seq, salt))
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new DHTError('BAD_ARGUMENT', 'sign must return 64 bytes')
  const args = mutablePutArgs({ v, k, sig, seq, salt, cas })
  const res = await putTo(t, look.withToken, args, target, opts.signal)
  if (res.stored === 0 && (res.refused[302] || res.refused[301])) {
    const code = res.refused[302] ? 'SEQ_TOO_LOW' : 'CAS_MISMATCH'
    throw new StorageConflictError(code, `every node refused the put (${code})`, newest?.seq)
  }
  // A republish carries no condition: the item as signed, without cas.
  return { result: res, args: mutablePutArgs({ v, k, sig, seq, salt }) }
}

/** The arguments of a mutable `put` (without the token), as sent and as republished. */
export function mutablePutArgs(item: {
  v: Uint8Array
  k: Uint8Array
  sig: Uint8Array
  seq: bigint
  salt?: Uint8Array
  cas?: bigint
}): Record<string, BEncodable> {
  const args: Record<string, BEncodable> = { v: decode(item.v), k: item.k, sig: item.sig, seq: item.seq }
  if (item.salt) args.salt = item.salt
  if (item.cas !== undefined) args.cas = item.cas
  return args
}

function toSeqArg(seq: bigint | number): bigint {
  try {
    return toSeq(seq)
  } catch (err) {
    throw new DHTError('BAD_ARGUMENT', (err as Error).message)
  }
}

function tryDecode(v: Uint8Array): BValue | undefined {
  try {
    return decode(v)
  } catch {
    return undefined
  }
}
