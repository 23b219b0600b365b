// nftables rulesets for the lab's NAT routers. Kept as text so docs/nat-lab.md can show exactly what runs.

/**
 * `port-preserving`: plain `masquerade` keeps the source port when it is free (endpoint-independent mapping) and
 * conntrack only lets replies from the exact address:port back in (address-and-port-dependent filtering): the
 * NAT that BEP 55 hole punching can pass.
 * `symmetric`: `masquerade fully-random` picks a random external port for every new conntrack entry, so each
 * destination sees a different port and a punch aimed at a predicted port never lands.
 */
export type NatType = 'port-preserving' | 'symmetric'

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
export function routerRuleset(nat: NatType, lossPercent: number): string {
  const masq = nat === 'symmetric' ? 'masquerade fully-random' : 'masquerade'
  const loss = lossRules(checkLossPercent(lossPercent))
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
    iifname "lan" oifname "wan" accept
  }
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
