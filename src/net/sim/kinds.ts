// Names the simulator's parts share: the RFC 4787 words for a NAT's behaviour (used by its UDP side, nat.ts, and
// its TCP side, nat-tcp.ts) and why the network drops a datagram (tcp-route.ts reuses a subset for segments).

export type NatMapping = 'endpoint-independent' | 'address-and-port-dependent'
export type NatFiltering = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent'

/** Why the network dropped a datagram after `send` accepted it. */
export type DropReason =
  | 'loss' // random loss
  | 'mtu' // larger than the path MTU
  | 'queue' // access-link queue full
  | 'unroutable' // no host with that address is reachable from the sender
  | 'noListener' // nothing bound on the destination port (ICMP port unreachable on a real network)
  | 'natNoMapping' // inbound to a NAT port with no live mapping
  | 'natFiltered' // inbound the NAT's filter refused (unsolicited)
  | 'natHairpin' // to the sender's own NAT public address with hairpinning off
  | 'natExhausted' // the NAT had no free external port
