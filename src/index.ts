/**
 * `mainline`: BitTorrent's networking layer. Re-exports the pure codec layer plus the networked parts.
 * @packageDocumentation
 */
export * from './codec/index.js'
export { cryptoRandom, realClock } from './net/clock.js'
export type { AddressFamily, Clock, DatagramHandler, DatagramSocket, Endpoint, Random, Timer } from './net/types.js'
