// The process `mainline demo --netns` and the NAT lab tests (test/nat) run in each network namespace: a
// SwarmNode driven by flags, reporting JSON lines on stdout. Roles: a DHT node (no --infohash), a relay
// (--infohash, short --pex-interval), or a peer behind NAT (announces, discovers, connects to the relay, punches,
// then exchanges --exchange MiB each way and reports hashes).
//   node [--import tsx] src/cli/demo/lab-peer.ts --port 6881 [--infohash HEX] [--bootstrap H:P,…] [--dht-read-only]
//     [--host IP] [--no-dht] [--announce] [--discover] [--connect H:P,…] [--target H:P] [--pex-interval MS]
//     [--exchange MIB] [--dial-timeout MS] [--punch-timeout MS] [--no-autodial]
//     [--connect-limit N]  (connects acted on per relay and overall per 10 s; default 5 and 20)
import { createHash, randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { fromHex, toHex } from '../../codec/bytes.js'
import type { Endpoint } from '../../net/types.js'
import { SwarmNode } from '../../swarm/node.js'
import type { PeerConnection } from '../../wire/peer-connection.js'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '6881' },
    // '::' in the IPv6 lab (test/nat/lab6.ts): dual stack, the DHT on IPv6.
    host: { type: 'string' },
    infohash: { type: 'string' },
    bootstrap: { type: 'string' },
    'dht-read-only': { type: 'boolean' },
    'no-dht': { type: 'boolean' },
    announce: { type: 'boolean' },
    discover: { type: 'boolean' },
    connect: { type: 'string' },
    target: { type: 'string' },
    'pex-interval': { type: 'string' },
    exchange: { type: 'string' },
    'dial-timeout': { type: 'string' },
    'punch-timeout': { type: 'string' },
    'no-autodial': { type: 'boolean' },
    'connect-limit': { type: 'string' },
  },
})

const emit = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
// H:P, [V6]:P or V6:P (the last colon separates the port).
const hp = (s: string): Endpoint => {
  const i = s.lastIndexOf(':')
  return { host: s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(s.slice(i + 1)) }
}
const list = (s: string | undefined) => (s ? s.split(',').filter(Boolean).map(hp) : [])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const dialTimeout = Number(values['dial-timeout'] ?? 1000)
const node = new SwarmNode({
  port: Number(values.port),
  host: values.host,
  // The lab's whole "Internet" is one /24 (198.51.100.0/24): IP-diversity rules meant for the real DHT would leave
  // a lookup one candidate, so they are off here, as they are for libtorrent on a one-machine testnet.
  dht: values['no-dht']
    ? false
    : {
        bootstrap: list(values.bootstrap),
        readOnly: values['dht-read-only'] ?? false,
        restrictIps: false,
        restrictSearchIps: false,
      },
  dial: { utpTimeout: dialTimeout, tcpTimeout: dialTimeout },
  // The holepunch lab's routers run no mapping daemon: asking them would only add background traffic.
  portmap: false,
  holepunch: { timeout: Number(values['punch-timeout'] ?? 5000) },
  connectLimits: values['connect-limit']
    ? { perRelay: Number(values['connect-limit']), overall: Number(values['connect-limit']) }
    : undefined,
  swarm: {
    autoDial: !values['no-autodial'],
    connection: values['pex-interval'] ? { pex: { interval: Number(values['pex-interval']) } } : {},
  },
})
node.on('warning', (e) => emit('warning', { message: e.message }))
node.on('reachability', (r) => emit('reachability', { ...r }))
const where = await node.listen()
emit('listening', { ...where, peerId: toHex(node.peerId) })

const shutdown = async () => {
  await node.close()
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)

if (node.dht) {
  await node.dht.bootstrapped()
  emit('dht_ready', { nodes: node.dht.nodes().length })
}
if (!values.infohash) await new Promise(() => {}) // a plain DHT node: serve until killed
const parsed = fromHex(values.infohash as string)
if (parsed?.length !== 20) throw new Error('--infohash must be 40 hex digits')
const infoHash: Uint8Array = parsed
const swarm = node.add(infoHash)

