import { describe, expect, test } from 'vitest'
import { createTokenBuckets } from './rate-limit.ts'

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
})
