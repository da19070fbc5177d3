import { describe, expect, test } from 'vitest'
import { createReplayCache } from './replay-cache.ts'

const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const

describe('createReplayCache', () => {
  test('default: a request is claimed once', () => {
    const cache = createReplayCache()
    expect(cache.claim(hash(1), 1_300, 1_000)).toBe(true)
    expect(cache.claim(hash(1), 1_300, 1_001)).toBe(false)
    expect(cache.claim(hash(2), 1_300, 1_001)).toBe(true)
  })

  test('behavior: the digest is compared case-insensitively', () => {
    const cache = createReplayCache()
    expect(cache.claim(`0x${'AB'.repeat(32)}`, 1_300, 1_000)).toBe(true)
    expect(cache.claim(`0x${'ab'.repeat(32)}`, 1_300, 1_000)).toBe(false)
  })

  test('behavior: entries are dropped once their request is stale anyway, so memory stays bounded', () => {
    const cache = createReplayCache()
    for (let i = 0; i < 100; i++) cache.claim(hash(i), 1_300, 1_000)
    expect(cache.size).toBe(100)
    cache.claim(hash(1_000), 1_700, 1_400)
    expect(cache.size).toBe(1)
  })

  test('behavior: an entry holds until its expiry second inclusive', () => {
    const cache = createReplayCache()
    cache.claim(hash(1), 1_300, 1_000)
    expect(cache.claim(hash(1), 1_600, 1_300)).toBe(false)
    expect(cache.claim(hash(1), 1_600, 1_301)).toBe(true)
  })
})
