// The pure parts of `mainline magnet`: the .torrent made from fetched metadata, and the file name made from a name
// a remote peer chose.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { safeFileName, torrentFromMetadata } from '../../src/cli/magnet.js'
import { encode } from '../../src/codec/bencode.js'
import { encodeMetainfo, parseMetainfo } from '../../src/codec/metainfo.js'

const info = encode({ length: 5, name: 'a.txt', 'piece length': 16384, pieces: new Uint8Array(20) })

describe('mainline magnet helpers', () => {
  it('the .torrent keeps the info bytes and takes the trackers as tiers and the web seeds', () => {
    const m = torrentFromMetadata(info, {
      trackers: ['udp://a.example:1', 'http://b.example/'],
      webSeeds: ['http://w/'],
    })
    const back = parseMetainfo(encodeMetainfo(m))
    assert.deepEqual(back.info.bytes, info)
    assert.equal(back.announce, 'udp://a.example:1')
    assert.deepEqual(back.announceList, [['udp://a.example:1'], ['http://b.example/']])
    assert.deepEqual(back.urlList, ['http://w/'])
    const bare = parseMetainfo(encodeMetainfo(torrentFromMetadata(info, { trackers: [], webSeeds: [] })))
    assert.equal(bare.announce, undefined)
    assert.equal(bare.announceList, undefined)
  })

  it('a peer-chosen name cannot leave the directory or hide', () => {
    assert.equal(safeFileName('photos', 'ff'), 'photos.torrent')
    assert.equal(safeFileName('../../etc/passwd', 'ff'), '_.._etc_passwd.torrent')
    assert.equal(safeFileName('..', 'ff'), 'ff.torrent')
    assert.equal(safeFileName('.hidden', 'ff'), 'hidden.torrent')
    assert.equal(safeFileName('a\\b\nc\u0000', 'ff'), 'a_b_c_.torrent')
    assert.equal(safeFileName('', 'ff'), 'ff.torrent')
    assert.equal(safeFileName('x'.repeat(1000), 'ff').length, 200 + '.torrent'.length)
  })
})
