/**
 * `mainline/sim`: the in-memory network with virtual time — hosts, links with latency and loss, NAT routers and a
 * seeded random source — that the DHT, uTP and the swarm run over in tests and demos. See docs/net.md.
 * @packageDocumentation
 */
export * from './net/sim/index.js'
