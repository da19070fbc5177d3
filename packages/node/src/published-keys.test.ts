import type { Address, Hex } from 'viem'
import { describe, expect, test } from 'vitest'
import { createPublishedKeysCache, type PublishedKeys } from './published-keys.ts'

const alice = '0x00000000000000000000000000000000000000a1' as Address
const bob = '0x00000000000000000000000000000000000000b0' as Address
const keys = (n: number): PublishedKeys => ({
  receivingKey: `0x02${n.toString(16).padStart(64, '0')}` as Hex,
  verifyingKey: `0x03${n.toString(16).padStart(64, '0')}` as Hex,
})

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('published keys cache', () => {
  test('default: a hit reads nothing; forget makes the next get read again, at the block given', async () => {
    const cache = createPublishedKeysCache()
    const reads: (bigint | undefined)[] = []
    let version = 1
    const read = async (block: bigint | undefined) => {
      reads.push(block)
      return keys(version)
    }
    expect(await cache.get(alice, 7n, read)).toEqual(keys(1))
    expect(await cache.get(alice.toUpperCase().replace('0X', '0x') as Address, 8n, read)).toEqual(keys(1))
    expect(reads).toEqual([7n])
    version = 2
    cache.forget(alice)
    expect(await cache.get(alice, 9n, read)).toEqual(keys(2))
    expect(reads).toEqual([7n, 9n])
  })

  test('error: keys read while a publication was forgotten are answered but not kept (they may predate it)', async () => {
    const cache = createPublishedKeysCache()
    const slow = deferred<PublishedKeys>()
    const first = cache.get(alice, 1n, () => slow.promise)
    // the index reads a KeysPublished of alice while the read at block 1 is in flight
    cache.forget(alice)
    slow.resolve(keys(1))
    expect(await first).toEqual(keys(1))
    // A cache that kept that answer would hand out the superseded keys now.
    expect(await cache.get(alice, 2n, async () => keys(2))).toEqual(keys(2))
    expect(cache.size).toBe(1)
  })

  test('error: a forget of another account during the read also keeps nothing; a later read is kept', async () => {
    const cache = createPublishedKeysCache()
    const slow = deferred<PublishedKeys>()
    const first = cache.get(alice, 1n, () => slow.promise)
    cache.forget(bob)
    slow.resolve(keys(1))
    await first
    expect(cache.size).toBe(0)
    await cache.get(alice, 2n, async () => keys(1))
    expect(cache.size).toBe(1)
  })

  test('behavior: concurrent misses share one read; a read that began before a forget is not shared after it', async () => {
    const cache = createPublishedKeysCache()
    let reads = 0
    const slow = deferred<PublishedKeys>()
    const read = () => {
      reads++
      return slow.promise
    }
    const a = cache.get(alice, 1n, read)
    const b = cache.get(alice, 1n, read)
    expect(reads).toBe(1)
    cache.forget(alice)
    const c = cache.get(alice, 2n, async () => keys(2))
    slow.resolve(keys(1))
    expect(await a).toEqual(keys(1))
    expect(await b).toEqual(keys(1))
    expect(await c).toEqual(keys(2))
  })

  test('error: a failed read is not kept', async () => {
    const cache = createPublishedKeysCache()
    await expect(
      cache.get(alice, 1n, async () => {
        throw new Error('unreachable node')
      }),
    ).rejects.toThrow('unreachable node')
    expect(await cache.get(alice, 1n, async () => keys(3))).toEqual(keys(3))
  })

  test('behavior: bounded, least recently used out', async () => {
    const cache = createPublishedKeysCache(2)
    const read = async () => keys(1)
    await cache.get(alice, 1n, read)
    await cache.get(bob, 1n, read)
    await cache.get(alice, 1n, read)
    await cache.get('0x00000000000000000000000000000000000000c0', 1n, read)
    expect(cache.size).toBe(2)
    let reread = false
    await cache.get(bob, 1n, async () => {
      reread = true
      return keys(1)
    })
    expect(reread).toBe(true)
  })
})
