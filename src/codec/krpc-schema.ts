// The declarative part of KRPC validation (in the spirit of libtorrent's `key_desc_t` tables): which argument and
// reply keys we know, the bencode type each must have, and per message which are required and what size they
// must be. The scanner (krpc-scan.ts) fills one slot per known key; `checkRules` walks a rule list and produces
// the first failure as libtorrent's 203 text.
import { decode } from './bencode.js'
import { CodecError } from './errors.js'
import type { KrpcMethod } from './krpc-types.js'

/** The bencode type the scanner expects for a known key. */
export const Kind = {
  Bytes: 0,
  Int: 1,
  /** A list of byte strings read as compact peers (6 or 18 bytes each; others skipped). */
  Peers: 2,
  /** Any list (decoded generically). */
  List: 3,
  /** Any value, kept as its encoded bytes exactly as received (BEP 44 `v`: signatures cover the wire bytes). */
  Raw: 4,
  /** An integer read exactly as a bigint (BEP 44 `seq`/`cas` are int64: past 2^53 a number would round). */
  Int64: 5,
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]

export interface FieldSpec {
  readonly name: string
  readonly kind: Kind
}

// Slot numbers of the known keys inside `a` and `r`.
export const F_ID = 0
export const F_TARGET = 1
export const F_INFO_HASH = 2
export const F_TOKEN = 3
export const F_NODES = 4
export const F_NODES6 = 5
export const F_VALUES = 6
export const F_PORT = 7
export const F_IMPLIED_PORT = 8
export const F_WANT = 9
// BEP 44 (get/put), BEP 51 (sample_infohashes), BEP 33 (scrape).
export const F_V = 10
export const F_K = 11
export const F_SIG = 12
export const F_SEQ = 13
export const F_CAS = 14
export const F_SALT = 15
export const F_SAMPLES = 16
export const F_INTERVAL = 17
export const F_NUM = 18
export const F_BFSD = 19
export const F_BFPE = 20
export const F_SCRAPE = 21
export const F_NOSEED = 22
export const F_SEED = 23

/** Known keys of `a` and `r`, indexed by slot. */
export const FIELDS: readonly FieldSpec[] = [
  { name: 'id', kind: Kind.Bytes },
  { name: 'target', kind: Kind.Bytes },
  { name: 'info_hash', kind: Kind.Bytes },
  { name: 'token', kind: Kind.Bytes },
  { name: 'nodes', kind: Kind.Bytes },
  { name: 'nodes6', kind: Kind.Bytes },
  { name: 'values', kind: Kind.Peers },
  { name: 'port', kind: Kind.Int },
  { name: 'implied_port', kind: Kind.Int },
  { name: 'want', kind: Kind.List },
  { name: 'v', kind: Kind.Raw },
  { name: 'k', kind: Kind.Bytes },
  { name: 'sig', kind: Kind.Bytes },
  { name: 'seq', kind: Kind.Int64 },
  { name: 'cas', kind: Kind.Int64 },
  { name: 'salt', kind: Kind.Bytes },
  { name: 'samples', kind: Kind.Bytes },
  { name: 'interval', kind: Kind.Int },
  { name: 'num', kind: Kind.Int },
  { name: 'BFsd', kind: Kind.Bytes },
  { name: 'BFpe', kind: Kind.Bytes },
  { name: 'scrape', kind: Kind.Int },
  { name: 'noseed', kind: Kind.Int },
  { name: 'seed', kind: Kind.Int },
]

/** What the scanner found for one dictionary: a value per slot, plus which slots were present or mistyped. */
export interface Slots {
  readonly v: unknown[]
  present: number
  /** Slots present with the wrong bencode type (their `v` holds the decoded value). */
  bad: number
}

/** One key's rule. The first rule a message breaks gives the error text. */
export interface KeyRule {
  readonly field: number
  readonly optional?: boolean
  /** Exact byte length. */
  readonly size?: number
  /** Byte length must be a multiple of this. */
  readonly multipleOf?: number
  /** Extra check on the value (and the other slots); returns the error text, or undefined when fine. */
  readonly check?: (value: unknown, slots: Slots) => string | undefined
  /** The KRPC error code a failed `check` answers with (BEP 44: 205, 207). Default 203. */
  readonly code?: number
  /**
   * An optional key of the wrong type or size is dropped (read as absent) instead of failing the message, as
   * libtorrent's `verify_message` does for optional keys: for flags and fields a receiver can do without.
   */
  readonly dropInvalid?: boolean
}

