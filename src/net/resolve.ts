// Name resolution is an edge like the socket: protocol code takes a `Resolver` (the DHT's bootstrap names), and
// `dnsResolver` over node:dns is the default. Tests and embedders inject their own (no DNS in a simulated world).
import { lookup } from 'node:dns/promises'
import type { AddressFamily } from './types.js'

/** Resolves a host name to one IP literal of `family`; rejects when there is none. */
export type Resolver = (host: string, family: AddressFamily) => Promise<string>

/** The system resolver (getaddrinfo through `dns.lookup`, so /etc/hosts counts as it does for every program). */
export const dnsResolver: Resolver = async (host, family) => (await lookup(host, { family })).address
