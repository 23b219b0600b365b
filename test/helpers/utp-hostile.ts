// Hostile uTP datagrams for the robustness tests: random bytes, mutated packets, well-formed packets with absurd
// fields (forged connection ids, windows of 0 or 4 GiB, acks of packets never sent).
import {
  encodeUtpPacket,
  ST_DATA,
  ST_FIN,
  ST_RESET,
  ST_STATE,
  ST_SYN,
  type UtpType,
} from '../../src/codec/utp-packet.js'
import type { SeededRandom } from '../../src/net/sim/random.js'

export /** One hostile datagram: random bytes, a mutated valid packet, or a well-formed packet with absurd fields. */
function hostile(r: SeededRandom, knownIds: number[]): Uint8Array {
  const kind = r.int(0, 4)
  if (kind === 0) return r.bytes(r.int(0, 120))
  const type = r.pick([ST_DATA, ST_FIN, ST_STATE, ST_RESET, ST_SYN]) as UtpType
  const pkt = encodeUtpPacket({
    type,
    connId: r.chance(0.5) ? r.pick(knownIds) : r.int(0, 65536),
    timestamp: r.uint32(),
    timestampDiff: r.uint32(),
    wnd: r.pick([0, 1, 0xffffffff, r.uint32()]),
    seq: r.int(0, 65536),
    ack: r.int(0, 65536),
    sack: r.chance(0.3) ? r.bytes(r.int(1, 40)) : null,
    payload: r.chance(0.5) ? r.bytes(r.int(0, 1400)) : undefined,
  })
  if (kind === 1) {
    // Mutate a few bytes (including the extension chain and version) and maybe truncate.
    for (let i = r.int(1, 5); i > 0; i--) pkt[r.int(0, pkt.length)] = r.int(0, 256)
    return r.chance(0.3) ? pkt.subarray(0, r.int(0, pkt.length)) : pkt
  }
  return pkt
}
