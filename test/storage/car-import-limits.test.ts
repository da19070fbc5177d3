/**
 * A CAR import holds gc off while it runs (the pins' shared lock), and its sender sets its pace and its size. So the
 * import's signal ends a wait on a sender that stops sending, and `maxBytes` and `maxBlocks` bound what a sender can
 * make it write; either way nothing of the CAR is kept.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID, createStorage, type Storage } from '@medvault/storage'
import { identity } from 'multiformats/hashes/identity'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { header, rawCid, section } from './car-bytes.ts'

let dir: string
let storage: Storage
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medvault-car-limits-'))
  storage = await createStorage({ directory: dir })
})
afterEach(async () => {
  await storage.stop()
  await rm(dir, { recursive: true, force: true })
})

const blockFiles = async () =>
  (await readdir(join(dir, 'blocks'), { recursive: true })).filter((f) => f.endsWith('.data'))

/** Three small raw blocks, the first the root, and the CARv1 holding them, a chunk per header and section part. */
function threeBlocks() {
  const blocks = ['first block', 'second block', 'third block'].map((text) => new TextEncoder().encode(text))
  const cids = blocks.map(rawCid)
  const chunks = [header([cids[0]!]), ...blocks.flatMap((bytes, i) => section(cids[i]!, bytes))]
  return { cids, chunks, size: chunks.reduce((n, c) => n + c.length, 0) }
}

/** Never settles: a sender that keeps the connection open and sends nothing more. */
const stalled = () => new Promise<never>(() => {})

test('attack: a sender that stops sending mid-CAR no longer holds the import, nor gc behind it: the signal ends the wait, and nothing is kept', {
  timeout: 20_000,
}, async () => {
  const { cids, chunks } = threeBlocks()
  // a stall after two blocks, and one inside the header, before any block
  const stallAfter = { 'after two blocks': chunks.length - 2, 'inside the header': 0 }
  for (const [label, sent] of Object.entries(stallAfter)) {
    const controller = new AbortController()
    let imported = 0
    async function* sender(): AsyncGenerator<Uint8Array> {
      yield* chunks.slice(0, sent)
      if (sent === 0) yield chunks[0]!.subarray(0, 3)
      await stalled()
    }
    const importing = storage.importCar(sender(), {
      signal: controller.signal,
      onProgress: () => {
        imported++
      },
    })
    const outcome = importing.then(
      () => 'imported',
      (err: unknown) => err,
    )
    if (sent > 0) await expect.poll(() => imported, { timeout: 10_000 }).toBe(2)
    // gc waits for the import (it holds the shared lock), as it must while the import writes
    let collected = false
    const gc = storage.gc().then((result) => {
      collected = true
      return result
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(collected, label).toBe(false)
    controller.abort()
    const err = await outcome
    expect(err, label).toBe(controller.signal.reason)
    expect(err, label).toMatchObject({ name: 'AbortError' })
    // the lock is free: gc ran (first in line for it, it may have removed the import's unpinned blocks before the
    // rollback did), and nothing of the CAR is left
    expect(await gc, label).toMatchObject({ kept: 0 })
    for (const cid of cids) expect(await storage.stat(cid), label).toMatchObject({ localBlocks: 0 })
    expect(await blockFiles(), label).toEqual([])
  }
})

test('attack: a CAR over maxBytes is refused with CarTooLargeError at the first chunk past it, the rest unread, nothing kept', async () => {
  const { cids, chunks, size } = threeBlocks()
  let pulled = 0
  async function* sender(): AsyncGenerator<Uint8Array> {
    for (const chunk of chunks) {
      pulled++
      yield chunk
    }
  }
  // the limit falls inside the third block's bytes: the first two are written, then rolled back
  const maxBytes = size - 1
  const err = await storage.importCar(sender(), { maxBytes }).catch((e: unknown) => e)
  expect(err).toMatchObject({
    name: 'CarImportError',
    details: `The CAR is over the limit of ${maxBytes} bytes (${size} bytes received when it was refused).`,
  })
  expect((err as Error).cause).toMatchObject({
    name: 'CarTooLargeError',
    limit: 'maxBytes',
    max: maxBytes,
    count: size,
  })
  expect(pulled).toBe(chunks.length)
  for (const cid of cids) expect(await storage.stat(cid)).toMatchObject({ localBlocks: 0 })
  expect(await blockFiles()).toEqual([])
  expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })

  // a sender of a large CAR is stopped at the limit, not read to its end: here a block of 2 MiB, sent 64 KiB at a time
  pulled = 0
  const [head] = section(rawCid(new Uint8Array(0)), new Uint8Array(0), 36 + 2 * 1024 * 1024)
  async function* endless(): AsyncGenerator<Uint8Array> {
    yield* chunks
    yield head!
    for (;;) {
      pulled++
      yield new Uint8Array(64 * 1024)
    }
  }
  const tooLarge = await storage
    .importCar(endless(), { maxBytes: 1024 * 1024, pin: false })
    .catch((e: unknown) => e)
  expect((tooLarge as Error).cause).toMatchObject({ name: 'CarTooLargeError', limit: 'maxBytes' })
  expect(pulled).toBe(16)
  expect(await blockFiles()).toEqual([])
})

