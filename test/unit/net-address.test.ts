// canReach: which endpoints a UDP socket can send to, by its family and dual-stack flag.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { canReach } from '../../src/net/address.js'

describe('canReach', () => {
  const v4 = { family: 4 as const }
  const v6only = { family: 6 as const, dualStack: false }
  const dual = { family: 6 as const, dualStack: true }

  it('an IPv4 socket reaches IPv4 and IPv4-mapped addresses only', () => {
    assert.equal(canReach(v4, '198.51.100.7'), true)
    assert.equal(canReach(v4, '::ffff:198.51.100.7'), true)
    assert.equal(canReach(v4, '2001:db8::7'), false)
  })

  it('an IPv6-only socket reaches IPv6 only; a dual-stack one both', () => {
    assert.equal(canReach(v6only, '2001:db8::7'), true)
    assert.equal(canReach(v6only, '198.51.100.7'), false)
    assert.equal(canReach(v6only, '::ffff:198.51.100.7'), false)
    assert.equal(canReach({ family: 6 }, '198.51.100.7'), false, 'dualStack defaults to false')
    assert.equal(canReach(dual, '2001:db8::7'), true)
    assert.equal(canReach(dual, '198.51.100.7'), true)
    assert.equal(canReach(dual, '::ffff:198.51.100.7'), true)
  })

  it('names are never reachable (endpoints are IP literals)', () => {
    assert.equal(canReach(v4, 'example.org'), false)
    assert.equal(canReach(dual, 'localhost'), false)
  })
})
