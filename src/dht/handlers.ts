// The built-in query methods (BEP 5, 32, 42, 43): ping, find_node, get_peers, announce_peer, registered with the
// query server (query-server.ts) like any other method. Each reply carries the
// requester's address as top-level `ip` (BEP 42), at most K nodes per family, and stays under 1,024 bytes: the
// number of `values` is fitted to the room left.
import { isValidNodeIdForIp } from '../codec/bep42.js'
import { encodeNodes } from '../codec/compact.js'
import {
  buildErrorReply,
  buildFindNodeReply,
  buildGetPeersReply,
  buildPingReply,
  type KrpcOptions,
} from '../codec/krpc-build.js'
import type { GetPeersArgs, KrpcQuery } from '../codec/krpc-types.js'
import type { Endpoint } from '../net/types.js'
import type { PeerStore } from './peer-store.js'
import type { PacketHandler, ServerContext } from './query-server.js'
import type { RoutingTable } from './routing-table.js'
import { scrapeFields } from './storage-handlers.js'
import { copyBytes } from './table-node.js'
import type { TokenManager } from './tokens.js'

/** BEP 32: keep every datagram we send below this many bytes. */
export const MAX_PACKET = 1024
/** Longest transaction id we echo; longer ones are dropped (rakshasa/libtorrent caps at 20 too). */
export const MAX_TID = 20

export type BuiltinMethod = 'ping' | 'find_node' | 'get_peers' | 'announce_peer'
export const BUILTIN_METHODS: readonly BuiltinMethod[] = ['ping', 'find_node', 'get_peers', 'announce_peer']

export interface ServeContext {
  readonly id: Uint8Array
  readonly k: number
  readonly tables: { readonly 4: RoutingTable; readonly 6: RoutingTable }
  readonly tokens: TokenManager
  readonly store: PeerStore
  readonly preferBep42ForStorage: boolean
  /** The `v` every message carries. */
  readonly version: Uint8Array
  /** An announce we stored. */
  onAnnounce(peer: Endpoint, infoHash: Uint8Array): void
  /** Counts a reason for not storing or not answering. */
  drop(reason: string): void
}

function opts(ctx: { readonly version: Uint8Array }, from: Endpoint, nodes6?: Uint8Array): KrpcOptions {
  return nodes6 === undefined ? { v: ctx.version, ip: from } : { v: ctx.version, ip: from, nodes6 }
}

/** A KRPC error reply, with `ip` (BEP 42) as libtorrent sends it. */
export function errorPacket(
  ctx: { readonly version: Uint8Array },
  t: Uint8Array,
  from: Endpoint,
  code: number,
  text: string,
): Uint8Array {
  return buildErrorReply(t, [code, text], opts(ctx, from))
}

/**
 * The BEP 5 methods as one packet handler of the query server (registered under each name): each answers a
 * well-formed query with a whole packet from the codec's specialised builders, or undefined to stay silent.
 */
export class BuiltinMethods implements PacketHandler {
  constructor(private readonly ctx: ServeContext) {}

  answer(msg: KrpcQuery, from: Endpoint): Uint8Array | undefined {
    const ctx = this.ctx
    const t = msg.t
    if (!msg.known) return undefined
    switch (msg.q) {
      case 'ping':
        return buildPingReply(t, ctx.id, opts(ctx, from))
      case 'find_node': {
        const n = nodesFor(ctx, msg.a.target, msg.a.want, from)
        return buildFindNodeReply(t, ctx.id, n.nodes, opts(ctx, from, n.nodes6))
      }
      case 'get_peers':
        return getPeers(ctx, t, from, msg.a)
      case 'announce_peer': {
        const a = msg.a
        if (!ctx.tokens.check(a.token, from.host, a.info_hash)) {
          ctx.drop('bad_token')
          return errorPacket(ctx, t, from, 203, 'invalid token')
        }
        const port = a.implied_port ? from.port : a.port
        if (!Number.isInteger(port) || port < 1 || port > 65535) return errorPacket(ctx, t, from, 203, 'invalid port')
        const peer = { host: from.host, port }
        if (ctx.preferBep42ForStorage && !isValidNodeIdForIp(a.id, from.host)) {
          ctx.drop('bep42_storage')
        } else if (ctx.store.add(a.info_hash, peer, a.seed === 1)) {
          ctx.onAnnounce(peer, copyBytes(a.info_hash))
        } else {
          ctx.drop('store_full')
        }
        return buildPingReply(t, ctx.id, opts(ctx, from))
      }
      default:
        return undefined
    }
  }
}

