// parseKrpc: bytes → a typed, validated KRPC message. Lenient where real clients differ (key order, duplicate
// keys, leading zeros, unknown keys, odd `values` entries, a malformed `ip`), strict where the structure is
// broken (bad bencode, trailing bytes, a wrong type or size for a key the message needs).
import type { BValue } from './bencode.js'
import { copyBytes, fromLatin1, latin1, tryUtf8 } from './bytes.js'
import { CodecError } from './errors.js'
import { extraValue, putArgs, STORAGE_REPLY_MASK, storageReply } from './krpc-parse-storage.js'
import { CH_0, CH_9, CH_D, CH_E, CH_I, DictSlots, Scanner } from './krpc-scan.js'
import {
  F_ID,
  F_IMPLIED_PORT,
  F_INFO_HASH,
  F_NODES,
  F_NODES6,
  F_NOSEED,
  F_PORT,
  F_SCRAPE,
  F_SEED,
  F_SEQ,
  F_TARGET,
  F_TOKEN,
  F_VALUES,
  F_WANT,
  FIELDS,
  firstFailure,
  QUERY_MASKS,
  QUERY_RULES,
  REPLY_MASK,
  REPLY_RULES,
  UNKNOWN_QUERY_RULES,
} from './krpc-schema.js'
import type {
  AnnouncePeerArgs,
  FindNodeArgs,
  GetArgs,
  GetPeersArgs,
  KrpcMessage,
  KrpcMethod,
  KrpcQuery,
  ReplyValues,
  SampleInfohashesArgs,
  UnknownArgs,
} from './krpc-types.js'
import { KrpcError } from './krpc-types.js'

export interface ParseKrpcOptions {
  /** Deepest nesting accepted anywhere in the message. Default 16 (libtorrent: 10 for the whole message). */
  maxDepth?: number
  /** Most values in one unknown key's value, and most `values` peers. Default 1024. */
  maxItems?: number
  /**
   * Also type and validate BEP 44 `get`/`put` and BEP 51 `sample_infohashes` queries (`known: true`). Default
   * false: they parse as unknown queries (`known: false`), for a server that answers them 204.
   */
  allMethods?: boolean
}

const scanner = new Scanner()
const A = new DictSlots()
const R = new DictSlots()

// Which top-level keys were seen (a duplicate key keeps its first value).
const T_A = 1
const T_E = 2
const T_IP = 4
const T_Q = 8
const T_R = 16
const T_RO = 32
const T_T = 64
const T_V = 128
const T_Y = 256

/** Sets an extra key without letting "__proto__" reach the prototype; an existing key wins. */
function setExtra(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (Object.hasOwn(obj, key)) return
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}

/** Known slots outside `mask`, and unknown keys, become extra keys of `obj`. */
function addExtras(obj: Record<string, unknown>, slots: DictSlots, mask: number): void {
  const other = slots.present & ~mask
  if (other !== 0) {
    for (let f = 0; f < FIELDS.length; f++) if (other & (1 << f)) setExtra(obj, FIELDS[f].name, extraValue(f, slots))
  }
  if (slots.extras !== null) for (const [k, v] of slots.extras) setExtra(obj, k, v)
}

function wantOf(v: unknown): string[] {
  const out: string[] = []
  for (const x of v as BValue[]) if (x instanceof Uint8Array) out.push(latin1(x))
  return out
}

const M_FIND_NODE = fromLatin1('find_node')
const M_GET_PEERS = fromLatin1('get_peers')
const M_ANNOUNCE_PEER = fromLatin1('announce_peer')
const M_SAMPLE_INFOHASHES = fromLatin1('sample_infohashes')

function same(buf: Uint8Array, s: number, word: Uint8Array): boolean {
  for (let i = 0; i < word.length; i++) if (buf[s + i] !== word[i]) return false
  return true
}

/** The known method `q` spells, compared as bytes (no string is built for the common methods). */
function methodOf(buf: Uint8Array, s: number, n: number): KrpcMethod | undefined {
  const c = buf[s]
  if (n === 4 && c === 0x70 && buf[s + 1] === 0x69 && buf[s + 2] === 0x6e && buf[s + 3] === 0x67) return 'ping'
  if (n === 9) {
    if (c === 0x66 && same(buf, s, M_FIND_NODE)) return 'find_node'
    if (c === 0x67 && same(buf, s, M_GET_PEERS)) return 'get_peers'
  }
  if (n === 13 && c === 0x61 && same(buf, s, M_ANNOUNCE_PEER)) return 'announce_peer'
  return undefined
}

