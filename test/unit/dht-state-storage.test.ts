// The DHT's state storage: an injected interface (the file is only the default), the file storage's refusals, and
// what a state file may not make us do.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DHT } from '../../src/dht/index.js'
import type { DHTState, StateStorage } from '../../src/dht/state.js'
import { parseState, serializeState } from '../../src/dht/state.js'
import { FileStateStorage } from '../../src/dht/state-file.js'
import { SeededRandom, SimNetwork, simIPv4 } from '../../src/net/sim/index.js'
import { idOf } from '../helpers/dht-fixtures.js'

describe('state storage', () => {
  it('skips saved nodes at broadcast, multicast, unspecified and reserved addresses', () => {
    const hosts = [
      '198.51.100.1',
      '255.255.255.255',
      '224.0.0.1',
      '0.0.0.0',
      '240.0.0.1',
      '::',
      'ff02::1',
      '2001:db8::1',
    ]
    const doc = JSON.parse(serializeState({ id: idOf(1), nodes: [] }))
    doc.nodes = hosts.map((h, i) => [Buffer.from(idOf(i + 2)).toString('hex'), h, 6881])
    assert.deepEqual(
      parseState(JSON.stringify(doc)).nodes.map((n) => n.host),
      ['198.51.100.1', '2001:db8::1'],
    )
  })

  it('a DHT takes any StateStorage: it loads the id at listen() and saves at destroy()', async () => {
    const net = new SimNetwork({ random: new SeededRandom(3) })
    let saved: DHTState | undefined
    const calls: string[] = []
    const memory: StateStorage = {
      async check() {
        calls.push('check')
      },
      async load() {
        calls.push('load')
        return { id: idOf(0x42, 7), nodes: [{ id: idOf(9), host: simIPv4(9), port: 6881 }] }
      },
      async save(state) {
        calls.push('save')
        saved = state
      },
    }
    const dht = new DHT({
      socket: net.bind(simIPv4(1), 6881),
      clock: net.clock,
      random: new SeededRandom(4),
      state: memory,
    })
    await net.clock.settle(dht.listen())
    assert.deepEqual(dht.id, idOf(0x42, 7))
    await dht.destroy()
    assert.deepEqual(calls, ['check', 'load', 'save'])
    assert.deepEqual(saved?.id, idOf(0x42, 7))
  })

  it('a storage that can never work fails listen(); an empty path is refused at once', async () => {
    const net = new SimNetwork({ random: new SeededRandom(5) })
    const broken: StateStorage = {
      check: () => Promise.reject(Object.assign(new Error('no room'), { code: 'STATE_FILE' })),
      load: () => Promise.resolve(undefined),
      save: () => Promise.resolve(),
    }
    const dht = new DHT({
      socket: net.bind(simIPv4(1), 6881),
      clock: net.clock,
      random: new SeededRandom(6),
      state: broken,
    })
    await assert.rejects(net.clock.settle(dht.listen()), /no room/)
    await dht.destroy()
    assert.throws(() => new DHT({ state: '' }), { code: 'STATE_FILE' })
  })

  it('the file storage never blocks on a FIFO and never replaces one, nor a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dht-storage-'))
    try {
      const fifo = join(dir, 'fifo')
      execFileSync('mkfifo', [fifo])
      const s = new FileStateStorage(fifo)
      // Were the FIFO opened for reading, these would wait for a writer forever (and the test time out).
      await assert.rejects(s.load(), { code: 'STATE_FILE', message: /is a FIFO/ })
      await assert.rejects(s.check(), { code: 'STATE_FILE', message: /is a FIFO/ })
      await assert.rejects(s.save({ id: idOf(1), nodes: [] }), { code: 'STATE_FILE', message: /is a FIFO/ })
      assert.ok((await lstat(fifo)).isFIFO())
      await assert.rejects(new FileStateStorage(dir).save({ id: idOf(1), nodes: [] }), { message: /is a directory/ })
      // Too large to be ours: reported, not read.
      const big = join(dir, 'big.json')
      await writeFile(big, Buffer.alloc(4 * 1024 * 1024 + 1, 0x20))
      await assert.rejects(new FileStateStorage(big).load(), { code: 'STATE_FILE', message: /larger than/ })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