node.on('connected', (c) => {
  emit('connected', { host: c.remote.host, port: c.remote.port, transport: c.transport })
  c.once('extended_handshake', (x) => emit('extended', { host: c.remote.host, port: c.remote.port, v: x.v ?? null }))
})
node.on('peer', (p, _ih, source) => emit('peer', { ...p, source }))
node.on('dial_failed', (p) => emit('dial_failed', { ...p }))
node.on('hp_rendezvous_sent', (r, t) => emit('hp_rendezvous_sent', { relay: r.remote, target: t }))
node.on('hp_punching', (r, t) => emit('hp_punching', { relay: r.remote, target: t }))
node.on('hp_ignored', (_r, t, reason) => emit('hp_ignored', { target: t, reason }))
node.on('hp_birthday', (t, role, stats, ok) => emit('hp_birthday', { target: t, role, ...stats, ok }))
node.on('hp_failed', (t, reason) => {
  emit('hp_failed', { target: t, reason })
  // Both sides must stay healthy: report what is left a moment later.
  setTimeout(() => {
    emit('status', {
      connections: swarm.connections.map((c) => ({ host: c.remote.host, port: c.remote.port, transport: c.transport })),
      utp: node.utp.size,
    })
  }, 500)
})
node.on('hp_connected', (r) => {
  emit('hp_connected', {
    transport: r.conn.transport,
    host: r.conn.remote.host,
    port: r.conn.remote.port,
    peerId: toHex(r.conn.remotePeerId ?? new Uint8Array(0)),
    direction: r.direction,
    ms: r.ms,
    punchMs: r.punchMs,
  })
  if (values.exchange) exchange(r.conn, Number(values.exchange) * (1 << 20))
})

// --connect peers are dialed until connected (a lossy link can eat a whole dial), and again after a disconnect.
for (const ep of list(values.connect)) {
  void (async () => {
    for (;;) {
      const up = swarm.connections.some((c) => c.remote.host === ep.host && c.remote.port === ep.port)
      if (!up) {
        await node.connect(infoHash, ep).then(
          () => {},
          (e) => emit('connect_failed', { ...ep, message: (e as Error).message }),
        )
      }
      await sleep(1000)
    }
  })()
}
if (values.announce && node.dht) {
  void (async () => {
    for (;;) {
      await node.announce(infoHash).then(
        (n) => emit('announced', { nodes: n }),
        (e) => emit('warning', { message: `announce: ${(e as Error).message}` }),
      )
      await sleep(3000)
    }
  })()
}
if (values.discover && node.dht) {
  void (async () => {
    const seen = new Set<string>()
    for (;;) {
      const peers = await node.discover(infoHash).catch(() => [] as Endpoint[])
      for (const p of peers) {
        const k = `${p.host}:${p.port}`
        if (!seen.has(k)) emit('dht_peer', { ...p })
        seen.add(k)
      }
      await sleep(2000)
    }
  })()
}
if (values.target) {
  const target = hp(values.target)
  // Rendezvous by hand through the first holepunch-capable connection, once there is one.
  void (async () => {
    for (let i = 0; i < 200; i++) {
      const relay = swarm.connections.find((c) => c.holepunch.supported)
      if (relay) {
        node.holepunch(infoHash, target, { relay }).catch(() => {})
        return
      }
      await sleep(50)
    }
    emit('hp_failed', { target, reason: 'no_introducer' })
  })()
}

/** Sends `total` bytes as 16 KiB pieces (at most 4 MiB unacknowledged) and receives as much; reports hashes. */
function exchange(conn: PeerConnection, total: number): void {
  const BLOCK = 16 * 1024
  const MIB = 1 << 20
  const sentHash = createHash('sha256')
  const recvHash = createHash('sha256')
  let sent = 0
  let acked = 0
  let received = 0
  const t0 = Date.now()
  let finished = false
  const finish = () => {
    if (finished || sent < total || received < total || acked < total) return
    finished = true
    emit('data', {
      sent,
      received,
      sentSha256: sentHash.digest('hex'),
      receivedSha256: recvHash.digest('hex'),
      ms: Date.now() - t0,
    })
  }
  const pump = () => {
    while (sent < total && sent - acked < 4 * MIB && conn.isOpen) {
      const block = randomBytes(BLOCK)
      sentHash.update(block)
      conn.send({ type: 'piece', index: Math.floor(sent / MIB), begin: sent % MIB, block })
      sent += BLOCK
    }
    finish()
  }
  conn.on('piece', (m) => {
    recvHash.update(m.block)
    received += m.block.length
    if (received % MIB === 0) conn.send({ type: 'have', index: received / MIB })
    finish()
  })
  conn.on('have', (m) => {
    acked = Math.max(acked, m.index * MIB)
    pump()
  })
  conn.on('close', (reason) => {
    if (!finished) emit('data_failed', { message: reason.message, sent, received })
  })
  pump()
}
