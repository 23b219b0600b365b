// One UDP socket per node, shared by uTP and the DHT (libtorrent `session_impl::on_udp_packet`): each datagram is
// offered to uTP first (a valid 20-byte version-1 header with a sane extension chain), then to the DHT (a bencoded
// dict: 'd' … 'e'). Whatever neither claims is counted and dropped. Each side sees a `DatagramSocket` of its own.
import { isUtpPacket } from '../codec/utp-packet.js'
import type { AddressFamily, DatagramHandler, DatagramSocket, Endpoint } from './types.js'

/** Datagrams routed, by destination. */
export interface MuxStats {
  utp: number
  dht: number
  /** Claimed by neither (or claimed by a channel with no receiver set). */
  unclaimed: number
}

/** One side of a `UdpMux`: sends through the shared socket, receives what the mux routes to it. */
export class MuxChannel implements DatagramSocket {
  readonly family: AddressFamily
  readonly dualStack: boolean
  /** @internal set by the mux */
  receiver: DatagramHandler | null = null
  private readonly mux: UdpMux

  constructor(mux: UdpMux) {
    this.mux = mux
    this.family = mux.socket.family
    this.dualStack = mux.socket.dualStack ?? false
  }

  address(): Endpoint {
    return this.mux.socket.address()
  }

  send(data: Uint8Array, to: Endpoint): void {
    this.mux.socket.send(data, to)
  }

  setReceiver(handler: DatagramHandler | null): void {
    this.receiver = handler
  }

  /** Detaches this channel; the shared socket stays open for the other one (close it with `mux.close()`). */
  async close(): Promise<void> {
    this.receiver = null
  }
}

export class UdpMux {
  readonly socket: DatagramSocket
  /** The uTP side: give it to a `UtpSocketManager`. */
  readonly utp: MuxChannel
  /** The DHT side: give it to a DHT node. */
  readonly dht: MuxChannel
  readonly stats: MuxStats = { utp: 0, dht: 0, unclaimed: 0 }

  constructor(socket: DatagramSocket) {
    this.socket = socket
    this.utp = new MuxChannel(this)
    this.dht = new MuxChannel(this)
    socket.setReceiver((data, from) => this.route(data, from))
  }

  /** Closes the shared socket (both channels stop). */
  async close(): Promise<void> {
    this.utp.receiver = null
    this.dht.receiver = null
    this.socket.setReceiver(null)
    await this.socket.close()
  }

  private route(data: Uint8Array, from: Endpoint): void {
    if (isUtpPacket(data)) {
      const r = this.utp.receiver
      if (r !== null) {
        this.stats.utp++
        r(data, from)
        return
      }
    } else if (isBencodedDict(data)) {
      const r = this.dht.receiver
      if (r !== null) {
        this.stats.dht++
        r(data, from)
        return
      }
    }
    this.stats.unclaimed++
  }
}

/** 'd' … 'e' — the DHT's cheap test (a full parse happens in the DHT itself). */
export function isBencodedDict(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x64 && data[data.length - 1] === 0x65
}
