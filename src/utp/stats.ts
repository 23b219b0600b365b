// Counters of one uTP connection. Each part adds to its own share (the `Pick`s below say which); the connection
// owns the object and hands it out.

/** Counters per connection (for tests, stats and debugging). */
export interface ConnectionStats {
  packetsSent: number
  packetsReceived: number
  bytesSent: number
  bytesReceived: number
  resent: number
  fastResent: number
  /** Re-sends found unnecessary (the original arrived): reordering, not loss. */
  spurious: number
  timeouts: number
  duplicates: number
  outOfOrder: number
  dropped: number
}

/** What the sending half counts. */
export type SenderStats = Pick<ConnectionStats, 'resent' | 'fastResent' | 'spurious' | 'timeouts'>
/** What the receiving half counts. */
export type ReceiverStats = Pick<ConnectionStats, 'bytesReceived' | 'duplicates' | 'outOfOrder' | 'dropped'>

export function newStats(): ConnectionStats {
  return {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    resent: 0,
    fastResent: 0,
    spurious: 0,
    timeouts: 0,
    duplicates: 0,
    outOfOrder: 0,
    dropped: 0,
  }
}
