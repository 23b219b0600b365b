// Link delay (test/nat/delay.ts): the delay line really delays, in both directions, and carries UDP and bulk TCP
// (checksum-offloaded and TSO frames) through a NAT intact.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { addLinkDelay } from './delay.js'
import { createLab, type Lab, RELAY_IP } from './lab.js'
import { natSuite } from './support.js'

const DELAY_MS = 30

// UDP echo on the relay; the client sends 5 probes one at a time and prints each round trip in ms.
const UDP_ECHO = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 9000)); s.settimeout(20)
print('ready', flush=True)
while True:
    data, addr = s.recvfrom(2048); s.sendto(data, addr)
`
const UDP_PING = `
import json, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
rtts = []
for i in range(5):
    t = time.monotonic(); s.sendto(b'p%d' % i, ('${RELAY_IP}', 9000))
    while True:
        data, _ = s.recvfrom(2048)
        if data == b'p%d' % i: break
    rtts.append((time.monotonic() - t) * 1000)
print(json.dumps(rtts))
`
// 4 MiB over TCP from a to the relay; the server answers with the SHA-256 of what it read.
const TCP_SINK = `
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 9001)); s.listen(1)
s.settimeout(30)
print('ready', flush=True)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while n < 4 << 20:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
c.sendall(h.hexdigest().encode()); c.close()
`
const TCP_SEND = `
import hashlib, os, socket
data = os.urandom(4 << 20)
c = socket.create_connection(('${RELAY_IP}', 9001), timeout=30); c.sendall(data)
print(c.recv(64).decode() == hashlib.sha256(data).hexdigest())
`

await natSuite(import.meta.filename, 'link delay in the NAT lab', () => {
  describe(`${DELAY_MS} ms each way on routerA's wan link`, { timeout: 90_000 }, () => {
    let lab: Lab | undefined
    before(async () => {
      lab = await createLab()
      await addLinkDelay(lab, [lab.routerA], DELAY_MS)
    })
    after(() => lab?.destroy())

    it('a UDP round trip a → relay takes at least twice the delay, and every probe comes back', async () => {
      const l = lab as Lab
      const echo = l.relay.spawn('/usr/bin/python3', ['-u', '-c', UDP_ECHO])
      await new Promise((r) => echo.stdout?.once('data', r))
      const r = await l.a.mustExec('/usr/bin/python3', ['-c', UDP_PING], { timeoutMs: 30_000 })
      const rtts = JSON.parse(r.stdout) as number[]
      assert.equal(rtts.length, 5)
      for (const ms of rtts) assert.ok(ms >= 2 * DELAY_MS, `round trip ${ms.toFixed(1)} ms < 2 × ${DELAY_MS} ms`)
    })

    it('4 MiB of TCP through the NAT and the delay line arrive intact', async () => {
      const l = lab as Lab
      const sink = l.relay.spawn('/usr/bin/python3', ['-u', '-c', TCP_SINK])
      await new Promise((r) => sink.stdout?.once('data', r))
      const r = await l.a.mustExec('/usr/bin/python3', ['-c', TCP_SEND], { timeoutMs: 60_000 })
      assert.equal(r.stdout.trim(), 'True')
    })
  })
})