/** BEP 44 and 51 methods. */
function storageMethodOf(buf: Uint8Array, s: number, n: number): KrpcMethod | undefined {
  if (n === 3 && buf[s + 1] === 0x65 && buf[s + 2] === 0x74) return buf[s] === 0x67 ? 'get' : undefined
  if (n === 3 && buf[s] === 0x70 && buf[s + 1] === 0x75 && buf[s + 2] === 0x74) return 'put'
  if (n === 17 && same(buf, s, M_SAMPLE_INFOHASHES)) return 'sample_infohashes'
  return undefined
}

function buildArgs(method: KrpcMethod): KrpcQuery['a'] {
  const v = A.v
  const id = v[F_ID] as Uint8Array
  let a: Record<string, unknown>
  switch (method) {
    case 'ping':
      a = { id }
      break
    case 'find_node': {
      const fn: FindNodeArgs = { id, target: v[F_TARGET] as Uint8Array }
      if (A.present & (1 << F_WANT)) fn.want = wantOf(v[F_WANT])
      a = fn
      break
    }
    case 'get_peers': {
      const gp: GetPeersArgs = { id, info_hash: v[F_INFO_HASH] as Uint8Array }
      if (A.present & (1 << F_WANT)) gp.want = wantOf(v[F_WANT])
      if (A.present & (1 << F_SCRAPE)) gp.scrape = v[F_SCRAPE] as number
      if (A.present & (1 << F_NOSEED)) gp.noseed = v[F_NOSEED] as number
      a = gp
      break
    }
    case 'announce_peer': {
      const ap: AnnouncePeerArgs = {
        id,
        info_hash: v[F_INFO_HASH] as Uint8Array,
        port: (v[F_PORT] as number | undefined) ?? 0,
        token: v[F_TOKEN] as Uint8Array,
      }
      if (A.present & (1 << F_IMPLIED_PORT)) ap.implied_port = v[F_IMPLIED_PORT] !== 0
      if (A.present & (1 << F_SEED)) ap.seed = v[F_SEED] as number
      a = ap
      break
    }
    case 'get': {
      const g: GetArgs = { id, target: v[F_TARGET] as Uint8Array }
      if (A.present & (1 << F_SEQ)) g.seq = v[F_SEQ] as bigint
      if (A.present & (1 << F_WANT)) g.want = wantOf(v[F_WANT])
      a = g
      break
    }
    case 'put':
      a = putArgs(id, v, A.present)
      break
    case 'sample_infohashes': {
      const si: SampleInfohashesArgs = { id, target: v[F_TARGET] as Uint8Array }
      if (A.present & (1 << F_WANT)) si.want = wantOf(v[F_WANT])
      a = si
      break
    }
  }
  if (A.extras !== null || (A.present & ~QUERY_MASKS[method]) !== 0) addExtras(a, A, QUERY_MASKS[method])
  return a as KrpcQuery['a']
}

function buildReply(): ReplyValues {
  const v = R.v
  const p = R.present
  const r: ReplyValues = { id: v[F_ID] as Uint8Array }
  if (p & (1 << F_NODES)) r.nodes = v[F_NODES] as Uint8Array
  if (p & (1 << F_NODES6)) r.nodes6 = v[F_NODES6] as Uint8Array
  if (p & (1 << F_VALUES)) r.values = v[F_VALUES] as Uint8Array[]
  if (p & (1 << F_TOKEN)) r.token = v[F_TOKEN] as Uint8Array
  if (p & STORAGE_REPLY_MASK) storageReply(r, v, p)
  if (R.extras !== null || (p & ~REPLY_MASK) !== 0) addExtras(r, R, REPLY_MASK)
  return r
}

/** A dictionary's slots as a plain dictionary (for unknown queries and misplaced `a`/`r`). */
function slotsObject(slots: DictSlots): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  addExtras(o, slots, 0)
  return o
}

/**
 * Parses one KRPC message. Byte strings in the result are views into `buf`: copy (`.slice()`) what you keep.
 * Throws `KrpcError` (a `CodecError`, `krpcCode` 203) for anything malformed, with `tid`/`isQuery` when known.
 */
