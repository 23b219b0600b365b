// Typed errors of the net layer. Codes follow the errno names users already know from Node (EADDRINUSE, …) where
// one fits, so callers can switch on `code` for real and simulated sockets alike.

export type NetErrorCode =
  | 'EADDRINUSE' // the (host, port) is already bound
  | 'EADDRNOTAVAIL' // the host is not an address of this machine / of the simulated network
  | 'EINVAL' // a malformed argument (host not an IP literal, port out of range, …)
  | 'ABORT_ERR' // the operation was cancelled through its AbortSignal
  | 'ECLOSED' // the socket or network is closed
  | 'EBIND' // any other bind failure (the OS code is in `cause`)
  | 'ECONNREFUSED' // a stream connect was answered by a reset: nothing listens there
  | 'ECONNRESET' // the peer reset an open stream
  | 'ETIMEDOUT' // a stream connect (or its retransmissions) got no answer
  | 'EHOSTUNREACH' // no route to the host
  | 'ECONNECT' // any other stream connect failure (the OS error is in `cause`)

export class NetError extends Error {
  override readonly name = 'NetError'
  constructor(
    readonly code: NetErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
