// The declarative part of KRPC validation (in the spirit of libtorrent's `key_desc_t` tables): which argument and
// reply keys we know, the bencode type each must have, and per message which are required and what size they
// must be. The scanner (krpc-scan.ts) fills one slot per known key; `checkRules` walks a rule list and produces
// the first failure as libtorrent's 203 text.
import type { KrpcMethod } from './krpc-types.js'

/** The bencode type the scanner expects for a known key. */
export const Kind = {
  Bytes: 0,
  Int: 1,
  /** A list of byte strings read as compact peers (6 or 18 bytes each; others skipped). */
  Peers: 2,
  /** Any list (decoded generically). */
  List: 3,
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
}

function announcePort(value: unknown, slots: Slots): string | undefined {
  const implied = (slots.present & (1 << F_IMPLIED_PORT)) !== 0 && slots.v[F_IMPLIED_PORT] !== 0
  if (value === undefined) return implied ? undefined : "missing 'port' key"
  const port = value as number
  if (port < (implied ? 0 : 1) || port > 65535) return 'invalid port'
  return undefined
}

const ID: KeyRule = { field: F_ID, size: 20 }
const WANT: KeyRule = { field: F_WANT, optional: true }

/** Rules for the `a` of each known query, in the order libtorrent checks them. */
export const QUERY_RULES: Readonly<Record<KrpcMethod, readonly KeyRule[]>> = {
  ping: [ID],
  find_node: [ID, { field: F_TARGET, size: 20 }, WANT],
  get_peers: [ID, { field: F_INFO_HASH, size: 20 }, WANT],
  announce_peer: [
    ID,
    { field: F_INFO_HASH, size: 20 },
    { field: F_IMPLIED_PORT, optional: true },
    { field: F_PORT, optional: true, check: announcePort },
    { field: F_TOKEN },
  ],
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
}
export const REPLY_MASK = maskOf(REPLY_RULES)

/** Checks `slots` against `rules`; returns libtorrent's text for the first failure, or undefined. */
export function checkRules(slots: Slots, rules: readonly KeyRule[]): string | undefined {
  for (const rule of rules) {
    const bit = 1 << rule.field
    const name = FIELDS[rule.field].name
    if ((slots.present & bit) === 0) {
      if (rule.check) {
        const msg = rule.check(undefined, slots)
        if (msg) return msg
      }
      if (!rule.optional) return `missing '${name}' key`
      continue
    }
    if ((slots.bad & bit) !== 0) return `invalid value for '${name}'`
    const v = slots.v[rule.field]
    if (rule.size !== undefined && (v as Uint8Array).length !== rule.size) return `invalid value for '${name}'`
    if (rule.multipleOf !== undefined && (v as Uint8Array).length % rule.multipleOf !== 0) {
      return `invalid value for '${name}'`
    }
    if (rule.check) {
      const msg = rule.check(v, slots)
      if (msg) return msg
    }
  }
  return undefined
}