/**
 * `nodes` and/or `nodes6` as `want` asks (BEP 32), each from that family's table: with no `want`, the key of the
 * family the query came in on.
 */
export function nodesFor(
  ctx: Pick<ServeContext, 'k' | 'tables'>,
  target: Uint8Array,
  want: readonly string[] | undefined,
  from: Endpoint,
): { nodes?: Uint8Array; nodes6?: Uint8Array } {
  const family = from.host.includes(':') ? 6 : 4
  let n4 = family === 4
  let n6 = family === 6
  if (want && want.length > 0) {
    const w4 = want.includes('n4')
    const w6 = want.includes('n6')
    // Unknown strings only: answer as if there were no `want`.
    if (w4 || w6) {
      n4 = w4
      n6 = w6
    }
  }
  const out: { nodes?: Uint8Array; nodes6?: Uint8Array } = {}
  // The requester's family's key is always there (some clients expect it); the other's only when we know any.
  if (n4) {
    const b = encodeNodes(ctx.tables[4].closest(target, ctx.k), 4)
    if (b.length > 0 || family === 4) out.nodes = b
  }
  if (n6) {
    const b = encodeNodes(ctx.tables[6].closest(target, ctx.k), 6)
    if (b.length > 0 || family === 6) out.nodes6 = b
  }
  return out
}

function getPeers(ctx: ServeContext, t: Uint8Array, from: Endpoint, a: GetPeersArgs): Uint8Array {
  const infoHash = a.info_hash
  const n = nodesFor(ctx, infoHash, a.want, from)
  const token = ctx.tokens.issue(from.host, infoHash)
  // BEP 33: `scrape: 1` adds the seeds' and downloaders' bloom filters (less room for values).
  const o: KrpcOptions = { ...opts(ctx, from, n.nodes6), ...scrapeFields(ctx.store, a) }
  const base = buildGetPeersReply(t, ctx.id, undefined, n.nodes, token, o)
  const family = from.host.includes(':') ? 6 : 4
  // Room left for `6:values` + `l…e` and entries of 8 (v4: "6:" + 6) or 21 (v6: "18:" + 18) bytes.
  const room = MAX_PACKET - 1 - base.length - 10
  const max = Math.floor(room / (family === 4 ? 8 : 21))
  const peers = ctx.store.get(infoHash, family, max, { noseed: a.noseed === 1 })
  if (peers.length === 0) return base
  return buildGetPeersReply(t, ctx.id, peers, n.nodes, token, o)
}

/** What user and storage handlers get to fill their replies (the query server's `ServerContext`). */
export class ServeTools implements ServerContext {
  constructor(private readonly ctx: Pick<ServeContext, 'id' | 'k' | 'tables' | 'tokens'>) {}

  get id(): Uint8Array {
    return this.ctx.id
  }

  issueToken(from: Endpoint, target: Uint8Array): Uint8Array {
    return this.ctx.tokens.issue(from.host, target)
  }

  checkToken(token: Uint8Array, from: Endpoint, target: Uint8Array): boolean {
    return this.ctx.tokens.check(token, from.host, target)
  }

  closestCompact(
    target: Uint8Array,
    want: readonly string[] | undefined,
    from: Endpoint,
  ): { nodes?: Uint8Array; nodes6?: Uint8Array } {
    return nodesFor(this.ctx, target, want, from)
  }
}
