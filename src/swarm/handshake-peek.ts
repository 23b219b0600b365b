// Reads the BitTorrent handshake an incoming stream starts with, without consuming it: the node needs the info
// hash to pick the torrent (one port serves many), and a punch needs the peer id to decide which of two crossed
// connections to keep. The bytes are put back with `unshift`, and the stream is left paused: the caller attaches
// its reader (a PeerConnection) and then calls `resume()`.
import type { Duplex } from 'node:stream'
import { concatBytes } from '../codec/bytes.js'
import { CodecError } from '../codec/errors.js'
import { decodeHandshake, HANDSHAKE_LENGTH, type Handshake } from '../codec/peer-wire.js'
import type { Clock } from '../net/types.js'
import { WireError } from '../wire/errors.js'

/**
 * Resolves with the peer's handshake once its 68 bytes arrived (the stream is then paused with them unread).
 * Rejects with `WireError` `HANDSHAKE_TIMEOUT` after `timeout` ms, `BAD_HANDSHAKE` for anything else than a
 * BitTorrent handshake, `STREAM_ENDED` when the stream ends first; the stream is destroyed in all these cases.
 */
export function peekHandshake(stream: Duplex, clock: Clock, timeout: number): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = []
    let length = 0
    const timer = clock.setTimeout(
      () => fail(new WireError('HANDSHAKE_TIMEOUT', 'no handshake from the peer')),
      timeout,
    )
    const cleanup = () => {
      timer.cancel()
      stream.off('data', onData)
      stream.off('error', onEnd)
      stream.off('end', onEnd)
      stream.off('close', onEnd)
    }
    const fail = (err: WireError) => {
      cleanup()
      stream.destroy()
      reject(err)
    }
    const onEnd = () => fail(new WireError('STREAM_ENDED', 'stream closed before the handshake'))
    const onData = (chunk: Uint8Array) => {
      chunks.push(chunk)
      length += chunk.length
      if (length < HANDSHAKE_LENGTH) return
      const all = chunks.length === 1 ? chunks[0] : concatBytes(chunks)
      let h: Handshake
      try {
        h = decodeHandshake(all.subarray(0, HANDSHAKE_LENGTH))
      } catch (err) {
        if (!(err instanceof CodecError)) throw err
        return fail(new WireError('BAD_HANDSHAKE', `not a BitTorrent handshake: ${err.message}`))
      }
      cleanup()
      stream.pause()
      stream.unshift(all)
      resolve(h)
    }
    stream.on('data', onData)
    stream.once('error', onEnd)
    stream.once('end', onEnd)
    stream.once('close', onEnd)
  })
}
