// A tiny UDP probe run inside a lab namespace (node --import tsx test/nat/udp-punch.ts ...).
// Binds one port, sends a datagram to every --peer each --interval ms, and prints one JSON line per event:
//   {"event":"listening","port":P}
//   {"event":"recv","from":"ip:port","id":"b","seq":3,"seen":"ip:port"?}   (seen: set in replies from an --echo)
//   {"event":"done","sent":N,"received":M}
// With --echo it also answers every probe datagram with the sender's address as seen here (a mini STUN).
// Options: --port P (default 0), --peer ip:port (repeatable), --interval MS (100), --count N (per peer, default
// unlimited), --duration MS (total run time, default 3000), --id NAME (default "probe"), --echo, --quiet (no
// recv lines, only the counts in "done"), --go (after "listening", wait for a line on stdin before sending and
// timing: lets a test start two probes at the same moment, as a relay's two `connect` messages would), --v6 (an
// IPv6 socket, for lab6.ts; endpoints are then v6:port, split at the last colon).
import { createSocket } from 'node:dgram'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    peer: { type: 'string', multiple: true, default: [] },
    interval: { type: 'string', default: '100' },
    count: { type: 'string', default: '0' },
    duration: { type: 'string', default: '3000' },
    id: { type: 'string', default: 'probe' },
    echo: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    go: { type: 'boolean', default: false },
    v6: { type: 'boolean', default: false },
  },
})

function endpoint(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':')
  const port = Number(s.slice(i + 1))
  if (i < 1 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad endpoint ${s}`)
  return { host: s.slice(0, i), port }
}

const peers = (values.peer ?? []).map(endpoint)
const interval = Number(values.interval)
const count = Number(values.count)
const id = values.id ?? 'probe'
const emit = (o: object) => process.stdout.write(JSON.stringify(o) + '\n')

const sock = createSocket(values.v6 ? 'udp6' : 'udp4')
let sent = 0
let received = 0
const bySource: Record<string, number> = {}
let seq = 0
let timer: NodeJS.Timeout | undefined
let stopTimer: NodeJS.Timeout | undefined
let finished = false

sock.on('message', (msg, rinfo) => {
  let m: { id?: unknown; seq?: unknown; echo?: unknown; seen?: unknown }
  try {
    m = JSON.parse(msg.toString())
  } catch {
    return
  }
  const from = `${rinfo.address}:${rinfo.port}`
  received++
  bySource[from] = (bySource[from] ?? 0) + 1
  if (!values.quiet) emit({ event: 'recv', from, id: m.id, seq: m.seq, ...(m.seen ? { seen: m.seen } : {}) })
  if (values.echo && !m.echo)
    sock.send(JSON.stringify({ id, echo: true, seq: m.seq, seen: from }), rinfo.port, rinfo.address)
})

function tick(): void {
  if (count > 0 && seq >= count) {
    clearInterval(timer)
    return
  }
  const payload = JSON.stringify({ id, seq: seq++ })
  for (const p of peers) {
    sent++
    sock.send(payload, p.port, p.host)
  }
}

function finish(): void {
  if (finished) return
  finished = true
  clearInterval(timer)
  clearTimeout(stopTimer)
  emit({ event: 'done', sent, received, bySource })
  sock.close()
  if (values.go) process.stdin.destroy()
}

function start(): void {
  if (peers.length > 0) {
    tick()
    timer = setInterval(tick, interval)
  }
  stopTimer = setTimeout(finish, Number(values.duration))
}

sock.bind(Number(values.port), () => {
  emit({ event: 'listening', port: sock.address().port })
  if (!values.go) return start()
  let started = false
  process.stdin.on('data', () => {
    if (started) return
    started = true
    process.stdin.pause()
    start()
  })
  process.stdin.on('end', () => {
    if (!started) finish() // the test went away without saying go
  })
})
process.on('SIGTERM', finish)
