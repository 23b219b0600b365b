// A human name for a peer from its peer id, for when it sends no `v` in its extended handshake. Covers the
// Azureus style ("-LT2080-…" → "LT 2.0.8.0") that nearly every client uses; otherwise the id's printable prefix.
const KNOWN: Record<string, string> = {
  LT: 'libtorrent',
  lt: 'libtorrent (rakshasa)',
  qB: 'qBittorrent',
  TR: 'Transmission',
  UT: 'uTorrent',
  DE: 'Deluge',
  AZ: 'Azureus',
  BI: 'BiglyBT',
  WW: 'WebTorrent',
  ML: 'MLdonkey',
  MN: 'mainline',
  AG: 'Ares',
  BC: 'BitComet',
}

export function clientFromPeerId(id: Uint8Array): string | undefined {
  if (id.length < 8) return undefined
  const s = String.fromCharCode(...id.subarray(0, 8))
  const m = /^-([A-Za-z]{2})([0-9A-Za-z]{4})-$/.exec(s)
  if (m) {
    const name = KNOWN[m[1]] ?? m[1]
    return `${name} ${[...m[2]].map((c) => Number.parseInt(c, 36)).join('.')}`
  }
  let prefix = ''
  for (const b of id) {
    if (b < 0x20 || b > 0x7e) break
    prefix += String.fromCharCode(b)
  }
  return prefix.length >= 3 ? prefix : undefined
}