test('default: a CAR of exactly maxBytes bytes and maxBlocks blocks is imported', async () => {
  const { cids, chunks, size } = threeBlocks()
  expect(await storage.importCar(chunks, { maxBytes: size, maxBlocks: 3 })).toEqual([cids[0]])
  for (const cid of cids) expect(await storage.stat(cid)).toMatchObject({ localBlocks: 1 })
})

test('attack: a CAR of more blocks than maxBlocks is refused with CarTooLargeError before the next block is read, nothing kept', async () => {
  const { cids, chunks } = threeBlocks()
  for (const pin of [true, false]) {
    const err = await storage.importCar(chunks, { maxBlocks: 2, pin }).catch((e: unknown) => e)
    expect(err).toMatchObject({
      name: 'CarImportError',
      details: 'The CAR holds more than 2 blocks (refused at block 3).',
    })
    expect((err as Error).cause).toMatchObject({
      name: 'CarTooLargeError',
      limit: 'maxBlocks',
      max: 2,
      count: 3,
    })
    for (const cid of cids) expect(await storage.stat(cid)).toMatchObject({ localBlocks: 0 })
    expect(await blockFiles()).toEqual([])
  }
  // none at all: a CAR of roots only, or nothing past its header
  const empty = await storage.importCar(chunks, { maxBlocks: 0, pin: false }).catch((e: unknown) => e)
  expect((empty as Error).cause).toMatchObject({ name: 'CarTooLargeError', max: 0, count: 1 })
  expect(await storage.importCar([header([])], { maxBlocks: 0 })).toEqual([])
})

test('error: maxBytes and maxBlocks must be non-negative safe integers', async () => {
  const { chunks } = threeBlocks()
  for (const options of [{ maxBytes: -1 }, { maxBytes: 1.5 }, { maxBlocks: Number.NaN }, { maxBlocks: -2 }]) {
    await expect(storage.importCar(chunks, options)).rejects.toThrow(RangeError)
  }
  expect(await blockFiles()).toEqual([])
})

/** A promise and the function that settles it, for a sender that waits until the test lets it go on. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

/** Whether `promise` has settled, for `expect.poll`. */
function settles(promise: Promise<unknown>): () => boolean {
  let settled = false
  promise.then(
    () => {
      settled = true
    },
    () => {
      settled = true
    },
  )
  return () => settled
}

