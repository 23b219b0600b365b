// The DHT node's public types: its options (each with its default), stats, events and node records.
import type { DatagramBinder } from '../net/bind.js'
import type { Resolver } from '../net/resolve.js'
import type { Clock, DatagramSocket, Endpoint, Random } from '../net/types.js'
import type { StateStorage } from './state.js'

export interface DHTOptions {
  /** Run on this socket (net/sim, or one side of the UDP multiplexer); it is not closed by destroy(). Default: listen() binds UDP. */
  socket?: DatagramSocket
  /**
   * BEP 32 dual stack on given sockets: an IPv6 socket next to an IPv4 `socket` (not closed by destroy()). The node
   * keeps one routing table per family and looks up in both. Default none.
   */
  socket6?: DatagramSocket
  /** Bind address for listen(). Default '0.0.0.0' ('::' for family 6). */
  host?: string
  /** Bind port for listen(). Default 0 (ephemeral). */
  port?: number
  /**
   * Address family of the socket listen() binds. 'dual' binds two sockets, IPv4 on `host` and IPv6 on `host6`, on
   * the same port when it is free on both (BEP 32). Default 4.
   */
  family?: 4 | 6 | 'dual'
  /** IPv6 bind address for listen() with family 'dual'. Default '::'. */
  host6?: string
  /**
   * SO_RCVBUF / SO_SNDBUF request for sockets listen() binds. A DHT's datagrams are small and few: the 4 MiB a bulk
   * transfer socket asks for would only pin kernel memory per node. Default 256 KiB.
   */
  socketBufferSize?: number
  /**
   * How listen() binds its socket(s) when none is given (an edge, like the socket itself). Default: a `UdpSocket`
   * over node:dgram.
   */
  bind?: DatagramBinder
  /** Bootstrap nodes: 'host:port' ('[v6]:port') strings, names (resolved with `resolve`), or endpoints. Default []. */
  bootstrap?: ReadonlyArray<string | Endpoint>
  /** Resolves bootstrap names to addresses. Default: the system resolver (`dns.lookup`, net/resolve.ts). */
  resolve?: Resolver
  /** Our node id (kept even if BEP 42 disagrees). Default: from the state file, else random; a random id is
   * replaced by a BEP 42 compliant one once our external IP is known. */
  id?: Uint8Array
  /** Default realClock. */
  clock?: Clock
  /** Default cryptoRandom. */
  random?: Random
  /** BEP 43 read-only node: sends `ro: 1`, answers no queries, is tabled by nobody. Default false. */
  readOnly?: boolean
  /**
   * Where the node id and routing table are kept between runs: a file path (a regular file, or one to create), or a
   * `StateStorage`. Loaded by listen() (which rejects when the storage cannot work: a directory, FIFO or device,
   * an unwritable directory), saved every 10 minutes and by destroy(). Default none.
   */
  state?: string | StateStorage
  /** Bucket size and lookup width. Default 8. */
  k?: number
  /** Lookup concurrency (slow queries excepted). Default 4. */
  alpha?: number
  /** IP diversity in the routing table (one node per IP, per /24 or /64 in a bucket; LAN/loopback exempt). Default true. */
  restrictIps?: boolean
  /**
   * Lookup diversity (libtorrent's `dht_restrict_search_ips`): a lookup keeps at most one candidate per /24 (IPv4)
   * or /64 (IPv6), so one network cannot fill a lookup's closest set with made-up ids. Loopback, private and
   * link-local addresses are exempt, and so is our own /24 (/64) by our voted external address. Default true.
   */
  restrictSearchIps?: boolean
  /** Store announces only from nodes whose id passes BEP 42 for their IP. Default false (as libtorrent). */
  preferBep42ForStorage?: boolean
  /** The `v` we send (4 bytes). Default 'ML' + 0x00 0x01. */
  version?: Uint8Array
  /** Per-source rate limit (loopback sources are limited per IP:port, others per IP). Default 50/s, ban 300 s. */
  rateLimit?: { perIpPerSecond: number; banSeconds: number; burst?: number }
  /** A query counts as slow (its lookup slot is freed) after this. Default 1000 ms. */
  slowQueryMs?: number
  /** A query fails after this. Default 5000 ms. */
  queryTimeoutMs?: number
  /** Resends of an unanswered query in the same transaction (from the short timeout on). Default 1. */
  queryRetries?: number
  /** Transactions in flight at most. Default 2048. */
  maxPending?: number
  /**
   * Peer store caps. Defaults: 200 per info hash, 2,000 info hashes, 20,000 peers, 30 min lifetime; per network
   * (/24, /64) maxPeers / 16, per address a quarter of that. A full store takes room only from the network holding
   * the most (see docs/security.md).
   */
  peerStore?: {
    maxPerHash?: number
    maxHashes?: number
    maxPeers?: number
    ttlMs?: number
    maxPerPrefix?: number
    maxPerAddress?: number
  }
  /**
   * BEP 44 / 51 storage: item store caps (defaults 1,000 items, 2 MiB, 50 per address, maxItems / 8 per network,
   * 2 h lifetime), the BEP 51 `interval` we tell indexers (seconds, default 21600) and how often items we put are
   * put again (default 1 hour, as BEP 44 asks).
   */
  storage?: {
    items?: { maxItems?: number; maxBytes?: number; maxPerIp?: number; maxPerPrefix?: number; ttlMs?: number }
    sampleIntervalSeconds?: number
    republishMs?: number
  }
}

export interface DHTNode {
  id: Uint8Array
  host: string
  port: number
}

export interface DHTStats {
  id: string
  nodes: { v4: number; v6: number }
  buckets: number
  queriesIn: Record<string, number>
  queriesOut: Record<string, number>
  repliesIn: number
  errorsIn: number
  timeouts: number
  packetsIn: number
  packetsOut: number
  bytesIn: number
  bytesOut: number
  drops: Record<string, number>
  peersStored: number
  infoHashesStored: number
  /** BEP 44 items stored for others, and the bytes they are charged. */
  itemsStored: number
  itemBytes: number
  pendingQueries: number
  rateLimiterEntries: number
  bans: number
  externalIp: string | undefined
}

export interface DHTEvents {
  ready: []
  peer: [peer: Endpoint, infoHash: Uint8Array, from: Endpoint]
  node: [node: DHTNode]
  announce: [peer: Endpoint, infoHash: Uint8Array]
  /** A reply's BEP 42 `ip`: `reporter` (the endpoint we queried) sees us at `seen` (NAT classification uses it). */
  external_report: [seen: Endpoint, reporter: Endpoint]
  warning: [err: Error]
  // biome-ignore lint/suspicious/noExplicitAny: the index signature every event map needs
  [event: string]: any[]
}
