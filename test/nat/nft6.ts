// The nftables ruleset of the IPv6 lab's firewalls (lab6.ts). No NAT: every host has its own global address, and
// the firewall in front of it is what a home router does for IPv6 (RFC 6092): replies and outgoing traffic pass,
// unsolicited inbound traffic is dropped. Kept as text so docs/nat-lab.md can show exactly what runs.

export const NFT6_TABLE = 'mainline_lab6'

/**
 * The whole ruleset of one firewall; interfaces `wan` (public segment) and `lan` (the host behind).
 * - input: the firewall itself answers neighbour discovery (else no packet crosses the link) and nothing else
 *   unsolicited from wan.
 * - forward: policy drop; established/related (replies, and ICMPv6 errors about our own flows, such as
 *   packet-too-big) and lan→wan pass. Inbound UDP and TCP from wan are counted before the drop, so a test can
 *   tell that a direct dial died here.
 */
export function firewallRuleset(): string {
  return `table ip6 ${NFT6_TABLE} {
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept
    iifname "lan" accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
    iifname "wan" meta l4proto udp counter drop comment "unsolicited_udp"
    iifname "wan" meta l4proto tcp counter drop comment "unsolicited_tcp"
  }
}
`
}

/** The packet counts of the two counted drop rules, from `nft list chain ip6 mainline_lab6 forward` text. */
export function parseDropCounters(listing: string): { udp: number; tcp: number } {
  const count = (name: string) => {
    const m = new RegExp(`counter packets (\\d+) bytes \\d+ drop comment "${name}"`).exec(listing)
    if (!m) throw new Error(`no ${name} counter in:\n${listing}`)
    return Number(m[1])
  }
  return { udp: count('unsolicited_udp'), tcp: count('unsolicited_tcp') }
}
