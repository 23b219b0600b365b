// Whether this host has an IPv6 loopback, asked of node:dgram directly and never of the code under test: a bug in
// our own ::1 bind must fail its test, not skip it. Only the errors that mean "no IPv6 here" give a skip reason;
// any other error rejects, so the test that asked fails.
import { createSocket } from 'node:dgram'

const NO_IPV6 = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT'])

let probe: Promise<string | false> | undefined

/** `false` when ::1 can be bound, else a one-line skip reason; rejects on any other bind error. */
export function ipv6LoopbackSkip(): Promise<string | false> {
  probe ??= new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp6', ipv6Only: true })
    s.once('error', (err: NodeJS.ErrnoException) => {
      s.close()
      if (err.code && NO_IPV6.has(err.code)) resolve(`no IPv6 loopback here (bind ::1: ${err.code})`)
      else reject(err)
    })
    s.bind(0, '::1', () => {
      s.close()
      resolve(false)
    })
  })
  return probe
}
