import assert from 'node:assert/strict'
import { it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { SimNetwork } from '../../src/net/sim/network.js'
import { SeededRandom } from '../../src/net/sim/random.js'
import type { SimSocket } from '../../src/net/sim/socket.js'

// Measurements (memory per socket, events/s) are printed as diagnostics, never asserted: speed lives in bench/.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

it('10,000 sockets, each on its own host, deliver a burst of 100,000 queries and their replies', async (t) => {
  const N = 10_000
  const PER = 10
  const net = new SimNetwork({ random: new SeededRandom(2024), defaults: { latencyMs: 30, jitterMs: 20 } })
  gc()
  const heap0 = process.memoryUsage().heapUsed
  const socks: SimSocket[] = []
  for (let i = 0; i < N; i++) socks.push(net.bind(`2001:db8::${(i + 1).toString(16)}`, 6881))
  gc()
  const perSocket = (process.memoryUsage().heapUsed - heap0) / N

  let queries = 0
  let replies = 0
  const reply = new Uint8Array(64)
  for (const s of socks) {
    s.setReceiver((data, from) => {
      if (data[0] === 1) {
        queries++
        s.send(reply, from) // reply[0] === 0
      } else replies++
    })
  }
  const rnd = new SeededRandom(7)
  const query = new Uint8Array(100)
  query[0] = 1
  const t0 = performance.now()
  for (let k = 0; k < PER; k++) {
    for (let i = 0; i < N; i++) {
      let j = rnd.int(0, N - 1)
      if (j >= i) j++
      socks[i].send(query, socks[j].address())
    }
  }
  const ev0 = net.clock.eventsFired
  assert.equal(await net.clock.runUntilIdle(), true)
  const secs = (performance.now() - t0) / 1000
  const events = net.clock.eventsFired - ev0

  assert.equal(queries, N * PER)
  assert.equal(replies, N * PER)
  const st = net.stats()
  assert.equal(st.delivered, 2 * N * PER)
  assert.equal(st.sent, 2 * N * PER)
  assert.equal(
    Object.values(st.dropped).reduce((a, b) => a + b, 0),
    0,
  )
  assert.equal(net.clock.pending, 0)
  t.diagnostic(`heap per idle socket (own host): ${perSocket.toFixed(0)} bytes`)
  t.diagnostic(`${events} events in ${secs.toFixed(2)} s: ${(events / secs / 1e6).toFixed(2)} M events/s`)
})