export function parseKrpc(buf: Uint8Array, options: ParseKrpcOptions = {}): KrpcMessage {
  const s = scanner
  s.maxDepth = options.maxDepth ?? 16
  s.maxItems = options.maxItems ?? 1024
  A.reset()
  R.reset()
  let seen = 0
  let t: Uint8Array | undefined
  let y = -1 // the byte of a one-byte `y`; -2 when `y` is present but not a one-byte string
  let qs = -1 // offset and length of `q` when it is a byte string
  let qn = -1
  let qBad = false
  let e: BValue | undefined
  let v: Uint8Array | undefined
  let ip: Uint8Array | undefined
  let ro = false
  let aBad = false
  let rBad = false
  let extras: [string, BValue][] | null = null
  try {
    s.start(buf)
    const b = buf
    if (b.length === 0 || b[0] !== CH_D) {
      throw new KrpcError('BAD_TYPE', 'not a dictionary', { offset: 0 })
    }
    s.pos = 1
    for (;;) {
      if (s.pos >= s.end) s.fail('TRUNCATED', 'input ended inside a dictionary')
      const c = b[s.pos]
      if (c === CH_E) {
        s.pos++
        break
      }
      if (c < CH_0 || c > CH_9) s.fail('UNEXPECTED_BYTE', 'dictionary key is not a string')
      const n = s.length()
      const ks = s.pos
      s.pos = ks + n
      if (s.pos >= s.end) s.fail('TRUNCATED', 'input ended where a value was expected')
      const t0 = b[s.pos]
      const isStr = t0 >= CH_0 && t0 <= CH_9
      const k0 = b[ks]
      let key = 0
      if (n === 1) {
        key = k0 === 0x74 ? T_T : k0 === 0x79 ? T_Y : k0 === 0x71 ? T_Q : k0 === 0x61 ? T_A : k0 === 0x72 ? T_R : 0
        if (key === 0) key = k0 === 0x65 ? T_E : k0 === 0x76 ? T_V : 0
      } else if (n === 2) {
        const k1 = b[ks + 1]
        key = k0 === 0x69 && k1 === 0x70 ? T_IP : k0 === 0x72 && k1 === 0x6f ? T_RO : 0
      }
      if (key === 0 || (seen & key) !== 0) {
        const val = s.generic(1)
        if (key === 0) (extras ??= []).push([latin1(b, ks, ks + n), val])
        continue
      }
      seen |= key
      switch (key) {
        case T_T:
          if (isStr) t = s.bytes()
          else s.generic(1)
          break
        case T_Y:
          if (isStr) {
            const yb = s.bytes()
            y = yb.length === 1 ? yb[0] : -2
          } else {
            s.generic(1)
            y = -2
          }
          break
        case T_Q:
          if (isStr) {
            qn = s.length()
            qs = s.pos
            s.pos += qn
          } else {
            s.generic(1)
            qBad = true
          }
          break
        case T_A:
          if (t0 === CH_D) s.dict(A, 1)
          else {
            s.generic(1)
            aBad = true
          }
          break
        case T_R:
          if (t0 === CH_D) s.dict(R, 1)
          else {
            s.generic(1)
            rBad = true
          }
          break
        case T_E:
          e = s.generic(1)
          break
        case T_V:
          if (isStr) v = s.bytes()
          else s.generic(1)
          break
        case T_IP:
          if (isStr) {
            const x = s.bytes()
            if (x.length === 6 || x.length === 18) ip = x
          } else s.generic(1)
          break
        case T_RO:
          if (t0 === CH_I) ro = s.int() !== 0
          else s.generic(1)
          break
      }
    }
    if (s.pos !== s.end) s.fail('TRAILING_BYTES', 'trailing bytes after the message')
  } catch (err) {
    if (err instanceof KrpcError) throw err
    if (err instanceof CodecError) {
      const reason = err.offset >= 0 ? err.message.slice(0, err.message.lastIndexOf(' (at byte ')) : err.message
      throw new KrpcError(err.code, reason, { tid: t, isQuery: y === 0x71, offset: err.offset })
    }
    throw err
  } finally {
    s.release()
  }

  const isQuery = y === 0x71
  if ((seen & T_Y) === 0) throw invalid(t, isQuery, 'MISSING_KEY', "missing 'y' key")
  if (y !== 0x71 && y !== 0x72 && y !== 0x65) throw invalid(t, isQuery, 'BAD_VALUE', "invalid value for 'y'")
  if (t === undefined)
    throw (seen & T_T) === 0
      ? invalid(t, isQuery, 'MISSING_KEY', "missing 't' key")
      : invalid(t, isQuery, 'BAD_TYPE', "invalid value for 't'")

  let msg: Record<string, unknown>
  if (y === 0x71) {
    if ((seen & T_Q) === 0) throw invalid(t, isQuery, 'MISSING_KEY', "missing 'q' key")
    if (qBad) throw invalid(t, isQuery, 'BAD_TYPE', "invalid value for 'q'")
    const method = methodOf(buf, qs, qn) ?? (options.allMethods ? storageMethodOf(buf, qs, qn) : undefined)
    const name = method ?? latin1(buf, qs, qs + qn)
    if ((seen & T_A) === 0) throw invalid(t, isQuery, 'MISSING_KEY', "missing 'a' key", name)
    if (aBad) throw invalid(t, isQuery, 'BAD_TYPE', "invalid value for 'a'", name)
    const fail = firstFailure(A, method ? QUERY_RULES[method] : UNKNOWN_QUERY_RULES)
    if (fail !== undefined) {
      const code = fail.code === 203 ? ruleCode(fail.reason) : 'BAD_LENGTH'
      throw new KrpcError(code, fail.reason, { tid: t, isQuery, method: name, krpcCode: fail.code })
    }
    if (method) msg = { y: 'q', known: true, t, q: method, a: buildArgs(method) }
    else msg = { y: 'q', known: false, t, q: name, a: slotsObject(A) as UnknownArgs }
    if (ro) msg.ro = true
    if (seen & T_R) setExtra(msg, 'r', slotsObject(R))
  } else if (y === 0x72) {
    if ((seen & T_R) === 0) throw invalid(t, isQuery, 'MISSING_KEY', "missing 'r' key")
    if (rBad) throw invalid(t, isQuery, 'BAD_TYPE', "invalid value for 'r'")
    const fail = firstFailure(R, REPLY_RULES)
    if (fail !== undefined) throw invalid(t, isQuery, ruleCode(fail.reason), fail.reason)
    msg = { y: 'r', t, r: buildReply() }
    if (seen & T_A) setExtra(msg, 'a', slotsObject(A))
  } else {
    if ((seen & T_E) === 0) throw invalid(t, isQuery, 'MISSING_KEY', "missing 'e' key")
    const list = e as BValue[]
    if (!Array.isArray(list) || list.length < 2 || typeof list[0] !== 'number' || !(list[1] instanceof Uint8Array)) {
      throw invalid(t, isQuery, 'BAD_VALUE', "invalid value for 'e'")
    }
    msg = { y: 'e', t, e: [list[0], tryUtf8(list[1]) ?? latin1(list[1])] }
    if (seen & T_A) setExtra(msg, 'a', slotsObject(A))
    if (seen & T_R) setExtra(msg, 'r', slotsObject(R))
  }
  if (v !== undefined) msg.v = v
  if (ip !== undefined) msg.ip = ip
  if (seen & T_Q && y !== 0x71 && !qBad) setExtra(msg, 'q', copyBytes(buf, qs, qs + qn))
  if (seen & T_E && y !== 0x65) setExtra(msg, 'e', e)
  if (extras !== null) for (const [k, x] of extras) setExtra(msg, k, x)
  A.reset()
  R.reset()
  return msg as KrpcMessage
}

type InvalidCode = 'MISSING_KEY' | 'BAD_TYPE' | 'BAD_LENGTH' | 'BAD_VALUE'

function invalid(
  tid: Uint8Array | undefined,
  isQuery: boolean,
  code: InvalidCode,
  reason: string,
  method?: string,
): KrpcError {
  return new KrpcError(code, reason, { tid, isQuery, method })
}

function ruleCode(reason: string): 'MISSING_KEY' | 'BAD_VALUE' | 'BAD_LENGTH' {
  if (reason.startsWith('missing')) return 'MISSING_KEY'
  return reason.startsWith('invalid value') ? 'BAD_LENGTH' : 'BAD_VALUE'
}
