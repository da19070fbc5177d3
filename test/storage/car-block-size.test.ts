/**
 * A CAR comes from a peer or an uploader, who chooses the size of every block in it. No medvault storage makes,
 * stores or serves a block over `MAX_BLOCK_SIZE` (2 MiB, the block size bitswap peers accept), so an import
 * refuses one, naming its place in the CAR and its CID (never its bytes), before reading it, and keeps nothing of
 * the CAR.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, MAX_BLOCK_SIZE, type Storage } from '@medvault/storage'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { header, RAW, rawCid, section, varint } from './car-bytes.ts'

let dir: string
let storage: Storage
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medvault-car-size-'))
  storage = await createStorage({ directory: dir })
})
afterEach(async () => {
  await storage.stop()
  await rm(dir, { recursive: true, force: true })
})

test('attack: a CAR holding a block over MAX_BLOCK_SIZE is refused, naming the block, and nothing of it is kept', async () => {
  const small = new TextEncoder().encode('a small valid block')
  const huge = new Uint8Array(MAX_BLOCK_SIZE + 1).fill(0x42)
  const [smallCid, hugeCid] = [rawCid(small), rawCid(huge)]
  for (const pin of [true, false]) {
    const err = await storage
      .importCar([header([smallCid]), ...section(smallCid, small), ...section(hugeCid, huge)], { pin })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'CarImportError' })
    expect((err as { details?: string }).details).toBe(
      `Block 1 of the CAR (${hugeCid}) is ${MAX_BLOCK_SIZE + 1} bytes, over the ${MAX_BLOCK_SIZE}-byte limit of a block.`,
    )
    expect((err as Error).cause).toMatchObject({
      name: 'BlockTooLargeError',
      cid: hugeCid.toString(),
      bytes: MAX_BLOCK_SIZE + 1,
      maxBytes: MAX_BLOCK_SIZE,
    })
    // The small block before it was written, then rolled back; the large one never was.
    expect(await storage.stat(smallCid)).toMatchObject({ localBlocks: 0 })
    expect(await storage.stat(hugeCid)).toMatchObject({ localBlocks: 0 })
    expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
  }
})

/**
 * What a sender streams after the lengths it declares: `total` bytes in 1 KiB chunks, made only as the import
 * pulls them; `pulled()` says how many bytes it took.
 */
function lazyBody(total = 4 * 1024 * 1024) {
  let pulled = 0
  return {
    pulled: () => pulled,
    async *chunks(): AsyncGenerator<Uint8Array> {
      const chunk = new Uint8Array(1024)
      while (pulled < total) {
        pulled += chunk.length
        yield chunk
      }
    },
  }
}

/** The longest section read: a block of MAX_BLOCK_SIZE and the longest CID accepted. */
const MAX_SECTION = MAX_BLOCK_SIZE + 200

test('attack: a section declared larger than the limit is refused before its CID or bytes are read', async () => {
  // The sender declares a 1 GiB section and would stream it: the import stops at the declaration, instead of
  // gathering the stream in memory until the declared length or the end.
  const small = new TextEncoder().encode('a small valid block')
  const smallCid = rawCid(small)
  const body = lazyBody()
  async function* source(): AsyncGenerator<Uint8Array> {
    yield header([])
    yield* section(smallCid, small)
    yield Uint8Array.from(varint(2 ** 30))
    yield* body.chunks()
  }
  const err = await storage.importCar(source(), { pin: false }).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'CarImportError' })
  expect((err as { details?: string }).details).toBe(
    `Block 1 of the CAR declares a section of ${2 ** 30} bytes, over the ${MAX_SECTION}-byte limit of a block and its CID.`,
  )
  expect((err as Error).cause).toMatchObject({
    name: 'CarSectionTooLargeError',
    section: 1,
    bytes: 2 ** 30,
    maxBytes: MAX_SECTION,
  })
  expect(body.pulled()).toBeLessThanOrEqual(1024)
  // the block before it was rolled back
  expect(await storage.stat(smallCid)).toMatchObject({ localBlocks: 0 })
})

test('attack: a CID declaring a huge digest is refused before the digest is read', async () => {
  // The section's length is within the limit, but its CID (v1, raw, sha2-256) says its digest is 1 GiB long: a
  // reader that waits for the whole CID before checking anything gathers the stream in memory.
  const small = new TextEncoder().encode('a small valid block')
  const smallCid = rawCid(small)
  const body = lazyBody()
  async function* source(): AsyncGenerator<Uint8Array> {
    yield header([])
    yield* section(smallCid, small)
    yield Uint8Array.from([...varint(1024 * 1024), 0x01, RAW, 0x12, ...varint(2 ** 30)])
    yield* body.chunks()
  }
  const err = await storage.importCar(source(), { pin: false }).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'CarImportError' })
  const cidLength = 3 + varint(2 ** 30).length + 2 ** 30
  expect((err as { details?: string }).details).toBe(
    `Block 1 of the CAR starts with a CID of ${cidLength} bytes, over the 200-byte limit of a CID.`,
  )
  expect(body.pulled()).toBeLessThanOrEqual(1024)
  expect(await storage.stat(smallCid)).toMatchObject({ localBlocks: 0 })
  expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
})

