import { describe, expect, test, vi } from 'vitest'
import { clientKey, createTokenBuckets } from './rate-limit.ts'

describe('createTokenBuckets', () => {
  test('default: a burst, then one token per 1/perSecond', () => {
    const buckets = createTokenBuckets({ perSecond: 2, burst: 3 })
    const t = 1_000_000
    expect([0, 1, 2, 3].map(() => buckets.take('a', t))).toEqual([0, 0, 0, 1])
    expect(buckets.take('a', t + 400)).toBe(1)
    expect(buckets.take('a', t + 600)).toBe(0)
    // Another key has its own bucket.
    expect(buckets.take('b', t)).toBe(0)
  })

  test('behavior: the wait asked for is enough', () => {
    const buckets = createTokenBuckets({ perSecond: 0.5, burst: 1 })
    expect(buckets.take('a', 0)).toBe(0)
    const wait = buckets.take('a', 0)
    expect(wait).toBe(2)
    expect(buckets.take('a', wait * 1000)).toBe(0)
  })

  test('behavior: bounded — past maxKeys the least recently seen key is forgotten', () => {
    const buckets = createTokenBuckets({ perSecond: 1, burst: 1 }, 100)
    for (let i = 0; i < 10_000; i++) buckets.take(`k${i}`, 0)
    expect(buckets.size).toBe(100)
  })

  test('behavior: a wall clock set back does not empty the buckets (they run on a monotonic clock)', () => {
    const buckets = createTokenBuckets({ perSecond: 1, burst: 2 })
    expect(buckets.take('a')).toBe(0)
    const now = Date.now()
    const spy = vi.spyOn(Date, 'now').mockReturnValue(now - 3_600_000)
    try {
      // An hour back on the wall clock: the bucket still holds its second token.
      expect(buckets.take('a')).toBe(0)
    } finally {
      spy.mockRestore()
    }
  })
})

describe('clientKey', () => {
  test('attack: the addresses of one IPv6 /64 share a key (a host holds the whole /64); an IPv4-mapped address is its IPv4', () => {
    expect(clientKey('2001:db8:1:2::1')).toBe(clientKey('2001:db8:1:2:ffff:0:0:9'))
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64')
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'))
    expect(clientKey('2001:0db8:0001:0002:0000:0000:0000:0001')).toBe('2001:db8:1:2::/64')
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(clientKey('::1')).toBe('0:0:0:0::/64')
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7')
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7')
  })
})
