/** Why a peer connection closed, or why a wire-level call was refused. */
export type WireErrorCode =
  | 'PROTOCOL' // malformed frame or message (the CodecError is the `cause`)
  | 'BAD_HANDSHAKE' // the peer's handshake is not BitTorrent's
  | 'INFOHASH_MISMATCH' // the peer's info hash is not the one we serve / asked for
  | 'SELF_CONNECTION' // the peer has our own peer id
  | 'DUPLICATE' // already connected to this peer id
  | 'HANDSHAKE_TIMEOUT'
  | 'IDLE_TIMEOUT' // nothing received for `idleTimeout`
  | 'SEND_BUFFER_FULL' // the peer does not read what we send
  | 'STREAM_ERROR' // the transport failed (the error is the `cause`)
  | 'STREAM_ENDED' // the peer closed the stream
  | 'LOCAL_CLOSE' // we closed it (`close()` without a reason)
  | 'PEX_FLOOD' // too many ut_pex messages in the window
  | 'PEX_OVERSIZE' // a ut_pex message larger than allowed
  | 'HOLEPUNCH_FLOOD' // far too many rendezvous requests
  | 'METADATA_FLOOD' // far too many ut_metadata requests past the rate limit
  | 'NOT_CONNECTED' // a send on a connection that is not (or no longer) open
  | 'NOT_SUPPORTED' // the remote did not advertise the extension
  | 'UNKNOWN_PEER_ID' // a holepunch target peer id the swarm has not seen
  | 'CONNECTION_LIMIT'
  | 'TURNOVER' // replaced by a newcomer while every slot was taken: the peer never did anything useful
  | 'DIAL_FAILED'
  | 'TIMEOUT'

export class WireError extends Error {
  override readonly name = 'WireError'
  readonly code: WireErrorCode
  constructor(code: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