/** The first rule a message breaks: the text for the error reply and its KRPC code. */
export interface RuleFailure {
  readonly reason: string
  readonly code: number
}

function announcePort(value: unknown, slots: Slots): string | undefined {
  const implied = (slots.present & (1 << F_IMPLIED_PORT)) !== 0 && slots.v[F_IMPLIED_PORT] !== 0
  if (value === undefined) return implied ? undefined : "missing 'port' key"
  const port = value as number
  if (port < (implied ? 0 : 1) || port > 65535) return 'invalid port'
  return undefined
}

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n

/** An int64 check for the key `name` (BEP 44: `seq` and `cas` are signed 64-bit). */
function int64(name: string): (value: unknown) => string | undefined {
  return (value) => {
    if (value === undefined) return undefined
    const n = value as bigint
    return n < INT64_MIN || n > INT64_MAX ? `invalid value for '${name}'` : undefined
  }
}
const seq64 = int64('seq')

function interval(value: unknown): string | undefined {
  const n = value as number | undefined
  return n === undefined || (n >= 0 && n <= 21600) ? undefined : "invalid value for 'interval'"
}

function nonNegative(value: unknown): string | undefined {
  return value === undefined || (value as number) >= 0 ? undefined : "invalid value for 'num'"
}

/**
 * BEP 44: a put's `v` must be canonical bencode (it is signed and hashed as sent, so a value that would not
 * round-trip is refused, with libtorrent's texts), 1-1000 bytes long (205 otherwise).
 */
function canonicalValue(value: unknown): string | undefined {
  if (value === undefined) return undefined
  try {
    decode(value as Uint8Array, { strict: true, maxDepth: 16 })
    return undefined
  } catch (e) {
    if (!(e instanceof CodecError)) throw e
    if (e.code === 'UNSORTED_KEYS') return 'unsorted dictionary key'
    if (e.code === 'DUPLICATE_KEY') return 'duplicate dictionary key'
    if (e.code === 'LEADING_ZERO')
      return e.message.includes('string') ? 'leading zero in string length' : 'leading zero in integer'
    return "invalid value for 'v'"
  }
}

function valueSize(value: unknown): string | undefined {
  const n = (value as Uint8Array | undefined)?.length
  return n === undefined || (n >= 1 && n <= 1000) ? undefined : 'Message (v field) too big'
}

function saltSize(value: unknown): string | undefined {
  return value === undefined || (value as Uint8Array).length <= 64 ? undefined : 'Salt (salt field) too big'
}

function putSeq(value: unknown): string | undefined {
  if (value === undefined) return undefined
  return seq64(value) ?? ((value as bigint) < 0n ? 'invalid (negative) sequence number' : undefined)
}

/** A mutable put carries `k`, `sig` and `seq` together; `seq` alone is allowed (some clients send it always). */
function mutableKeys(_value: unknown, slots: Slots): string | undefined {
  const has = (f: number) => (slots.present & (1 << f)) !== 0
  if (!has(F_K) && !has(F_SIG)) return undefined
  if (!has(F_K)) return "missing 'k' key"
  if (!has(F_SIG)) return "missing 'sig' key"
  return has(F_SEQ) ? undefined : "missing 'seq' key"
}

/** BEP 44 put: structure first (203), then the size limits with their own codes (205, 207). */
const PUT_RULES: readonly KeyRule[] = [
  { field: F_ID, size: 20 },
  { field: F_TOKEN },
  { field: F_V, check: canonicalValue },
  { field: F_SEQ, optional: true, check: putSeq },
  { field: F_K, optional: true, size: 32 },
  { field: F_SIG, optional: true, size: 64 },
  { field: F_CAS, optional: true, check: int64('cas') },
  { field: F_SALT, optional: true },
  { field: F_K, optional: true, check: mutableKeys },
  { field: F_V, check: valueSize, code: 205 },
  { field: F_SALT, optional: true, check: saltSize, code: 207 },
]

const ID: KeyRule = { field: F_ID, size: 20 }
const WANT: KeyRule = { field: F_WANT, optional: true }
const TARGET: KeyRule = { field: F_TARGET, size: 20 }
const flag = (field: number): KeyRule => ({ field, optional: true, dropInvalid: true })

