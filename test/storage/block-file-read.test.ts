/**
 * The Node blockstore's files can be changed by another program or a damaged file system. A file over
 * `MAX_BLOCK_SIZE` under a block's name is not this storage's (it writes no larger block), so it is refused
 * unread with `BlockTooLargeError` instead of being read whole, whatever its size; a file that exists but cannot
 * be read is a `BlockReadError`, not a missing block; a missing one is still `NotFoundError`.
 */
import { mkdir, mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, MAX_BLOCK_SIZE, type Storage } from '@medvault/storage'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { concat } from './helpers.ts'

let dir: string
let storage: Storage
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medvault-block-file-'))
  storage = await createStorage({ directory: dir })
})
afterEach(async () => {
  await storage.stop()
  await rm(dir, { recursive: true, force: true })
})

/** A one-block file put and pinned, and the path of its block file. */
async function oneBlock() {
  const cid = await storage.putBytes(new TextEncoder().encode('one raw block'))
  const files = (await readdir(join(dir, 'blocks'), { recursive: true })).filter((f) => f.endsWith('.data'))
  expect(files).toHaveLength(1)
  return { cid, path: join(dir, 'blocks', files[0]!) }
}

test('attack: a block file grown past MAX_BLOCK_SIZE is refused unread with BlockTooLargeError, and left in place', async () => {
  const { cid, path } = await oneBlock()
  // Sparse: no disk space taken, but reading it whole would allocate all of it.
  const size = 64 * 1024 * 1024
  await truncate(path, size)
  const err = await concat(storage.get(cid)).catch((e: unknown) => e)
  expect(err).toMatchObject({
    name: 'BlockTooLargeError',
    cid: cid.toString(),
    bytes: size,
    maxBytes: MAX_BLOCK_SIZE,
  })
  expect((err as { shortMessage: string }).shortMessage).toBe(
    `Block ${cid} is ${size} bytes, over the ${MAX_BLOCK_SIZE}-byte limit of a block.`,
  )
  // Not proven wrong, so not deleted: gc takes it once no pin reaches it.
  expect((await stat(path)).size).toBe(size)
  await storage.unpin(cid)
  expect(await storage.gc()).toEqual({ removed: 1, kept: 0 })
})

test('behavior: a pinned block whose file grew past MAX_BLOCK_SIZE is healed by putting or importing the same content again', async () => {
  const content = new TextEncoder().encode('one raw block')
  const { cid, path } = await oneBlock()
  const car = await concat(storage.exportCar(cid))
  const heals = {
    put: () => storage.putBytes(content),
    importCar: async () => (await storage.importCar([car]))[0]!,
  }
  for (const [how, heal] of Object.entries(heals)) {
    await truncate(path, 64 * 1024 * 1024)
    await expect(concat(storage.get(cid)), how).rejects.toMatchObject({ name: 'BlockTooLargeError' })
    // The oversized file counts as a missing block, so the write is not skipped as a block already there.
    expect((await heal()).toString(), how).toBe(cid.toString())
    expect((await stat(path)).size, how).toBe(content.length)
    expect(Buffer.from(await concat(storage.get(cid))).toString(), how).toBe('one raw block')
  }
  expect((await storage.stat(cid)).local).toBe(true)
})

test('behavior: a block read from disk owns exactly its bytes: nothing else in its ArrayBuffer or a structured clone of it', async () => {
  const contents = [
    new TextEncoder().encode('a block of a few bytes'),
    new Uint8Array(1024 * 1024).map((_, i) => i % 251),
  ]
  for (const content of contents) {
    const cid = await storage.putBytes(content)
    const chunks: Uint8Array[] = []
    for await (const chunk of storage.helia.blockstore.get(cid)) chunks.push(chunk)
    expect(chunks).toHaveLength(1)
    const [block] = chunks as [Uint8Array]
    expect(Buffer.compare(block, content)).toBe(0)
    expect([block.byteOffset, block.buffer.byteLength]).toEqual([0, content.length])
    expect(structuredClone(block.buffer).byteLength).toBe(content.length)
  }
})

test('default: a block file of exactly MAX_BLOCK_SIZE bytes is read (and, not matching its CID, refused as damaged)', async () => {
  const { cid, path } = await oneBlock()
  await truncate(path, MAX_BLOCK_SIZE)
  await expect(concat(storage.get(cid))).rejects.toMatchObject({ name: 'BlockVerificationError' })
})

test('error: a block file that cannot be read is BlockReadError with its code, not a missing block', async () => {
  const { cid, path } = await oneBlock()
  await rm(path)
  await mkdir(path)
  const err = await concat(storage.get(cid)).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'BlockReadError', cid: cid.toString(), code: 'EISDIR' })
  expect((err as { shortMessage: string }).shortMessage).toBe(
    `Block ${cid} could not be read from the local blockstore (EISDIR).`,
  )
  expect((err as Error).message).not.toContain(dir)
})

test('default: a missing block file is still NotFoundError', async () => {
  const { cid, path } = await oneBlock()
  await rm(path)
  await expect(concat(storage.get(cid))).rejects.toMatchObject({ name: 'NotFoundError' })
})

test('error: a block over MAX_BLOCK_SIZE is never written (an envelope that large)', async () => {
  const err = await storage
    .putEnvelope({ note: 'x'.repeat(MAX_BLOCK_SIZE) }, { pin: false })
    .catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'BlockTooLargeError', maxBytes: MAX_BLOCK_SIZE })
  expect(
    (await readdir(join(dir, 'blocks'), { recursive: true })).filter((f) => f.endsWith('.data')),
  ).toEqual([])
})

test('behavior: a dag-pb root whose file grew past MAX_BLOCK_SIZE is fetched from a peer on read, and healed', async () => {
  // Raw leaves are skipped as missing before they are read; a root, a directory or an envelope is read, and an
  // oversized file there must not stop the read from asking the network, which holds the block.
  const content = new Uint8Array(1536 * 1024).map((_, i) => (i * 7) % 251)
  const peer = await createStorage({ network: {}, blockTimeoutMs: 10_000 })
  const networkedDir = await mkdtemp(join(tmpdir(), 'medvault-block-file-net-'))
  const networked = await createStorage({
    directory: networkedDir,
    network: {},
    blockTimeoutMs: 10_000,
  })
  try {
    const cid = await networked.putBytes(content)
    expect((await peer.putBytes(content)).toString()).toBe(cid.toString())
    expect(cid.code).toBe(0x70)
    // The root is the smallest block file: two 1 MiB-or-less leaves and a dag-pb node of a few dozen bytes.
    const blocks = join(networkedDir, 'blocks')
    const files = (await readdir(blocks, { recursive: true })).filter((f) => f.endsWith('.data'))
    const sizes = await Promise.all(files.map(async (f) => ({ f, size: (await stat(join(blocks, f))).size })))
    const root = sizes.sort((x, y) => x.size - y.size)[0]!
    const rootPath = join(blocks, root.f)
    await truncate(rootPath, 64 * 1024 * 1024)
    await networked.connect(peer.multiaddrs()[0]!)
    expect(Buffer.from(await concat(networked.get(cid))).equals(Buffer.from(content))).toBe(true)
    expect((await stat(rootPath)).size).toBe(root.size)
  } finally {
    await networked.stop()
    await peer.stop()
    await rm(networkedDir, { recursive: true, force: true })
  }
})
