/**
 * `pin` with `maxBytes`, on two real storages over libp2p on 127.0.0.1: the target holds part of the DAG
 * already (as an earlier attempt cut off by a time-out would leave it) and fetches the rest over bitswap.
 */
import { randomBytes } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { DagTooLargeError } from './errors.ts'
import { createStorage } from './index.ts'
import type { Storage } from './types.ts'
import { collect } from './verify.ts'

const MiB = 1_048_576

let source: Storage
const started: Storage[] = []
let bytes: Uint8Array
let content: CID
/** Every block of the DAG: the content and its root node. */
let total: number

async function target(): Promise<Storage> {
  const s = await createStorage({ network: { peers: source.multiaddrs() }, blockTimeoutMs: 10_000 })
  started.push(s)
  // Three of the four leaves are here already, unpinned; the root and the last 64 KiB leaf are not.
  await s.putBytes(bytes.subarray(0, 3 * MiB), { pin: false })
  return s
}

beforeAll(async () => {
  source = await createStorage({ network: {} })
  bytes = randomBytes(3 * MiB + 65_536)
  content = await source.putBytes(bytes)
  total = bytes.length + (await collect(source.helia.blockstore.get(content))).length
})

afterAll(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()))
  await source?.stop()
})

describe('pin with maxBytes', () => {
  test('error: a DAG partly local is counted whole: past the limit it fails with DagTooLargeError and nothing is pinned', async () => {
    const s = await target()
    const before = await s.stat(content)
    expect(before.local).toBe(false)

    // Only ~64 KiB of this DAG has to be fetched; the limit is far above that and below the DAG.
    const err = await s.pin(content, { maxBytes: MiB }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DagTooLargeError)
    const tooLarge = err as DagTooLargeError
    expect(tooLarge.name).toBe('DagTooLargeError')
    expect(tooLarge.cid).toBe(content.toString())
    expect(tooLarge.maxBytes).toBe(MiB)
    expect(tooLarge.bytes).toBeGreaterThan(MiB)
    expect(tooLarge.shortMessage).toBe(
      `The DAG of ${content} is over the limit of ${MiB} bytes; it was not pinned.`,
    )
    expect(await s.isPinned(content)).toBe(false)
    const pins: CID[] = []
    for await (const p of s.listPins()) pins.push(p)
    expect(pins).toEqual([])
  })

  test('behavior: the limit is exact: one byte under the DAG fails, the DAG size pins; progress counts local leaves', async () => {
    const s = await target()
    await expect(s.pin(content, { maxBytes: total - 1 })).rejects.toThrow(DagTooLargeError)
    expect(await s.isPinned(content)).toBe(false)

    let last = 0
    await s.pin(content, {
      maxBytes: total,
      onProgress: (event) => {
        last = event.bytes
      },
    })
    expect(last).toBe(total)
    expect(await s.isPinned(content)).toBe(true)
    expect((await s.stat(content)).local).toBe(true)
  })

  test('behavior: a DAG entirely local is held to the limit too, offline', async () => {
    const s = await createStorage()
    started.push(s)
    const cid = await s.putBytes(bytes, { pin: false })
    await expect(s.pin(cid, { maxBytes: 3 * MiB })).rejects.toThrow(DagTooLargeError)
    expect(await s.isPinned(cid)).toBe(false)
    await s.pin(cid, { maxBytes: total })
    expect(await s.isPinned(cid)).toBe(true)
  })

  test('error: a maxBytes that is not a non-negative integer is a RangeError', async () => {
    const s = await createStorage()
    started.push(s)
    const cid = await s.putBytes(new Uint8Array([1, 2, 3]))
    for (const maxBytes of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(s.pin(cid, { maxBytes })).rejects.toThrow(RangeError)
    }
  })
})

describe('pin records and gc', () => {
  test('behavior: an unpin called while a gc runs waits for it: that gc keeps the DAG, the next one removes it', async () => {
    const s = await createStorage()
    started.push(s)
    // Many pins ahead of the one unpinned, so the gc is still marking when the unpin is called.
    for (let i = 0; i < 200; i++) await s.putBytes(randomBytes(64))
    const cid = await s.putBytes(randomBytes(2 * MiB + 1))
    const other = await s.putBytes(randomBytes(1000), { pin: false })
    const gc = s.gc()
    await new Promise((r) => setImmediate(r))
    const unpinned = s.unpin(cid)
    const first = await gc
    expect(await unpinned).toBe(true)
    // The gc decided from the pins as they were when it started: only the unpinned block went.
    expect(first.removed).toBe(1)
    expect((await s.stat(other)).localBlocks).toBe(0)
    expect((await s.stat(cid)).local).toBe(true)
    expect(await s.isPinned(cid)).toBe(false)
    // root + three leaves
    expect((await s.gc()).removed).toBe(4)
  })

  test('behavior: unpin, isPinned and stat with an aborted signal reject with its reason and change nothing', async () => {
    const s = await createStorage()
    started.push(s)
    const cid = await s.putBytes(new Uint8Array(300).fill(7))
    const controller = new AbortController()
    const reason = new DOMException('stopped by the caller', 'AbortError')
    controller.abort(reason)
    const { signal } = controller
    await expect(s.unpin(cid, { signal })).rejects.toBe(reason)
    await expect(s.isPinned(cid, { signal })).rejects.toBe(reason)
    await expect(s.stat(cid, { signal })).rejects.toBe(reason)
    expect(await s.isPinned(cid)).toBe(true)
  })
})