test('attack: a CAR header declared larger than 64 KiB is refused before it is read', async () => {
  const body = lazyBody()
  async function* source(): AsyncGenerator<Uint8Array> {
    yield Uint8Array.from(varint(2 ** 30))
    yield* body.chunks()
  }
  const err = await storage.importCar(source()).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'CarImportError' })
  expect((err as { details?: string }).details).toBe(
    `The CAR header declares ${2 ** 30} bytes, over the 65536-byte limit of a header.`,
  )
  expect((err as Error).cause).toMatchObject({
    name: 'CarSectionTooLargeError',
    section: 'header',
    bytes: 2 ** 30,
    maxBytes: 65536,
  })
  expect(body.pulled()).toBeLessThanOrEqual(1024)
})

test('default: a block of exactly MAX_BLOCK_SIZE bytes is imported', async () => {
  const bytes = new Uint8Array(MAX_BLOCK_SIZE).fill(7)
  const cid = rawCid(bytes)
  expect((await storage.importCar([header([cid]), ...section(cid, bytes)])).map(String)).toEqual([
    cid.toString(),
  ])
  expect(await storage.stat(cid)).toMatchObject({ local: true, localBlocks: 1 })
})

/** A CARv2 around a CARv1 payload (pragma, 40-byte header, payload), with `trailer` after the payload. */
function carV2(
  v1: Uint8Array[],
  trailer = new Uint8Array(0),
  declared: { dataOffset?: bigint; dataSize?: bigint } = {},
): Uint8Array[] {
  const length = v1.reduce((n, part) => n + part.length, 0)
  const pragma = [0x0a, 0xa1, 0x67, ...Buffer.from('version'), 0x02]
  const header = new Uint8Array(40)
  const view = new DataView(header.buffer)
  view.setBigUint64(16, declared.dataOffset ?? BigInt(pragma.length + 40), true)
  view.setBigUint64(24, declared.dataSize ?? BigInt(length), true)
  return [Uint8Array.from([...pragma, ...header]), ...v1, trailer]
}

test('behavior: a CARv2 is read the same way: its payload imported, an oversized block in it refused', async () => {
  const bytes = new TextEncoder().encode('in a CARv2')
  const cid = rawCid(bytes)
  // Bytes after the payload (where an index would be) are not read as blocks.
  const trailer = Uint8Array.from([0xff, 0xff, 0xff, 0xff])
  expect(
    (await storage.importCar(carV2([header([cid]), ...section(cid, bytes)], trailer))).map(String),
  ).toEqual([cid.toString()])
  const huge = new Uint8Array(MAX_BLOCK_SIZE + 1)
  const hugeCid = rawCid(huge)
  const err = await storage
    .importCar(carV2([header([]), ...section(hugeCid, huge)]), { pin: false })
    .catch((e: unknown) => e)
  expect((err as Error).cause).toMatchObject({ name: 'BlockTooLargeError', cid: hugeCid.toString() })
})

test('attack: a CARv2 whose inner CARv1 header is declared larger than 64 KiB is refused before it is read', async () => {
  const body = lazyBody()
  async function* source(): AsyncGenerator<Uint8Array> {
    yield* carV2([Uint8Array.from(varint(2 ** 30))])
    yield* body.chunks()
  }
  const err = await storage.importCar(source()).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'CarImportError' })
  expect((err as Error).cause).toMatchObject({
    name: 'CarSectionTooLargeError',
    section: 'header',
    bytes: 2 ** 30,
  })
  expect(body.pulled()).toBeLessThanOrEqual(1024)
})

test('default: a header of exactly 64 KiB is read (and, not a CAR header, refused as unreadable)', async () => {
  // dag-cbor padding is not a valid header: what matters is that the length itself is accepted.
  const err = await storage
    .importCar([Uint8Array.from(varint(65536)), new Uint8Array(65536)])
    .catch((e: unknown) => e)
  expect((err as { details?: string }).details).toBe('The stream is not a readable CAR (v1 or v2) header.')
})

test('default: a section of exactly the limit is read: a block of MAX_BLOCK_SIZE with a padded section is refused as a block, naming its CID', async () => {
  // an identity-free CID of 36 bytes leaves 164 bytes over MAX_BLOCK_SIZE for the block: refused by the block
  // limit, after the CID was read, so the error names it
  const huge = new Uint8Array(MAX_SECTION - 36)
  const cid = rawCid(huge)
  const err = await storage
    .importCar([header([]), ...section(cid, huge)], { pin: false })
    .catch((e: unknown) => e)
  expect((err as Error).cause).toMatchObject({
    name: 'BlockTooLargeError',
    cid: cid.toString(),
    bytes: MAX_SECTION - 36,
  })
})

/** The 11-byte pragma and the 40-byte CARv2 header: where the payload starts when nothing lies between. */
const V2_HEADER_END = 51

