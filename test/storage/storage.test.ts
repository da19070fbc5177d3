import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CID, createStorage, type Storage, type StorageProgressEvent } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { concat, det, sha256Hex, tempDir } from './helpers.ts'

const MiB = 1_048_576
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name))

let dir: Awaited<ReturnType<typeof tempDir>>
let storage: Storage
beforeAll(async () => {
  dir = await tempDir()
  storage = await createStorage({ directory: dir.path })
})
afterAll(async () => {
  await storage.stop()
  await dir.remove()
})

describe('round trips on a persistent store', () => {
  for (const [name, size] of [
    ['0 B', 0],
    ['1 B', 1],
    ['exactly one chunk', MiB],
    ['one chunk + 1 byte', MiB + 1],
  ] as const) {
    test(`default: ${name}`, async () => {
      const bytes = await concat(det(size, `rt-${size}`))
      const cid = await storage.putBytes(bytes)
      expect(await concat(storage.get(cid))).toEqual(bytes)
      expect(await concat(storage.get(cid.toString()))).toEqual(bytes)
      const stat = await storage.stat(cid)
      expect(stat).toMatchObject({ size, local: true, pinned: true })
    })
  }

  test('behavior: 100 MiB streamed in and out, never held whole, with progress', async () => {
    const size = 100 * MiB
    const events: StorageProgressEvent[] = []
    const cid = await storage.putStream(det(size, 'rt-100'), { onProgress: (e) => events.push(e) })
    expect(events.at(-1)).toEqual({ type: 'storage:put:bytes', bytes: size })
    expect(events.length).toBeGreaterThanOrEqual(100)
    const expectedHash = await sha256Hex(det(size, 'rt-100'))
    let last = 0
    const got = await sha256Hex(
      storage.get(cid, {
        onProgress: (e) => {
          last = e.bytes
        },
      }),
    )
    expect(got).toEqual(expectedHash)
    expect(last).toBe(size)
    expect(await storage.stat(cid)).toMatchObject({ size, blocks: 101, localBlocks: 101, local: true })
  })

  test('behavior: ranged reads return exactly the requested bytes, across chunk boundaries', async () => {
    const size = 3 * MiB + 123
    const all = await concat(det(size, 'ranges'))
    const cid = await storage.putBytes(all)
    for (const [offset, length] of [
      [0, 10],
      [MiB - 5, 10],
      [2 * MiB + 1, MiB],
      [size - 1, 1],
      [size - 3, 100],
      [size, 10],
    ] as const) {
      const part = await concat(storage.get(cid, { offset, length }))
      expect(Buffer.from(part).equals(Buffer.from(all.subarray(offset, offset + length)))).toBe(true)
    }
    expect((await concat(storage.get(cid, { offset: MiB }))).byteLength).toBe(size - MiB)
  })
})

describe('envelopes', () => {
  test('default: dag-cbor round trip with links', async () => {
    const content = await storage.putBytes(new Uint8Array([1, 2, 3]))
    const value = { v: 1, content, size: 3, capsule: new Uint8Array([9, 9]), meta: { tags: ['a'] } }
    const cid = await storage.putEnvelope(value)
    expect(cid.code).toBe(0x71)
    expect(cid.version).toBe(1)
    expect(await storage.getEnvelope(cid)).toEqual(value)
    expect(await storage.stat(cid)).toMatchObject({ codec: 'dag-cbor', blocks: 2, local: true, pinned: true })
  })

  test('error: a value outside the IPLD data model is refused with a TypeError', async () => {
    await expect(storage.putEnvelope({ a: undefined })).rejects.toThrow(TypeError)
    await expect(storage.putEnvelope({ f: () => 1 })).rejects.toThrow(TypeError)
  })

  test('error: getEnvelope of a UnixFS CID and get of an envelope are refused', async () => {
    const file = await storage.putBytes(new Uint8Array([1]))
    const env = await storage.putEnvelope({ a: 1 })
    await expect(storage.getEnvelope(file)).rejects.toMatchObject({ name: 'NotAnEnvelopeError' })
    await expect(concat(storage.get(env))).rejects.toMatchObject({ name: 'NotAFileError' })
  })
})

