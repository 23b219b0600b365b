// What a SwarmNode is given (options) and what it tells (events): the types only, apart from the class in node.ts.
import type { DHTOptions } from '../dht/options.js'
import type { Clock, DatagramSocket, Endpoint, Random, StreamNetwork } from '../net/types.js'
import type { UtpSocketManagerOptions } from '../utp/socket-manager.js'
import type { WireError } from '../wire/errors.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import type { HandshakeAdmissionOptions } from './admission.js'
import type { BirthdayOptions, BirthdayRole, BirthdayStats } from './birthday.js'
import type { ConnectLimiterOptions } from './connect-limiter.js'
import type { HolepunchFailure, HolepunchSuccess, InitiatorOptions } from './initiator.js'
import type { MetadataEvents } from './metadata.js'
import type { NodeDialerOptions } from './node-dialer.js'
import type { PortMapEvents, PortMapperOptions } from './node-portmap.js'
import type { Reachability } from './reachability.js'
import type { SwarmOptions } from './swarm.js'

export interface SwarmNodeOptions {
  /** Run on this UDP socket (net/sim); it is closed by `close()`. Default: bind a `UdpSocket` on host:port. */
  socket?: DatagramSocket
  /**
   * Bind address. Default '0.0.0.0'. `'::'` takes IPv4 and IPv6 on one port (UDP and TCP alike); the DHT then
   * runs on IPv6 (BEP 32's IPv6 DHT) and ignores IPv4 datagrams.
   */
  host?: string
  /** The port, UDP and TCP. Default 0 (UDP picks, TCP takes the same number). */
  port?: number
  /** Listen and dial over TCP too. Default true (false when `socket` is given without `streams`). */
  tcp?: boolean
  /** The TCP stack. Default `realTcp` (node:net); `SimNetwork.tcp(ip)` runs TCP in a simulated world. */
  streams?: StreamNetwork
  /** Our peer id, for every torrent. Default "-ML0100-" and 12 random bytes. */
  peerId?: Uint8Array
  /** Default `realClock`. */
  clock?: Clock
  /** Default `cryptoRandom`. */
  random?: Random
  /** DHT options (bootstrap…), or false for no DHT. Default: a DHT with no bootstrap nodes. */
  dht?: false | Omit<DHTOptions, 'socket' | 'clock' | 'random' | 'host' | 'port'>
  /** uTP options. */
  utp?: UtpSocketManagerOptions
  /** Dial timeouts. Default 3 s for uTP, then 3 s for TCP. */
  dial?: Omit<NodeDialerOptions, 'localAddress' | 'network'>
  /** Holepunch timing (punch timeout 5 s, relay answer 10 s, SYN re-send schedule). */
  holepunch?: InitiatorOptions
  /** Limits on relays' `connect` (5 per relay and 20 overall per 10 s, 8 punches in flight). */
  connectLimits?: ConnectLimiterOptions
  /** Defaults for each torrent's swarm (connection limits, PEX, relay limits…). `autoDial` defaults to true. */
  swarm?: Omit<SwarmOptions, 'infoHash' | 'peerId' | 'host' | 'port' | 'dialer' | 'clock' | 'random'>
  /**
   * Incoming streams of one transport (uTP and TCP each) waiting for their handshake at once. When full, a newcomer
   * evicts the oldest stream of the source prefix that holds the most (see admission.ts). Default 64.
   */
  maxPendingIncoming?: number
  /** How long an incoming stream may take to send its handshake, ms. Default 10 s. */
  incomingHandshakeTimeout?: number
  /** Incoming streams from one IP waiting for their handshake at once; more are refused. Default 8. */
  maxPendingIncomingPerIp?: number
  /** The rest of the admission policy: the shorter timeout under pressure (2 s from half full). */
  admission?: Pick<HandshakeAdmissionOptions, 'pressureTimeout' | 'pressureAt'>
  /** Router port mapping (docs/portmap.md). Default: on for real sockets not bound to loopback, else off. */
  portmap?: boolean | PortMapperOptions
  /**
   * Hole punching through one symmetric NAT (birthday.ts), or false for plain punches only. `bindSocket` binds the
   * random side's extra sockets (default: UDP on `host`, any port; none when `socket` is given).
   */
  birthday?: false | (BirthdayOptions & { bindSocket?: () => Promise<DatagramSocket> })
}

export type SwarmNodeEvents = {
  listening: [endpoint: Endpoint]
  connected: [conn: PeerConnection, infoHash: Uint8Array]
  disconnected: [conn: PeerConnection, reason: WireError, infoHash: Uint8Array]
  /** A direct dial (uTP, then TCP) to a peer failed; holepunch may follow. */
  dial_failed: [peer: Endpoint, infoHash: Uint8Array]
  /** A peer learnt from the DHT or PEX. */
  peer: [peer: Endpoint, infoHash: Uint8Array, source: 'dht' | 'pex']
  hp_rendezvous_sent: [relay: PeerConnection, target: Endpoint, infoHash: Uint8Array]
  hp_punching: [relay: PeerConnection, target: Endpoint, infoHash: Uint8Array]
  hp_ignored: [relay: PeerConnection, target: Endpoint, reason: string, infoHash: Uint8Array]
  hp_connected: [result: HolepunchSuccess, infoHash: Uint8Array]
  hp_failed: [target: Endpoint, reason: HolepunchFailure, infoHash: Uint8Array]
  hp_birthday: [target: Endpoint, role: BirthdayRole, stats: BirthdayStats, ok: boolean, infoHash: Uint8Array]
  /** Our NAT mapping kind or external endpoint changed (see `reachability`). */
  reachability: [r: Reachability]
  warning: [err: Error]
} & PortMapEvents &
  MetadataEvents
