// What the other uTP stacks' receivers hold, which our sender must not outrun (learnt from their sources).

/**
 * Packets past the peer's cumulative ack that its reorder buffer keeps: libutp drops any packet 1024 or more past
 * its ack_nr (REORDER_BUFFER_MAX_SIZE), libtorrent any past max(16, receive buffer / 1100). Sending further only
 * earns losses and timeouts, so the sequence space in flight is held under both (with a little slack).
 */
const LIBUTP_REORDER_LIMIT = 1000
const LIBTORRENT_BYTES_PER_REORDER_SLOT = 1100
const MIN_REORDER_SLOTS = 16

/** Packets past its ack a peer is expected to keep, from the largest window it advertised (bytes). */
export function reorderSlots(peerWndMax: number): number {
  const slots = Math.floor(peerWndMax / LIBTORRENT_BYTES_PER_REORDER_SLOT)
  return Math.min(LIBUTP_REORDER_LIMIT, Math.max(MIN_REORDER_SLOTS, slots))
}

/** Bits of a selective ACK that libutp always fills (its reorder buffer starts with 16 slots). */
export const LIBUTP_SURE_SACK_BITS = 16