describe('pins and gc', () => {
  test('default: puts are pinned, gc keeps pinned DAGs and removes unpinned ones', async () => {
    const kept = await storage.putStream(det(2 * MiB + 5, 'keep'))
    const dropped = await storage.putStream(det(2 * MiB + 5, 'drop'), { pin: false })
    expect(await storage.isPinned(kept)).toBe(true)
    expect(await storage.isPinned(dropped)).toBe(false)
    const result = await storage.gc()
    expect(result.removed).toBeGreaterThanOrEqual(4)
    expect(await storage.stat(kept)).toMatchObject({ local: true, localBlocks: 4 })
    expect(await storage.stat(dropped)).toMatchObject({ local: false, localBlocks: 0 })
    expect(await sha256Hex(storage.get(kept))).toEqual(await sha256Hex(det(2 * MiB + 5, 'keep')))
  })

  test('behavior: unpin then gc frees the DAG; pin again on a local DAG restores protection', async () => {
    const cid = await storage.putStream(det(MiB + 1, 'unpin-me'))
    expect(await storage.unpin(cid)).toBe(true)
    expect(await storage.unpin(cid)).toBe(false)
    await storage.pin(cid)
    expect(await storage.isPinned(cid)).toBe(true)
    await storage.gc()
    expect((await storage.stat(cid)).local).toBe(true)
    await storage.unpin(cid)
    await storage.gc()
    expect((await storage.stat(cid)).localBlocks).toBe(0)
  })

  test('behavior: a block shared by a pinned and an unpinned DAG survives gc', async () => {
    // the same 1 MiB leaf appears in both files (same bytes at the same chunk offset)
    const a = await storage.putStream(det(MiB + 10, 'shared'))
    const b = await storage.putStream(det(MiB + 20, 'shared'))
    await storage.unpin(b)
    await storage.gc()
    expect(await sha256Hex(storage.get(a))).toEqual(await sha256Hex(det(MiB + 10, 'shared')))
  })

  test('behavior: pin, gc, and CAR export/import report progress per block', async () => {
    const cid = await storage.putStream(det(2 * MiB + 1, 'progress'), { pin: false })
    const pinEvents: StorageProgressEvent[] = []
    await storage.pin(cid, { onProgress: (e) => pinEvents.push(e) })
    expect(pinEvents.at(-1)).toMatchObject({ type: 'storage:pin:block', blocks: 4 })
    const exportEvents: StorageProgressEvent[] = []
    const car = await concat(storage.exportCar(cid, { onProgress: (e) => exportEvents.push(e) }))
    expect(exportEvents.map((e) => e.type)).toEqual(Array(4).fill('storage:car:export:block'))
    const other = await createStorage()
    try {
      const importEvents: StorageProgressEvent[] = []
      await other.importCar([car], { onProgress: (e) => importEvents.push(e) })
      expect(importEvents.at(-1)).toMatchObject({ type: 'storage:car:import:block', blocks: 4 })
      await other.unpin(cid)
      const gcEvents: StorageProgressEvent[] = []
      expect(await other.gc({ onProgress: (e) => gcEvents.push(e) })).toEqual({ removed: 4, kept: 0 })
      expect(gcEvents.at(-1)).toMatchObject({ type: 'storage:gc:removed', removed: 4 })
    } finally {
      await other.stop()
    }
  })

  test('behavior: listPins lists every pinned root, envelope pins keep their linked content', async () => {
    const file = await storage.putBytes(new Uint8Array([4, 5, 6]), { pin: false })
    const env = await storage.putEnvelope({ content: file })
    const pins: string[] = []
    for await (const c of storage.listPins()) pins.push(c.toString())
    expect(pins).toContain(env.toString())
    expect(pins).not.toContain(file.toString())
    await storage.gc()
    expect(await concat(storage.get(file))).toEqual(new Uint8Array([4, 5, 6]))
  })
})

