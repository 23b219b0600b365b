// Opening a UDP socket is an edge: a DHT that binds its own socket(s) takes a `DatagramBinder`, with the real
// `UdpSocket` as the default, so that what it binds (and when binding fails) can be swapped in tests and embedders.
import type { DatagramSocket } from './types.js'
import { type UdpBindOptions, UdpSocket } from './udp.js'

/** Binds one datagram socket as `opts` says; rejects (NetError) when it cannot. */
export type DatagramBinder = (opts: UdpBindOptions) => Promise<DatagramSocket>

/** The real one: a `UdpSocket` over node:dgram. */
export const bindUdp: DatagramBinder = (opts) => UdpSocket.bind(opts)
