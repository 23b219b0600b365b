// nftables rulesets for the lab's NAT routers. Kept as text so docs/nat-lab.md can show exactly what runs.

/**
 * `port-preserving`: plain `masquerade` keeps the source port when it is free (endpoint-independent mapping) and
 * conntrack only lets replies from the exact address:port back in (address-and-port-dependent filtering): the
 * NAT that BEP 55 hole punching can pass.
 * `symmetric`: `masquerade fully-random` picks a random external port for every new conntrack entry, so each
 * destination sees a different port and a punch aimed at a predicted port never lands.
 * `port-restricted`: the same rules as `port-preserving` (endpoint-independent mapping, address-and-port-dependent
 * filtering, RFC 4787's "port-restricted cone"); the separate name says which property a test relies on.
 * `full-cone`: endpoint-independent mapping and filtering. nftables has no full-cone target, so it is emulated: a
 * static DNAT of every inbound UDP port to the one host behind the router (ports kept), beside the port-preserving
 * masquerade. For the ports the host uses this is exactly full cone (anyone may send to wan:port once the host
 * mapped it, and even before); unlike a real full-cone NAT it also forwards ports nothing mapped (the host answers
 * them with ICMP port unreachable). TCP stays port-restricted.
 */
export type NatType = 'port-preserving' | 'port-restricted' | 'full-cone' | 'symmetric'

export const NFT_TABLE = 'mainline_lab'

/** The loss rules for both directions of the router's `wan` link (nothing when `percent` is 0). */
function lossRules(percent: number): { in: string; out: string } {
  if (percent === 0) return { in: '', out: '' }
  return {
    in: `iifname "wan" numgen random mod 100 < ${percent} drop`,
    out: `oifname "wan" numgen random mod 100 < ${percent} drop`,
  }
}

export function checkLossPercent(percent: number): number {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100)
    throw new RangeError(`lossPercent must be an integer 0..100, got ${percent}`)
  return percent
}

/**
 * The whole ruleset of one router. The interfaces are named `wan` (public segment) and `lan` (the host behind).
 * - input: policy drop. Unsolicited datagrams to the router's public address must be dropped here: an accepted
 *   (even if unanswered) packet confirms a conntrack entry for wan:port, and the host's own punch from that port
 *   would then be masqueraded to a different port.
 * - forward: policy drop; replies (established/related) and lan→wan only.
 * - postrouting at srcnat: masquerade, port-preserving or fully random.
 * - loss_in at raw priority (before conntrack, so a lost datagram leaves no state) and loss_out after NAT.
 */
export function routerRuleset(nat: NatType, lossPercent: number, hostIp?: string): string {
  const masq = nat === 'symmetric' ? 'masquerade fully-random' : 'masquerade'
  const loss = lossRules(checkLossPercent(lossPercent))
  if (nat === 'full-cone' && !hostIp) throw new RangeError('a full-cone router needs its host address')
  const cone =
    nat === 'full-cone'
      ? `
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan" meta l4proto udp dnat to ${hostIp}
  }`
      : ''
  const coneForward = nat === 'full-cone' ? '\n    iifname "wan" oifname "lan" ct status dnat accept' : ''
  return `table ip ${NFT_TABLE} {
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    iifname "lan" accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept${coneForward}
  }${cone}
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ${masq}
  }
  chain loss_in {
    type filter hook prerouting priority raw; policy accept;
    ${loss.in}
  }
  chain loss_out {
    type filter hook postrouting priority 300; policy accept;
    ${loss.out}
  }
}
`
}

/** An atomic nft script replacing the loss rules of a running router. */
export function setLossScript(percent: number): string {
  const loss = lossRules(checkLossPercent(percent))
  const lines = [`flush chain ip ${NFT_TABLE} loss_in`, `flush chain ip ${NFT_TABLE} loss_out`]
  if (loss.in)
    lines.push(`add rule ip ${NFT_TABLE} loss_in ${loss.in}`, `add rule ip ${NFT_TABLE} loss_out ${loss.out}`)
  return lines.join('\n') + '\n'
}