describe('CAR', () => {
  test('default: export then import into another storage gives the same bytes and CIDs', async () => {
    const cid = await storage.putStream(det(3 * MiB, 'car'))
    const car = await concat(storage.exportCar(cid))
    const other = await createStorage()
    try {
      const roots = await other.importCar([car])
      expect(roots.map(String)).toEqual([cid.toString()])
      expect(await other.isPinned(cid)).toBe(true)
      expect(await sha256Hex(other.get(cid))).toEqual(await sha256Hex(det(3 * MiB, 'car')))
    } finally {
      await other.stop()
    }
  })

  test('behavior: a consumer that stops reading an export early does not leave it hanging', async () => {
    const cid = await storage.putStream(det(4 * MiB, 'car-early'))
    let chunks = 0
    for await (const _ of storage.exportCar(cid)) {
      if (++chunks === 2) break
    }
    expect(chunks).toBe(2)
    // the storage is still usable (and stop() in afterAll does not hang)
    expect((await concat(storage.exportCar(cid))).byteLength).toBeGreaterThan(4 * MiB)
  })

  test('behavior: imports a CAR exported by Kubo (gateway-conformance fixture)', async () => {
    const other = await createStorage()
    try {
      const roots = await other.importCar([fixture('dir-with-files.car')])
      expect(roots.map(String)).toEqual(['bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy'])
      const stat = await other.stat(roots[0]!)
      expect(stat).toMatchObject({ local: true, pinned: true })
      // the multiblock file inside, by its Kubo CID (fixture table)
      const multiblock = CID.parse('bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa')
      expect(Buffer.from(await concat(other.get(multiblock)))).toEqual(fixture('gwc-multiblock.txt'))
      await expect(concat(other.get(roots[0]!))).rejects.toMatchObject({ name: 'NotAFileError' })
    } finally {
      await other.stop()
    }
  })

  test('error: a CAR missing a block of its DAG is refused when pinning, nothing kept', async () => {
    const other = await createStorage()
    try {
      await expect(
        other.importCar([fixture('file-3k-and-3-blocks-missing-block.car')]),
      ).rejects.toMatchObject({
        name: 'CarImportError',
      })
      // nothing was kept: no block to remove, none pinned
      expect(await other.gc()).toEqual({ removed: 0, kept: 0 })
      const roots = await other.importCar([fixture('file-3k-and-3-blocks-missing-block.car')], { pin: false })
      expect(roots.map(String)).toEqual(['QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk'])
      expect(await other.stat(roots[0]!)).toMatchObject({ local: false, blocks: 4, localBlocks: 3 })
    } finally {
      await other.stop()
    }
  })

  test('error: a CAR with a block whose bytes do not match its CID is refused, nothing written', async () => {
    // A valid CAR (an envelope, then the leaf it links to) with the last byte of the leaf flipped.
    const leaf = await storage.putBytes(new TextEncoder().encode('leaf bytes'), { pin: false })
    const env = await storage.putEnvelope({ leaf }, { pin: false })
    const car = await concat(storage.exportCar(env))
    car[car.length - 1]! ^= 0x01
    const other = await createStorage()
    try {
      const err = await other.importCar([car], { pin: false }).catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'CarImportError' })
      expect((err as Error).message).toContain(leaf.toString())
      expect((err as Error).cause).toMatchObject({ name: 'BlockVerificationError' })
      // the envelope block came first and was valid: it was rolled back too
      expect(await other.stat(env)).toMatchObject({ localBlocks: 0 })
      expect(await other.gc()).toEqual({ removed: 0, kept: 0 })
    } finally {
      await other.stop()
    }
  })

  test('error: bytes that are not a CAR are refused', async () => {
    await expect(storage.importCar([new TextEncoder().encode('not a car')])).rejects.toMatchObject({
      name: 'CarImportError',
    })
  })
})

describe('errors', () => {
  test('error: malformed CID strings and non-CIDs', async () => {
    await expect(storage.stat('bafy-not-a-cid')).rejects.toMatchObject({ name: 'InvalidCidError' })
    await expect(concat(storage.get('Qm123'))).rejects.toMatchObject({ name: 'InvalidCidError' })
    await expect(storage.pin(42 as unknown as string)).rejects.toThrowErrorMatchingInlineSnapshot(`
      [InvalidCidError: Invalid CID.

      Pass a CID object or a CID string such as "bafy…" (CIDv1) or "Qm…" (CIDv0).

      Details: Expected a CID or a CID string, got number.]
    `)
  })

  test('error: a CID that is nowhere to be had (embedded store: at once)', async () => {
    const missing = 'bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
    const err = await concat(storage.get(missing)).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'NotFoundError', cid: missing })
    expect((err as Error).message).toMatchInlineSnapshot(`
      "Block bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa was not found.

      This storage has no network and no gateways, so only local blocks can be read."
    `)
    await expect(
      storage.getEnvelope('bafyreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
    })
    await expect(storage.pin(missing)).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(await storage.isPinned(missing)).toBe(false)
  })

  test('error: negative ranges are refused', async () => {
    const cid = await storage.putBytes(new Uint8Array([1]))
    await expect(concat(storage.get(cid, { offset: -1 }))).rejects.toThrow(RangeError)
  })

  test('error: an already aborted signal is passed through as AbortError', async () => {
    await expect(storage.putBytes(new Uint8Array(10), { signal: AbortSignal.abort() })).rejects.toMatchObject(
      {
        name: 'AbortError',
      },
    )
  })

  test('behavior: a storage can be stopped and started again', async () => {
    const s = await createStorage({ directory: join(dir.path, 'restart') })
    const cid = await s.putBytes(new Uint8Array([1, 2, 3]))
    await s.stop()
    expect(s.status).toBe('stopped')
    await s.start()
    expect(s.status).toBe('started')
    expect(await concat(s.get(cid))).toEqual(new Uint8Array([1, 2, 3]))
    await s.stop()
  })

  test('error: every operation on a stopped storage throws StorageClosedError', async () => {
    const s = await createStorage()
    await s.stop()
    await expect(s.putBytes(new Uint8Array(1))).rejects.toThrowErrorMatchingInlineSnapshot(`
      [StorageClosedError: Cannot putStream: the storage is stopped.

      Call \`start()\` first, or create a new storage after \`stop()\`.]
    `)
    await expect(
      concat(s.get('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')),
    ).rejects.toMatchObject({
      name: 'StorageClosedError',
    })
    await expect(s.gc()).rejects.toMatchObject({ name: 'StorageClosedError' })
    await expect(s.importCar([])).rejects.toMatchObject({ name: 'StorageClosedError' })
  })
})
