// Child process of `synFlood` (admission.ts): floods host:port with uTP SYNs until SIGTERM, reporting its count.
// Usage: node --import tsx admission-flood.ts <host> <port> <rate> <addresses> <net>
import { runFlood } from './admission.js'

const [host, port, rate, addresses, net] = process.argv.slice(2)
const attack = await runFlood({ host, port: Number(port) }, Number(rate), Number(addresses), Number(net))
process.stdout.write('ready\n')
const report = setInterval(() => process.stdout.write(`sent ${attack.sent}\n`), 200)
const stop = () => {
  clearInterval(report)
  process.stdout.write(`sent ${attack.sent}\n`)
  void attack.stop().then(() => process.exit(0))
}
process.once('SIGTERM', stop)
// The parent ended without stopping us (a crash, a timeout): stop too. And never run for more than a minute.
process.stdin.on('end', stop).resume()
setTimeout(stop, 60_000).unref()
