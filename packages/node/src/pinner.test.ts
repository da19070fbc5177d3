/**
 * The pinner over a real store and a durable pin store: requests are worked on in arrival order, a request
 * cancelled while queued is never pinned, and `idle()` resolves only once every status is on disk (a pin
 * store opened again on the same directory sees them).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, type Storage } from '@medvault/storage'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { createPinStore, type PinRecord } from './pin-store.ts'
import { createPinner } from './pinner.ts'

let dir: string
let storage: Storage

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvn-pinner-'))
  storage = await createStorage({ directory: join(dir, 'ipfs') })
})
afterEach(async () => {
  await storage.stop()
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
})

test('behavior: a thousand requests pinned in arrival order; cancelled ones never; idle() means every status is on disk', async () => {
  const pins = createPinStore({ dir })
  await pins.open()
  const count = 1200
  const records: PinRecord[] = []
  for (let i = 0; i < count; i++) {
    const cid = await storage.putBytes(new TextEncoder().encode(`block ${i}`), { pin: false })
    records.push(await pins.add({ owner: 'follower', cid: cid.toString() }))
  }
  // A single slot: the order requests start in is the order the pinner takes them from its queue.
  const pinner = createPinner({ concurrency: 1 }, { storage, pins })
  const order: string[] = []
  pinner.onSettled((r) => order.push(r.requestid))
  await pinner.start()
  for (const r of records) pinner.enqueue(r.requestid)
  // Far down the queue, so still queued when cancelled (one slot works from the front meanwhile).
  const cancelled = records.filter((_, i) => i >= 600 && i % 10 === 5)
  await Promise.all(cancelled.map((r) => pinner.cancel(r.requestid)))
  await Promise.all(cancelled.map((r) => pins.remove(r.requestid)))
  // Queued again after a cancel: taken once, in its new place.
  const again = records[605]!
  expect(cancelled).toContain(again)
  const readded = await pins.add({ owner: 'follower', cid: again.cid })
  pinner.enqueue(readded.requestid)
  await pinner.idle()
  await pinner.stop()

  const expected = records
    .filter((r) => !cancelled.includes(r))
    .map((r) => r.requestid)
    .concat(readded.requestid)
  expect(order).toEqual(expected)
  for (const r of cancelled.filter((c) => c !== again).slice(0, 20))
    expect(await storage.isPinned(r.cid)).toBe(false)
  expect(await storage.isPinned(again.cid)).toBe(true)

  // What a restart finds: every status as `idle()` saw it.
  await pins.close()
  const reopened = createPinStore({ dir })
  await reopened.open()
  expect(reopened.counts()).toEqual({ queued: 0, pinning: 0, pinned: expected.length, failed: 0 })
  await reopened.close()
}, 120_000)
