// Our DHT node in a libtorrent 2.0 testnet on 127.0.0.1 (test/interop/lt_dht.py): it bootstraps off libtorrent,
// finds a peer libtorrent announced, is found by libtorrent's get_peers after announcing, and is kept in
// libtorrent's routing table.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { fromHex, toHex } from '../../src/codec/bytes.js'
import { DHT } from '../../src/dht/index.js'
import { runCli } from '../integration/cli-run.js'
import { LibtorrentDHT, libtorrentSkip, poll } from './libtorrent.js'

const hex = (s: string): Uint8Array => fromHex(s) ?? assert.fail(`bad hex ${s}`)
const IH_LT = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00'
const IH_OURS = 'beef0000beef0000beef0000beef0000beef0001'

describe('DHT interop with libtorrent', { skip: libtorrentSkip(), timeout: 55_000 }, () => {
  let lt: LibtorrentDHT
  let net: Array<{ node: string; port: number; id: string }>
  let dht: DHT

  before(async () => {
    lt = LibtorrentDHT.spawn()
    net = await lt.testnet(3)
    dht = new DHT({ host: '127.0.0.1', port: 0, bootstrap: [{ host: '127.0.0.1', port: net[0].port }] })
    await dht.listen()
    await dht.bootstrapped()
  })
  after(async () => {
    await dht?.destroy()
    await lt?.close()
  })

  it('bootstraps off libtorrent and finds the peer libtorrent announced', async () => {
    assert.ok(dht.stats().nodes.v4 >= 1, 'our routing table holds libtorrent nodes')
    await lt.announce('lt1', IH_LT)
    const peers = await poll(
      async () => {
        const r = await dht.lookup(hex(IH_LT))
        return r.peers.some((p) => p.host === '127.0.0.1' && p.port === net[1].port) ? r.peers : null
      },
      15_000,
      500,
    )
    assert.ok(peers, `our lookup found lt1 (127.0.0.1:${net[1].port})`)
  })

  it('announces, and libtorrent get_peers finds us', async () => {
    const me = dht.address()
    const r = await dht.announce(hex(IH_OURS), { impliedPort: true })
    assert.ok(r.nodes >= 1, 'a libtorrent node accepted our token and stored the announce')
    const found = await lt.findPeer('lt2', IH_OURS, (p) => p.host === '127.0.0.1' && p.port === me.port, 15_000)
    assert.ok(found, `lt2 found us at 127.0.0.1:${me.port}`)
  })

  it('the CLI bootstraps off libtorrent alone and finds the peer libtorrent announced', async () => {
    const r = await runCli([
      'dht',
      'lookup',
      IH_LT,
      '--host',
      '127.0.0.1',
      '--bootstrap',
      `127.0.0.1:${net[2].port}`,
      '--timeout',
      '15',
      '--json',
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(
      r.events.some((e) => e.event === 'peer' && e.host === '127.0.0.1' && e.port === net[1].port),
      r.stdout,
    )
  })

  it('is kept in libtorrent routing tables', async () => {
    const me = toHex(dht.id)
    const holders = await poll(
      async () => {
        const tables = await Promise.all(net.map((n) => lt.nodes(n.node)))
        const h = net.filter((_, i) => tables[i].some((x) => x.id === me && x.port === dht.address().port))
        return h.length ? h : null
      },
      20_000,
      1000,
    )
    assert.ok(holders, 'at least one libtorrent node lists our id and port among its live nodes')
  })
})
