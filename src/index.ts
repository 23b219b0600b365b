/**
 * `mainline`: what an application builds with — the DHT node, the swarm (peer wire, PEX, holepunch), uTP, the UDP
 * socket and multiplexer, their errors, events and options. Wire formats are in `mainline/codec`; the simulated
 * network is in `mainline/sim`. Anything not exported here is internal and may change in any release; the surface
 * is snapshotted in test/fixtures/api/ (`npm run api:update` after a deliberate change).
 * @packageDocumentation
 */

// Errors a caller may catch, each with a `code`.
export { CodecError, type CodecErrorCode } from './codec/errors.js'
// The DHT node (BEP 5, 32, 42, 43).
export {
  type AnnounceResult,
  type CrawlOptions,
  DHT,
  DHTError,
  type DHTErrorCode,
  type DHTEvents,
  type DHTNode,
  type DHTOptions,
  type DHTState,
  type DHTStats,
  type GetMutableOptions,
  generateKeypair,
  type ImmutableGetResult,
  type IncomingQuery,
  type Keypair,
  KrpcHandlerError,
  type LocalKeypair,
  type LookupResult,
  type MutableGetResult,
  type MutableItemResult,
  PUBLIC_BOOTSTRAP,
  type PutMutableOptions,
  type PutOptions,
  type PutResult,
  type QueryHandler,
  type QueryHandlerResult,
  type QueryResponse,
  type SampleResult,
  type SavedNode,
  type ServerContext,
  type Signer,
  type StateStorage,
  StorageConflictError,
} from './dht/index.js'
// The edges protocol code takes, with their real implementations.
export type { DatagramBinder } from './net/bind.js'
export { cryptoRandom, realClock } from './net/clock.js'
export { NetError, type NetErrorCode } from './net/errors.js'
export { type MuxChannel, type MuxStats, UdpMux } from './net/mux.js'
export { PortMapError, type PortMapErrorCode, type PortMapProtocol } from './net/portmap/errors.js'
export type { Resolver } from './net/resolve.js'
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
export { type UdpBindOptions, UdpSocket, type UdpStats } from './net/udp.js'
// The swarm: one torrent's peers (Swarm), or a whole node with DHT, uTP, TCP and holepunch (SwarmNode).
export type { BirthdayOptions, BirthdayRole, BirthdayStats } from './swarm/birthday.js'
export type { ConnectLimiterOptions } from './swarm/connect-limiter.js'
export { type DialedStream, type Dialer, TcpDialer, type TcpDialerOptions } from './swarm/dialer.js'
export {
  HolepunchFailedError,
  type HolepunchFailure,
  type HolepunchSuccess,
  type Initiator,
  type InitiatorEvents,
  type InitiatorOptions,
} from './swarm/initiator.js'
export {
  type MetadataDropReason,
  MetadataError,
  type MetadataErrorCode,
  type MetadataEvents,
  type MetadataOptions,
  type MetadataPeerSource,
  type MetadataResult,
  type MetadataTransport,
} from './swarm/metadata.js'
export { SwarmNode, type SwarmNodeEvents, type SwarmNodeOptions } from './swarm/node.js'
export type { NodeDialerOptions } from './swarm/node-dialer.js'
export type { PortMapFailure, PortMapperOptions, PortMapping, PortMappingState } from './swarm/node-portmap.js'
export type { PunchOptions } from './swarm/punch.js'
export type { MappingKind, Reachability } from './swarm/reachability.js'
export type { Relay, RelayOptions } from './swarm/relay.js'
export { Swarm, type SwarmEvents, type SwarmOptions } from './swarm/swarm.js'
export { acceptUtp, bindUtpPort, UtpDialer, type UtpDialerOptions, type UtpPort } from './swarm/utp.js'
// .torrent files: infohashes of a metainfo's info bytes, and making a torrent from files on disk.
export {
  type CreatedTorrent,
  type CreateProgress,
  type CreateTorrentOptions,
  createTorrent,
  TorrentCreateError,
} from './torrent/create.js'
export { type InfoHashes, infoHashes, infoHashV1, infoHashV2 } from './torrent/hash.js'
// uTP (BEP 29).
export type { ConnectionStats, ConnState, UtpConnection } from './utp/connection.js'
export { type UtpConnectionOptions, UtpError, type UtpErrorCode } from './utp/options.js'
export { type UtpManagerStats, UtpSocketManager, type UtpSocketManagerOptions } from './utp/socket-manager.js'
export { UtpStream, type UtpStreamOptions } from './utp/stream.js'
// The peer wire protocol with BEP 10 extensions, PEX (BEP 11) and holepunch (BEP 55).
export { WireError, type WireErrorCode } from './wire/errors.js'
export type { ExtensionRegistry } from './wire/extensions.js'
export type { Holepunch, HolepunchEvents, HolepunchStats } from './wire/holepunch.js'
export {
  type Direction,
  PeerConnection,
  type PeerConnectionEvents,
  type PeerConnectionOptions,
  type Transport,
} from './wire/peer-connection.js'
export type { Pex, PexEvents, PexOptions } from './wire/pex.js'
export type { UtMetadata, UtMetadataEvents, UtMetadataOptions } from './wire/ut-metadata.js'
