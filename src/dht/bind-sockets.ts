// The socket(s) a DHT binds when none is given, through the injected binder: one, or IPv4 + IPv6 on one port
// (BEP 32 dual stack) when that port is free on both.
import type { DatagramBinder } from '../net/bind.js'
import type { DatagramSocket } from '../net/types.js'
import type { DHTOptions } from './options.js'

/** Default SO_RCVBUF / SO_SNDBUF of the sockets listen() binds. */
const SOCKET_BUFFER = 256 * 1024

/** Binds what `o` asks for; each socket goes to `own` as soon as it is bound (the caller closes them). */
export async function bindSockets(
  bind: DatagramBinder,
  o: DHTOptions,
  own: (s: DatagramSocket) => void,
): Promise<{ socket: DatagramSocket; socket6?: DatagramSocket }> {
  const size = o.socketBufferSize ?? SOCKET_BUFFER
  const buffers = { recvBufferSize: size, sendBufferSize: size }
  const family = o.family === 'dual' ? 4 : (o.family ?? 4)
  const socket = await bind({ host: o.host, port: o.port ?? 0, family, ...buffers })
  own(socket)
  if (o.family !== 'dual') return { socket }
  const port = socket.address().port
  const host = o.host6 ?? '::'
  let socket6: DatagramSocket
  try {
    socket6 = await bind({ host, port, family: 6, ...buffers })
  } catch (err) {
    // Taken on IPv6 (or an explicit port we must honour): an ephemeral one if we may, else give up.
    if (o.port) throw err
    socket6 = await bind({ host, port: 0, family: 6, ...buffers })
  }
  own(socket6)
  return { socket, socket6 }
}
