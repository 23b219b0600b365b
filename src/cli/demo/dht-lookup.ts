// Chapter "dht": a local Mainline DHT of 100+ nodes; Alice announces an infohash, Bob, who has never heard of
// Alice, finds her through the DHT alone.
import { createHash } from 'node:crypto'
import { toHex } from '../../codec/bytes.js'
import { commonPrefixLength as sharedBits } from '../../codec/node-id.js'
import type { Chapter, ChapterContext } from './chapter.js'
import { startTestnet } from './testnet.js'

async function run({ out, signal, nodes: size }: ChapterContext): Promise<boolean> {
  const say = (event: string, fields: Record<string, unknown>, human: string) => out.event(event, fields, human)
  out.progress(`starting ${size} DHT nodes on 127.0.0.1…`)
  const net = await startTestnet({
    size,
    signal,
    onProgress: (up) => out.progress(`  ${up}/${size} nodes up`),
  })
  try {
    const tables = net.nodes.map((n) => {
      const s = n.stats().nodes
      return s.v4 + s.v6
    })
    const avg = tables.reduce((a, b) => a + b, 0) / tables.length
    say(
      'testnet',
      { nodes: size, host: '127.0.0.1', ms: Math.round(net.ms), avgTable: Math.round(avg * 10) / 10 },
      `Started ${size} DHT nodes on 127.0.0.1 (real UDP) in ${Math.round(net.ms)} ms. Each bootstrapped from node 0\n` +
        `and now knows ${avg.toFixed(1)} others on average — nobody knows everyone.`,
    )

    const infoHash = new Uint8Array(createHash('sha1').update('mainline demo: a file Alice shares').digest())
    // Alice and Bob: two nodes far apart in the id space, so Bob's lookup has to travel.
    const alice = net.nodes[Math.floor(size / 3)]
    const bob = net.nodes.reduce((best, n) =>
      n !== alice && sharedBits(n.id, infoHash) <= sharedBits(best.id, infoHash) && n !== net.nodes[0] ? n : best,
    )
    const aliceAt = alice.address()
    const storers = new Set<string>()
    for (const n of net.nodes)
      n.on('announce', (_peer, ih) => {
        if (toHex(ih) === toHex(infoHash)) storers.add(toHex(n.id))
      })
    const a = await alice.announce(infoHash, { impliedPort: true, signal })
    say(
      'announced',
      { infoHash: toHex(infoHash), by: aliceAt, nodes: a.nodes, queries: a.queries },
      `\nAlice (${aliceAt.host}:${aliceAt.port}) announces infohash ${toHex(infoHash).slice(0, 12)}…: she looks up the\n` +
        `nodes closest to it (${a.queries} queries) and ${a.nodes} of them now store her address.`,
    )

    const r = await bob.lookup(infoHash, { signal })
    const found = r.peers.find((p) => p.host === aliceAt.host && p.port === aliceAt.port)
    const bobAt = bob.address()
    const log2 = Math.log2(size)
    // Kademlia in one line: the nodes a lookup ends at share the longest id prefixes with the target.
    const closestBits = r.closest.map((n) => sharedBits(n.id, infoHash))
    const closestStoring = r.closest.filter((n) => storers.has(toHex(n.id))).length
    say(
      'lookup',
      {
        infoHash: toHex(infoHash),
        by: bobAt,
        found: found ?? null,
        peers: r.peers.length,
        queries: r.queries,
        responses: r.responses,
        hops: r.hops,
        ms: Math.round(r.ms),
        log2N: Math.round(log2 * 10) / 10,
        closestSharedBits: closestBits,
        closestStoring,
      },
      `\nBob (${bobAt.host}:${bobAt.port}) shares only ${sharedBits(bob.id, infoHash)} id bits with the infohash and has never\n` +
        `heard of Alice. His get_peers lookup walks closer and closer to the infohash:\n` +
        `  ${r.queries} queries, ${r.responses} replies, ${r.hops} hops (log2 ${size} ≈ ${log2.toFixed(1)}), ${Math.round(r.ms)} ms\n` +
        (closestBits.length
          ? `  It ends at the ${closestBits.length} nodes closest to the infohash (sharing ${Math.min(...closestBits)}–${Math.max(...closestBits)} leading bits with it),\n` +
            `  ${closestStoring} of which hold Alice's announce.\n`
          : '') +
        (found
          ? `  → found Alice at ${found.host}:${found.port}. A peer, found through the DHT alone.`
          : `  → did not find Alice (${r.peers.length} other peers).`),
    )
    return found !== undefined
  } finally {
    await net.close()
  }
}

export const dhtLookup: Chapter = {
  name: 'dht',
  title: 'A local Mainline DHT: announce an infohash from one node, find it from another',
  run,
}
