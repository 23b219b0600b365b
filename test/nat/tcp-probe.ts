// A tiny TCP probe run inside a lab namespace (node --import tsx test/nat/tcp-probe.ts ...), one JSON line per event.
//   serve --port P:  {"event":"listening","port":P}; tells every client the address it connected from, then closes.
//   connect --host H --port P [--local-port L]:  {"event":"reply","local":"ip:port","seen":"ip:port"}, then exits.
// Both exit after --duration MS (default 5000) at the latest.
import { connect, createServer } from 'node:net'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string', default: '' },
    port: { type: 'string', default: '0' },
    'local-port': { type: 'string', default: '0' },
    duration: { type: 'string', default: '5000' },
  },
})
const emit = (o: object) => process.stdout.write(JSON.stringify(o) + '\n')
// A server just stops when its time is up; a client that got no reply by then failed.
setTimeout(() => {
  if (positionals[0] === 'connect') emit({ event: 'timeout' })
  process.exit(positionals[0] === 'connect' ? 2 : 0)
}, Number(values.duration))

if (positionals[0] === 'serve') {
  const server = createServer((s) => s.end(`${s.remoteAddress}:${s.remotePort}\n`))
  server.listen(Number(values.port), '0.0.0.0', () => {
    const a = server.address()
    emit({ event: 'listening', port: typeof a === 'object' && a ? a.port : 0 })
  })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
} else if (positionals[0] === 'connect') {
  const localPort = Number(values['local-port'])
  const s = connect({ host: values.host, port: Number(values.port), ...(localPort ? { localPort } : {}) })
  let data = ''
  let local = ''
  s.on('connect', () => {
    local = `${s.localAddress}:${s.localPort}`
  })
  s.on('data', (b) => {
    data += b.toString()
  })
  s.on('end', () => {
    emit({ event: 'reply', local, seen: data.trim() })
    process.exit(0)
  })
  s.on('error', (e) => {
    emit({ event: 'error', message: e.message })
    process.exit(1)
  })
} else {
  process.stderr.write('usage: tcp-probe.ts serve --port P | connect --host H --port P [--local-port L]\n')
  process.exit(64)
}
