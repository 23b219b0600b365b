/**
 * `mainline`: BitTorrent's networking layer. Re-exports the pure codec layer plus the networked parts.
 * @packageDocumentation
 */
export * from './codec/index.js'
export * from './dht/index.js'
export { cryptoRandom, realClock } from './net/clock.js'
export { NetError, type NetErrorCode } from './net/errors.js'
export * from './net/mux.js'
export * from './net/sim/index.js'
export { realTcp, TcpNetwork } from './net/tcp.js'
export type {
  AddressFamily,
  Clock,
  DatagramHandler,
  DatagramSocket,
  Endpoint,
  Random,
  StreamConnectOptions,
  StreamHandler,
  StreamListener,
  StreamListenOptions,
  StreamNetwork,
  StreamSocket,
  Timer,
} from './net/types.js'
export { DEFAULT_SOCKET_BUFFER, type UdpBindOptions, UdpSocket, type UdpStats } from './net/udp.js'
export { ConnectLimiter, type ConnectLimiterOptions } from './swarm/connect-limiter.js'
export { type DialedStream, type Dialer, TcpDialer } from './swarm/dialer.js'
export {
  HolepunchFailedError,
  type HolepunchFailure,
  type HolepunchSuccess,
  Initiator,
  type InitiatorEvents,
  type InitiatorOptions,
} from './swarm/initiator.js'
export { SwarmNode, type SwarmNodeEvents, type SwarmNodeOptions } from './swarm/node.js'
export { NodeDialer, type NodeDialerOptions } from './swarm/node-dialer.js'
export { DEFAULT_RESEND_SCHEDULE, Punch, type PunchOptions, type PunchResult } from './swarm/punch.js'
export { Relay, type RelayOptions } from './swarm/relay.js'
export { Swarm, type SwarmEvents, type SwarmOptions } from './swarm/swarm.js'
export { acceptUtp, bindUtpPort, UtpDialer, type UtpDialerOptions, type UtpPort } from './swarm/utp.js'
export { type ConnectionStats, type ConnState, UtpConnection } from './utp/connection.js'
export { Ledbat, type LedbatOptions } from './utp/ledbat.js'
export { type UtpConnectionOptions, UtpError, type UtpErrorCode } from './utp/options.js'
export { RttEstimator, type RttOptions } from './utp/rtt.js'
export { seqAdd, seqDiff, seqLt, seqLte } from './utp/seq.js'
export { type UtpManagerStats, UtpSocketManager, type UtpSocketManagerOptions } from './utp/socket-manager.js'
export { UtpStream, type UtpStreamOptions } from './utp/stream.js'
export { WireError, type WireErrorCode } from './wire/errors.js'
export { ExtensionRegistry } from './wire/extensions.js'
export { Holepunch, type HolepunchEvents } from './wire/holepunch.js'
export {
  PeerConnection,
  type PeerConnectionEvents,
  type PeerConnectionOptions,
  type Transport,
} from './wire/peer-connection.js'
export { Pex, type PexOptions } from './wire/pex.js'