/** Rules for the `a` of each known query, in the order libtorrent checks them. */
export const QUERY_RULES: Readonly<Record<KrpcMethod, readonly KeyRule[]>> = {
  ping: [ID],
  find_node: [ID, TARGET, WANT],
  get_peers: [ID, { field: F_INFO_HASH, size: 20 }, WANT, flag(F_SCRAPE), flag(F_NOSEED)],
  announce_peer: [
    ID,
    { field: F_INFO_HASH, size: 20 },
    { field: F_IMPLIED_PORT, optional: true },
    { field: F_PORT, optional: true, check: announcePort },
    { field: F_TOKEN },
    flag(F_SEED),
  ],
  get: [ID, TARGET, { field: F_SEQ, optional: true, check: seq64 }, WANT],
  put: PUT_RULES,
  sample_infohashes: [ID, TARGET, WANT],
}

/** Rules for the `a` of a query we do not know: only the sender's id (libtorrent checks it for every query). */
export const UNKNOWN_QUERY_RULES: readonly KeyRule[] = [ID]

/** Rules for `r`: the replier's id, and the sizes of whatever node lists it sent. */
export const REPLY_RULES: readonly KeyRule[] = [
  ID,
  { field: F_NODES, optional: true, multipleOf: 26 },
  { field: F_NODES6, optional: true, multipleOf: 38 },
  { field: F_VALUES, optional: true },
  { field: F_TOKEN, optional: true },
  // BEP 44 `get` replies, BEP 51 `sample_infohashes` replies, BEP 33 scrapes. A reply is not tied to its query
  // here, so a malformed extra field is dropped rather than costing the whole reply (the nodes still count).
  { field: F_V, optional: true },
  { field: F_K, optional: true, size: 32, dropInvalid: true },
  { field: F_SIG, optional: true, size: 64, dropInvalid: true },
  { field: F_SEQ, optional: true, check: seq64, dropInvalid: true },
  { field: F_SAMPLES, optional: true, multipleOf: 20, dropInvalid: true },
  { field: F_INTERVAL, optional: true, check: interval, dropInvalid: true },
  { field: F_NUM, optional: true, check: nonNegative, dropInvalid: true },
  { field: F_BFSD, optional: true, size: 256, dropInvalid: true },
  { field: F_BFPE, optional: true, size: 256, dropInvalid: true },
]

function maskOf(rules: readonly KeyRule[]): number {
  let m = 0
  for (const r of rules) m |= 1 << r.field
  return m
}

/** Bit masks of the slots each rule list covers (slots outside it are kept as extra keys). */
export const QUERY_MASKS: Readonly<Record<KrpcMethod, number>> = {
  ping: maskOf(QUERY_RULES.ping),
  find_node: maskOf(QUERY_RULES.find_node),
  get_peers: maskOf(QUERY_RULES.get_peers),
  announce_peer: maskOf(QUERY_RULES.announce_peer),
  get: maskOf(QUERY_RULES.get),
  put: maskOf(QUERY_RULES.put),
  sample_infohashes: maskOf(QUERY_RULES.sample_infohashes),
}
export const REPLY_MASK = maskOf(REPLY_RULES)

/** Checks `slots` against `rules`; returns libtorrent's text for the first failure, or undefined. */
export function checkRules(slots: Slots, rules: readonly KeyRule[]): string | undefined {
  return firstFailure(slots, rules)?.reason
}

/**
 * Checks `slots` against `rules`: the first failure with its KRPC code, or undefined. Keys a `dropInvalid` rule
 * rejects are cleared from `slots` (read as absent) on the way.
 */
export function firstFailure(slots: Slots, rules: readonly KeyRule[]): RuleFailure | undefined {
  for (const rule of rules) {
    const bit = 1 << rule.field
    const name = FIELDS[rule.field].name
    if ((slots.present & bit) === 0) {
      if (rule.check) {
        const msg = rule.check(undefined, slots)
        if (msg) return { reason: msg, code: rule.code ?? 203 }
      }
      if (!rule.optional) return { reason: `missing '${name}' key`, code: 203 }
      continue
    }
    const v = slots.v[rule.field]
    let invalid = (slots.bad & bit) !== 0
    if (!invalid && rule.size !== undefined && (v as Uint8Array).length !== rule.size) invalid = true
    if (!invalid && rule.multipleOf !== undefined && (v as Uint8Array).length % rule.multipleOf !== 0) invalid = true
    const msg = invalid ? `invalid value for '${name}'` : rule.check?.(v, slots)
    if (msg === undefined) continue
    if (rule.dropInvalid) {
      slots.present &= ~bit
      slots.bad &= ~bit
      slots.v[rule.field] = undefined
      continue
    }
    return { reason: msg, code: invalid ? 203 : (rule.code ?? 203) }
  }
  return undefined
}