test('attack: a CARv2 whose dataOffset lies far past its header is refused before the stream is pulled up to it', async () => {
  // Reading up to the declared offset would pull and drop the whole stream (up to 2^62 bytes) before refusing it.
  const body = lazyBody()
  async function* source(): AsyncGenerator<Uint8Array> {
    yield* carV2([], undefined, { dataOffset: 2n ** 62n })
    yield* body.chunks()
  }
  const err = await storage.importCar(source(), { pin: false }).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'CarImportError' })
  expect((err as Error).cause).toMatchObject({
    name: 'CarV2RangeError',
    field: 'dataOffset',
    declared: 2 ** 62,
    min: V2_HEADER_END,
    max: V2_HEADER_END + 65536,
  })
  expect(body.pulled()).toBeLessThanOrEqual(1024)
})

test('default: a CARv2 whose payload starts up to 64 KiB after its header is read', async () => {
  const bytes = new TextEncoder().encode('after padding')
  const cid = rawCid(bytes)
  const gap = new Uint8Array(65536)
  const [head, ...payload] = carV2([header([cid]), ...section(cid, bytes)], undefined, {
    dataOffset: BigInt(V2_HEADER_END + gap.length),
  })
  expect((await storage.importCar([head as Uint8Array, gap, ...payload])).map(String)).toEqual([
    cid.toString(),
  ])
})

test('attack: a CARv2 whose dataOffset points back into its header is refused', async () => {
  // A backwards skip leaves the reader at a negative position: what it read from there would be garbage.
  const bytes = new TextEncoder().encode('in a CARv2')
  const cid = rawCid(bytes)
  for (const dataOffset of [0n, 50n]) {
    const err = await storage
      .importCar(carV2([header([cid]), ...section(cid, bytes)], undefined, { dataOffset }), { pin: false })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'CarImportError' })
    expect((err as Error).cause).toMatchObject({
      name: 'CarV2RangeError',
      field: 'dataOffset',
      declared: Number(dataOffset),
      min: V2_HEADER_END,
    })
    expect(await storage.stat(cid)).toMatchObject({ localBlocks: 0 })
  }
})

test('attack: a CARv2 whose dataSize is shorter than its payload header is refused, nothing kept', async () => {
  const bytes = new TextEncoder().encode('in a CARv2')
  const cid = rawCid(bytes)
  const inner = header([cid])
  for (const dataSize of [0n, BigInt(inner.length - 1)]) {
    const err = await storage
      .importCar(carV2([inner, ...section(cid, bytes)], undefined, { dataSize }), { pin: false })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'CarImportError' })
    expect((err as Error).cause).toMatchObject({
      name: 'CarV2RangeError',
      field: 'dataSize',
      declared: Number(dataSize),
      min: inner.length,
    })
    expect(await storage.stat(cid)).toMatchObject({ localBlocks: 0 })
  }
  // a dataSize of exactly the payload header is an empty payload: no block, nothing refused
  expect(
    await storage.importCar(
      carV2([inner, ...section(cid, bytes)], undefined, { dataSize: BigInt(inner.length) }),
      {
        pin: false,
      },
    ),
  ).toEqual([cid])
  expect(await storage.stat(cid)).toMatchObject({ localBlocks: 0 })
})

test('attack: malformed sections are refused with a CarImportError and roll back the blocks before them', async () => {
  const small = new TextEncoder().encode('a small valid block')
  const smallCid = rawCid(small)
  const digest = createHash('sha256').update(small).digest()
  // each with the reason it is refused for: a reader that failed on it for another reason (a truncated stream, a
  // length misread) would not pass
  const malformed: Record<string, { bytes: Uint8Array; reason: RegExp }> = {
    'a zero-length section': {
      bytes: Uint8Array.from([0x00]),
      reason: /^Invalid CAR section 1 \(zero length\)$/,
    },
    'an unterminated 8-byte length': {
      bytes: new Uint8Array(8).fill(0xff),
      reason: /^Invalid CAR section 1 \(unreadable length\)$/,
    },
    'a section shorter than its CID': {
      bytes: Uint8Array.from([...varint(10), ...smallCid.bytes, ...small]),
      reason: /^Invalid CAR section 1 \(its CID is cut short\)$/,
    },
    'a CID of version 2': {
      bytes: Uint8Array.from([...varint(36 + small.length), 0x02, RAW, 0x12, 0x20, ...digest, ...small]),
      reason: /^Invalid CID version 2$/,
    },
  }
  for (const [label, { bytes, reason }] of Object.entries(malformed)) {
    const err = await storage
      .importCar([header([]), ...section(smallCid, small), bytes], { pin: false })
      .catch((e: unknown) => e)
    expect(err, label).toMatchObject({
      name: 'CarImportError',
      details: 'The CAR stream is truncated or malformed.',
    })
    expect(((err as Error).cause as Error).message, label).toMatch(reason)
    expect(await storage.stat(smallCid), label).toMatchObject({ localBlocks: 0 })
  }
})
