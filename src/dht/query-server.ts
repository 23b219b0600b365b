// Serving queries: a registry of methods. The built-in BEP 5 methods (handlers.ts) are registered here like any
// other; BEP 44/51 and user methods (`DHT.handle`) add theirs. A query whose method has no handler gets 204, as
// before. The server owns the reply envelope (`t`, `y`, our `id`, `v`, BEP 42 `ip`): a handler returns only the
// body of `r`, a KRPC error, or nothing (silence).
import { buildErrorReply, buildReply } from '../codec/krpc-build.js'
import type { ParseKrpcOptions } from '../codec/krpc-parse.js'
import { type KrpcQuery, STORAGE_METHODS } from '../codec/krpc-types.js'
import type { Endpoint } from '../net/types.js'
import { countDrop, type DHTCounters } from './counters.js'
import { DHTError } from './errors.js'

/** One query as a handler sees it. */
export interface IncomingQuery {
  /** The `q` value. */
  method: string
  /** The decoded `a` dict (byte strings as Uint8Array, integers as number or bigint, lists, dicts). */
  args: Readonly<Record<string, unknown>>
  /** The typed parse (BEP 44/51 methods are typed once one of them has a handler). */
  message: KrpcQuery
  tid: Uint8Array
  from: Endpoint
  /** BEP 43: the querier is read-only. */
  readOnly: boolean
}

/** A KRPC error to answer with (`e: [krpcCode, text]`); return it (or throw it) from a handler. */
export class KrpcHandlerError extends Error {
  override readonly name = 'KrpcHandlerError'
  constructor(
    readonly krpcCode: number,
    readonly text: string,
  ) {
    super(`${krpcCode} ${text}`)
  }
}

/** The body of the reply's `r` WITHOUT `id` (the server adds it), a KRPC error, or undefined to stay silent. */
export type QueryHandlerResult = Record<string, unknown> | KrpcHandlerError | undefined

/** What a handler may use to fill its reply. */
export interface ServerContext {
  /** Our node id. */
  readonly id: Uint8Array
  /** A write token for `from` about `target` (get_peers / BEP 44 get); valid for 5 to 10 minutes. */
  issueToken(from: Endpoint, target: Uint8Array): Uint8Array
  /** True when `token` was issued to `from`'s address for `target`. */
  checkToken(token: Uint8Array, from: Endpoint, target: Uint8Array): boolean
  /**
   * The compact `nodes` / `nodes6` of our K closest to `target`, as BEP 32 `want` asks (with no `want`: the
   * family the query came in on).
   */
  closestCompact(
    target: Uint8Array,
    want: readonly string[] | undefined,
    from: Endpoint,
  ): { nodes?: Uint8Array; nodes6?: Uint8Array }
}

export type QueryHandler = (query: IncomingQuery, ctx: ServerContext) => QueryHandlerResult

/**
 * A handler that answers with a whole packet (the built-ins: their codec builders write the reply directly and fit
 * `values` into 1,024 bytes), or undefined to stay silent.
 */
export interface PacketHandler {
  answer(msg: KrpcQuery, from: Endpoint): Uint8Array | undefined
}

type Entry = { packet: PacketHandler; reply?: undefined } | { packet?: undefined; reply: QueryHandler }

export interface QueryServerOptions {
  context: ServerContext
  /** The `v` every message carries. */
  version: Uint8Array
  counters: DHTCounters
  /** A handler's bug (a throw other than KrpcHandlerError, an unencodable reply): reported, answered 202. */
  warn: (err: Error) => void
}

export class QueryServer {
  private readonly handlers = new Map<string, Entry>()
  private parse: ParseKrpcOptions = {}

  constructor(private readonly opts: QueryServerOptions) {}

  /** Answers `method` with `fn`. A method has one handler: registering a taken name throws. */
  register(method: string, fn: QueryHandler): void {
    this.add(method, { reply: fn })
  }

  /** Answers `method` with whole packets (the built-ins). */
  registerPacket(method: string, fn: PacketHandler): void {
    this.add(method, { packet: fn })
  }

  /** Removes `method`'s handler (queries for it are then answered 204). */
  unregister(method: string): void {
    this.handlers.delete(method)
    this.updateParse()
  }

  has(method: string): boolean {
    return this.handlers.has(method)
  }

  /** How the receive path parses: BEP 44/51 queries typed (and validated) once one of them has a handler. */
  get parseOptions(): ParseKrpcOptions {
    return this.parse
  }

  private add(method: string, entry: Entry): void {
    if (typeof method !== 'string' || method.length === 0) throw new DHTError('BAD_ARGUMENT', 'empty method name')
    if (this.handlers.has(method)) throw new DHTError('BAD_ARGUMENT', `method ${method} already has a handler`)
    this.handlers.set(method, entry)
    this.updateParse()
  }

  private updateParse(): void {
    this.parse = STORAGE_METHODS.some((m) => this.handlers.has(m)) ? { allMethods: true } : {}
  }

  /** The packet answering a well-formed query (counted by method), or undefined to stay silent. */
  serve(msg: KrpcQuery, from: Endpoint): Uint8Array | undefined {
    const entry = this.handlers.get(msg.q)
    // Registered methods by name; anything else under one key (a peer chooses `q`: it must not grow our maps).
    const name = entry ? msg.q : 'unknown'
    const c = this.opts.counters.queriesIn
    c[name] = (c[name] ?? 0) + 1
    if (!entry) return this.errorPacket(msg.t, from, 204, 'Method Unknown')
    if (entry.packet) return entry.packet.answer(msg, from)
    return this.reply(entry.reply, msg, from)
  }

  private reply(fn: QueryHandler, msg: KrpcQuery, from: Endpoint): Uint8Array | undefined {
    const query: IncomingQuery = {
      method: msg.q,
      args: msg.a,
      message: msg,
      tid: msg.t,
      from,
      readOnly: msg.ro === true,
    }
    let out: QueryHandlerResult
    try {
      out = fn(query, this.opts.context)
      if (out === undefined) return undefined
      if (out instanceof KrpcHandlerError) return this.errorPacket(msg.t, from, out.krpcCode, out.text)
      // biome-ignore lint/suspicious/noExplicitAny: the encoder checks every value (a bad one throws, caught below)
      const r: any = { ...out, id: this.opts.context.id }
      return buildReply(msg.t, r, { v: this.opts.version, ip: from })
    } catch (err) {
      if (err instanceof KrpcHandlerError) return this.errorPacket(msg.t, from, err.krpcCode, err.text)
      countDrop(this.opts.counters, 'handler_error')
      this.opts.warn(err instanceof Error ? err : new Error(String(err)))
      return this.errorPacket(msg.t, from, 202, 'Server Error')
    }
  }

  /** A KRPC error reply, with `ip` (BEP 42) as libtorrent sends it. */
  errorPacket(t: Uint8Array, from: Endpoint, code: number, text: string): Uint8Array {
    return buildErrorReply(t, [code, text], { v: this.opts.version, ip: from })
  }
}
