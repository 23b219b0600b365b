import assert from 'node:assert/strict'
import { it } from 'node:test'
import { clientFromPeerId } from '../../src/wire/client-name.js'

it('names clients from Azureus-style peer ids, else the printable prefix', () => {
  const id = (s: string) => new TextEncoder().encode(s.padEnd(20, '\x01'))
  assert.equal(clientFromPeerId(id('-LT2080-')), 'libtorrent 2.0.8.0')
  assert.equal(clientFromPeerId(id('-MN0100-')), 'mainline 0.1.0.0')
  assert.equal(clientFromPeerId(id('-qB4650-')), 'qBittorrent 4.6.5.0')
  assert.equal(clientFromPeerId(id('-ZZ1A00-')), 'ZZ 1.10.0.0')
  assert.equal(clientFromPeerId(id('M7-4-3--')), 'M7-4-3--')
  assert.equal(clientFromPeerId(new Uint8Array(20)), undefined)
})
