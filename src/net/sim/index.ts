// The in-memory network with virtual time: see docs/net.md.
export { SIM_IPV4_HOSTS, simIPv4, simIPv6 } from './addresses.js'
export { type RunUntilOptions, SimError, type SimEvent, VirtualClock, type VirtualClockOptions } from './clock.js'
export { type Conditions, DEFAULT_CONDITIONS, type LinkConditions } from './conditions.js'
export { type NatFiltering, type NatMapping, type NatOptions, NatRouter, type NatStats, type NatType } from './nat.js'
export type { NatTcpStats } from './nat-tcp.js'
export {
  type DropReason,
  SimNetwork,
  type SimNetworkOptions,
  type SimNetworkStats,
  type SimTrace,
} from './network.js'
export { SeededRandom } from './random.js'
export { Realm, SimHost } from './realm.js'
export { SimSocket, type SimSocketStats } from './socket.js'
export { SimTcp, type SimTcpOptions, type SimTcpStats } from './tcp.js'
export type { SimTcpNetworkStats, TcpDropReason } from './tcp-route.js'
export { SimTcpSocket } from './tcp-socket.js'
