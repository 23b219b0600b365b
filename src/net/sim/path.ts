// The end of a route's path, the same for datagrams (udp-route.ts) and TCP segments (tcp-route.ts): once the route
// climbed through the sender's NATs to a realm that knows the destination, what remains is that realm's link (the
// internet path, or the LAN behind a gateway), the two ends' own access links, and a receiving NAT's LAN.
import { accumulate, type Conditions } from './conditions.js'
import type { Gateway, Realm, SimHost } from './realm.js'

/** Where a route finds the internet path between two hosts or NATs (`SimNetwork.linkConditions`). */
export interface InternetLinks {
  linkConditions(fromId: number, toId: number): Readonly<Conditions>
}

/**
 * Adds to `acc` the rest of the path from `src` to `rec`, found in `realm` after crossing `crossed` (the last NAT
 * on the way up, or null). Returns false for a hairpin through a NAT that does not allow it (counted at the NAT):
 * the route drops the packet.
 */
export function accumulateLastHop(
  acc: Conditions,
  src: SimHost,
  rec: SimHost | Gateway,
  realm: Realm,
  crossed: Gateway | null,
  links: InternetLinks,
): boolean {
  if (crossed !== null && rec === crossed) {
    if (!crossed.hairpin) {
      crossed.countHairpinDrop()
      return false
    }
  } else if (realm.gateway === null) {
    // Seen from the internet, traffic from behind a NAT comes from that NAT.
    accumulate(acc, links.linkConditions((crossed ?? src).id, rec.id))
  } else {
    accumulate(acc, realm.gateway.lanConditions)
  }
  if (src.conditions !== null) accumulate(acc, src.conditions)
  if (rec.conditions !== null) accumulate(acc, rec.conditions)
  if (rec.kind === 'nat') accumulate(acc, rec.lanConditions)
  return true
}
