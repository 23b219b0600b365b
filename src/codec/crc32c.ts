// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF. BEP 42 derives
// node-id prefixes from it because it spreads masked IPs uniformly. check("123456789") = 0xE3069283.

const TABLE = new Uint32Array(256)
for (let i = 0; i < 256; i++) {
  let c = i
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  TABLE[i] = c >>> 0
}

/** CRC-32C of `data` as an unsigned 32-bit number. Pass a previous result as `crc` to continue a running CRC. */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8)
  return ~c >>> 0
}