test('attack: a CAR import refused or aborted before it wrote anything fails at once, and writes go on, while another import waits on a stalled sender', {
  timeout: 30_000,
}, async () => {
  // Import A: a sender that sent its header and a block, then stalls, and no signal: A holds the lock shared.
  const { cids, chunks } = threeBlocks()
  const stall = gate()
  let aBlocks = 0
  async function* slow(): AsyncGenerator<Uint8Array> {
    yield* chunks.slice(0, 3)
    await stall.opened
    yield* chunks.slice(3)
  }
  const a = storage.importCar(slow(), {
    onProgress: () => {
      aBlocks++
    },
  })
  try {
    await expect.poll(() => aBlocks, { timeout: 10_000 }).toBe(1)
    const refusals: Record<string, () => Promise<unknown>> = {
      'a bad header': () => storage.importCar([Uint8Array.of(0x01)]),
      'a signal fired while the sender stalls': async () => {
        const controller = new AbortController()
        async function* stalled(): AsyncGenerator<Uint8Array> {
          yield chunks[0]!.subarray(0, 3)
          await new Promise<never>(() => {})
        }
        const importing = storage.importCar(stalled(), { signal: controller.signal })
        setTimeout(() => controller.abort(), 20)
        return importing
      },
      'a first block that does not match its CID': () =>
        storage.importCar([
          header([cids[0]!]),
          ...section(cids[0]!, new TextEncoder().encode('other bytes')),
        ]),
      'more roots than maxBlocks': () => storage.importCar(chunks, { maxBlocks: 0 }),
    }
    for (const [label, refuse] of Object.entries(refusals)) {
      const outcome = refuse().then(
        () => 'imported',
        (err: unknown) => err,
      )
      // Before: the refusal waited for the exclusive lock to roll back nothing, that is for A to end.
      await expect.poll(settles(outcome), { timeout: 10_000, message: label }).toBe(true)
      expect(await outcome, label).toBeInstanceOf(Error)
      // and new writes are not queued behind it
      const put = storage.putBytes(new TextEncoder().encode(`written after ${label}`))
      await expect.poll(settles(put), { timeout: 10_000, message: label }).toBe(true)
      const stream = storage.putStream([new TextEncoder().encode(`streamed after ${label}`)])
      await expect.poll(settles(stream), { timeout: 10_000, message: label }).toBe(true)
      expect(await storage.isPinned(await put), label).toBe(true)
      expect(await storage.isPinned(await stream), label).toBe(true)
    }
    expect(aBlocks).toBe(1)
  } finally {
    stall.open()
  }
  // A goes on when its sender does
  expect(await a).toEqual([cids[0]])
  for (const cid of cids) expect(await storage.stat(cid)).toMatchObject({ localBlocks: 1 })
})

test('behavior: a refused CAR import that wrote blocks rolls them back without walking pinned DAGs it cannot reach', async () => {
  // A pinned DAG that lost its block (a dag-cbor root: the mark reads it): marking from every pin failed on it,
  // and the rollback then deleted nothing.
  const unrelated = await storage.putEnvelope({ note: 'pinned, then its file removed' })
  const [file] = await blockFiles()
  await rm(join(dir, 'blocks', file!))
  // one valid block, then a zero-length section
  const { chunks } = threeBlocks()
  const err = await storage.importCar([...chunks.slice(0, 3), Uint8Array.of(0x00)]).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'CarImportError' })
  expect(await blockFiles()).toEqual([])
  expect(await storage.isPinned(unrelated)).toBe(true)
})

test('attack: a CAR header naming more roots than maxBlocks is refused with CarTooLargeError, nothing pinned', async () => {
  // identity CIDs need no section, so before, a header alone made a pin of each, whatever maxBlocks said
  const roots = await Promise.all(
    Array.from({ length: 1000 }, async (_, i) =>
      CID.createV1(0x55, await identity.digest(new TextEncoder().encode(`root ${i}`))),
    ),
  )
  const err = await storage.importCar([header(roots)], { maxBlocks: 10 }).catch((e: unknown) => e)
  expect(err).toMatchObject({
    name: 'CarImportError',
    details: 'The CAR names 1000 roots, more than the limit of 10 blocks.',
  })
  expect((err as Error).cause).toMatchObject({
    name: 'CarTooLargeError',
    limit: 'maxBlocks',
    max: 10,
    count: 1000,
    roots: true,
  })
  for await (const pin of storage.listPins()) expect.unreachable(`pinned ${pin}`)
  // as many roots as maxBlocks are taken
  expect(await storage.importCar([header(roots.slice(0, 10))], { maxBlocks: 10 })).toHaveLength(10)
  for (const root of roots.slice(0, 10)) expect(await storage.isPinned(root)).toBe(true)
})

test('error: a CAR source yielding anything but Uint8Array chunks is refused with a TypeError, nothing kept', async () => {
  const { chunks } = threeBlocks()
  const wrong: Record<string, unknown> = {
    'a string': 'not bytes',
    'a number': 42,
    'a plain array': [1, 2, 3],
    'an empty plain array': [],
  }
  for (const [label, chunk] of Object.entries(wrong)) {
    // a chunk that counts as NaN bytes would have kept maxBytes from ever tripping on the ones after it
    async function* sender(): AsyncGenerator<Uint8Array> {
      yield* chunks.slice(0, 3)
      yield chunk as Uint8Array
      for (;;) yield new Uint8Array(64 * 1024)
    }
    const err = await storage.importCar(sender(), { maxBytes: 1024 * 1024 }).catch((e: unknown) => e)
    expect(err, label).toBeInstanceOf(TypeError)
    expect((err as Error).message, label).toBe('importCar sources must yield Uint8Array chunks.')
    expect(await blockFiles(), label).toEqual([])
  }
})
