/**
 * start() and stop() called while the other (or the same) is under way: each resolves only once the storage
 * is in the state it asked for, so that a daemon stopped while it starts does not keep running, and a
 * directory is free to reopen as soon as any stop() has resolved.
 */
import { createStorage } from '@medvault/storage'
import { afterEach, expect, test } from 'vitest'
import { tempDir } from './helpers.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function storageIn(start: boolean) {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const storage = await createStorage({ directory: dir.path, start })
  cleanups.push(() => storage.stop())
  return { storage, directory: dir.path }
}

test('behavior: a second start() during a start resolves once the storage is started', async () => {
  const { storage } = await storageIn(false)
  const first = storage.start()
  await storage.start()
  expect(storage.status).toBe('started')
  await first
})

test('behavior: a second stop() during a stop resolves once the directory is given up', async () => {
  const { storage, directory } = await storageIn(true)
  const first = storage.stop()
  await storage.stop()
  expect(storage.status).toBe('stopped')
  // the directory is free at once: no StorageLockedError
  const reopened = await createStorage({ directory })
  await reopened.stop()
  await first
})

test('behavior: stop() during a start leaves the storage stopped and the directory free', async () => {
  const { storage, directory } = await storageIn(false)
  const starting = storage.start()
  const stopping = storage.stop()
  await Promise.all([starting, stopping])
  expect(storage.status).toBe('stopped')
  const reopened = await createStorage({ directory })
  await reopened.stop()
})

test('behavior: start() during a stop leaves the storage started', async () => {
  const { storage } = await storageIn(true)
  const cid = await storage.putBytes(new TextEncoder().encode('kept across the restart'))
  const stopping = storage.stop()
  await storage.start()
  await stopping
  expect(storage.status).toBe('started')
  expect(await storage.isPinned(cid)).toBe(true)
})

test('error: a start that fails rejects every start() waiting on it; a later start() tries again', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const holder = await createStorage({ directory: dir.path })
  const storage = await createStorage({ directory: dir.path, start: false })
  const results = await Promise.allSettled([storage.start(), storage.start()])
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
  expect(storage.status).toBe('stopped')
  await holder.stop()
  await storage.start()
  expect(storage.status).toBe('started')
  await storage.stop()
})
