/**
 * Identity CIDs hold their block, and that block may link to others: a dag-cbor node `{ link }` or a small
 * dag-pb directory hashed with identity is a node of the DAG like any other. Every walk (pin, gc's mark, CAR
 * export, stat, pin's `maxBytes`) follows the links inside it. Real Helia stores on disk, and two real libp2p
 * nodes on 127.0.0.1 where a block has to come from a peer.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { CarBlockIterator } from '@ipld/car/iterator'
import { CarWriter } from '@ipld/car/writer'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { afterEach, describe, expect, test } from 'vitest'
import { MAX_INLINE_DEPTH } from './dag.ts'
import { DagTooLargeError, InlineDagTooDeepError, UnsupportedCodecError } from './errors.ts'
import { createStorage } from './index.ts'
import type { Storage, StorageInit } from './types.ts'
import { collect } from './verify.ts'

const MiB = 1_048_576

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A storage on disk in a fresh temporary directory, removed after the test. */
async function onDisk(init: StorageInit = {}): Promise<Storage> {
  const directory = await mkdtemp(join(tmpdir(), 'medvault-inline-'))
  cleanups.push(() => rm(directory, { recursive: true, force: true }))
  const storage = await createStorage({ directory, ...init })
  cleanups.push(() => storage.stop())
  return storage
}

/** A dag-cbor node hashed with identity: the CID is the block. */
function inlineCbor(value: unknown): CID {
  const bytes = dagCbor.encode(value)
  expect(bytes.length).toBeLessThanOrEqual(128)
  return CID.createV1(dagCbor.code, identity.digest(bytes))
}

/** A UnixFS directory of one entry, hashed with identity (what `ipfs add --inline` makes of a small one). */
function inlineDirectory(name: string, child: CID, tsize: number): CID {
  const bytes = dagPb.encode(
    dagPb.prepare({
      Data: new UnixFS({ type: 'directory' }).marshal(),
      Links: [{ Hash: child, Name: name, Tsize: tsize }],
    }),
  )
  expect(bytes.length).toBeLessThanOrEqual(128)
  return CID.createV1(dagPb.code, identity.digest(bytes))
}

/** A file of three blocks (a dag-pb root over two 1 MiB-chunked raw leaves), not pinned. */
async function unpinnedFile(storage: Storage): Promise<{ cid: CID; bytes: Uint8Array; blockBytes: number }> {
  const bytes = randomBytes(MiB + 4_096)
  const cid = await storage.putBytes(bytes, { pin: false })
  const blockBytes = bytes.length + (await collect(storage.helia.blockstore.get(cid))).length
  return { cid, bytes, blockBytes }
}

/** The roots under test, each reaching `child` only through identity nodes. */
function inlineRoots(child: CID, tsize: number): Array<[string, CID]> {
  return [
    ['a dag-cbor identity node', inlineCbor({ link: child })],
    ['a dag-pb identity directory', inlineDirectory('record.bin', child, tsize)],
    ['an identity node inside an identity node', inlineCbor({ inner: inlineDirectory('r', child, tsize) })],
  ]
}

describe('gc', () => {
  test('attack: a pinned identity node keeps the blocks it links to through gc', async () => {
    const s = await onDisk()
    const { cid: child, bytes, blockBytes } = await unpinnedFile(s)
    for (const [what, root] of inlineRoots(child, blockBytes)) {
      await s.pin(root)
      expect(await s.isPinned(root)).toBe(true)
      const { removed } = await s.gc()
      expect(removed, what).toBe(0)
      expect(await s.stat(child), what).toMatchObject({ local: true, blocks: 3, localBlocks: 3 })
      expect(Buffer.from(await collect(s.get(child))).equals(bytes), what).toBe(true)
      // once unpinned, the child is garbage again
      await s.unpin(root)
      await s.gc()
      expect(await s.stat(child), what).toMatchObject({ local: false, localBlocks: 0 })
      await s.putBytes(bytes, { pin: false })
    }
  })

  test('attack: a pinned envelope linking an identity node keeps what that node links to', async () => {
    const s = await onDisk()
    const { cid: child, bytes, blockBytes } = await unpinnedFile(s)
    const envelope = await s.putEnvelope({ v: 1, content: inlineDirectory('record.bin', child, blockBytes) })
    expect(await s.gc()).toEqual({ removed: 0, kept: 4 })
    expect(Buffer.from(await collect(s.get(child))).equals(bytes)).toBe(true)
    expect(await s.stat(envelope)).toMatchObject({ blocks: 4, localBlocks: 4, local: true, pinned: true })
  })
})

describe('over the network', () => {
  async function pair(): Promise<{ a: Storage; b: Storage }> {
    const a = await createStorage({ network: {} })
    cleanups.push(() => a.stop())
    const b = await onDisk({ network: { peers: a.multiaddrs() }, blockTimeoutMs: 10_000 })
    return { a, b }
  }

  test('behavior: pin of an identity node fetches the blocks it links to from a peer', async () => {
    const { a, b } = await pair()
    const { cid: child, bytes, blockBytes } = await unpinnedFile(a)
    const root = inlineCbor({ v: 1, link: child })
    // Nothing of the child is here: stat of the identity root says so rather than "local".
    expect(await b.stat(root)).toMatchObject({ blocks: 1, localBlocks: 0, local: false })
    await b.pin(root)
    expect(await b.stat(root)).toMatchObject({ blocks: 3, localBlocks: 3, local: true, pinned: true })
    await a.stop()
    expect(await b.gc()).toEqual({ removed: 0, kept: 3 })
    expect(Buffer.from(await collect(b.get(child))).equals(bytes)).toBe(true)
    expect(blockBytes).toBeGreaterThan(bytes.length)
  })

  test('error: maxBytes counts the blocks an identity node links to', async () => {
    const { a, b } = await pair()
    const { cid: child, blockBytes } = await unpinnedFile(a)
    const root = inlineDirectory('record.bin', child, blockBytes)
    const err = await b.pin(root, { maxBytes: blockBytes - 1 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DagTooLargeError)
    expect(err).toMatchObject({ name: 'DagTooLargeError', maxBytes: blockBytes - 1 })
    expect(await b.isPinned(root)).toBe(false)
    // exactly the child's blocks: the identity node itself is stored nowhere and costs nothing
    await b.pin(root, { maxBytes: blockBytes })
    expect(await b.isPinned(root)).toBe(true)
  })
})

describe('exportCar and stat', () => {
  test('behavior: exportCar of an identity root carries the blocks it links to, and the CAR imports and pins whole', async () => {
    const s = await onDisk()
    const { cid: child, bytes, blockBytes } = await unpinnedFile(s)
    for (const [what, root] of inlineRoots(child, blockBytes)) {
      const car = await collect(s.exportCar(root))
      const reader = await CarBlockIterator.fromBytes(car)
      expect((await reader.getRoots()).map(String), what).toEqual([root.toString()])
      const exported: string[] = []
      for await (const block of reader) exported.push(block.cid.toString())
      // the child's three blocks; the identity node is the CID itself and needs no block
      expect(exported[0], what).toBe(child.toString())
      expect(exported, what).toHaveLength(3)

      const other = await onDisk()
      expect((await other.importCar([car])).map(String), what).toEqual([root.toString()])
      expect(await other.gc(), what).toEqual({ removed: 0, kept: 3 })
      expect(Buffer.from(await collect(other.get(child))).equals(bytes), what).toBe(true)
    }
  })

  test('behavior: stat of an identity root counts the blocks it links to', async () => {
    const s = await onDisk()
    const { cid: child, blockBytes } = await unpinnedFile(s)
    const block = dagCbor.encode({ link: child })
    const root = CID.createV1(dagCbor.code, identity.digest(block))
    expect(await s.stat(root)).toEqual({
      cid: root,
      codec: 'dag-cbor',
      size: block.length,
      blocks: 3,
      localBlocks: 3,
      local: true,
      pinned: false,
    })
    const dir = inlineCbor({ inner: inlineDirectory('r', child, blockBytes) })
    expect(await s.stat(dir)).toMatchObject({ blocks: 3, localBlocks: 3, local: true })
  })
})

describe('what a walk refuses in identity nodes', () => {
  /** `child` wrapped `levels` times, each time as a dag-cbor identity node holding the CID before. */
  function nested(child: CID, levels: number): CID {
    let cid = child
    for (let i = 0; i < levels; i++) cid = inlineCbor(cid)
    return cid
  }

  test('error: identity nodes nested past MAX_INLINE_DEPTH are refused by pin, stat, exportCar and importCar', async () => {
    const s = await onDisk()
    const { cid: child } = await unpinnedFile(s)
    // as deep as a walk follows: walked to the child
    const deepest = nested(child, MAX_INLINE_DEPTH)
    await s.pin(deepest)
    expect(await s.stat(deepest)).toMatchObject({ blocks: 3, local: true, pinned: true })
    expect(await s.gc()).toEqual({ removed: 0, kept: 3 })

    const tooDeep = nested(child, MAX_INLINE_DEPTH + 1)
    const label = `identity CID of ${tooDeep.multihash.digest.length} bytes (codec 0x71)`
    const expected = {
      name: 'InlineDagTooDeepError',
      cid: label,
      maxDepth: MAX_INLINE_DEPTH,
      shortMessage: `The DAG of ${label} nests identity CIDs (blocks held in the CID) more than ${MAX_INLINE_DEPTH} deep; it was refused.`,
    }
    const pin = await s.pin(tooDeep).catch((e: unknown) => e)
    expect(pin).toBeInstanceOf(InlineDagTooDeepError)
    expect(pin).toMatchObject(expected)
    expect(await s.isPinned(tooDeep)).toBe(false)
    await expect(s.stat(tooDeep)).rejects.toMatchObject(expected)
    await expect(collect(s.exportCar(tooDeep))).rejects.toMatchObject(expected)

    // a CAR whose root is that node, holding every block of the child, is refused whole
    const car = await collect(s.exportCar(deepest))
    const reader = await CarBlockIterator.fromBytes(car)
    const blocks: Array<{ cid: CID; bytes: Uint8Array }> = []
    for await (const block of reader) blocks.push(block)
    const writer = CarWriter.create([tooDeep])
    const written = collect(writer.out)
    for (const block of blocks) await writer.writer.put(block)
    await writer.writer.close()
    const other = await onDisk()
    const imported = await other.importCar([await written]).catch((e: unknown) => e)
    expect(imported).toMatchObject({ name: 'CarImportError', cause: expected })
    expect(await other.gc()).toEqual({ removed: 0, kept: 0 })
  })

  test('error: an identity node of a codec whose links cannot be read is refused by pin, as a stored block of it is', async () => {
    const s = await onDisk()
    const { cid: child } = await unpinnedFile(s)
    // dag-json `{"link":{"/":"<child>"}}`: it links to the child, but storage cannot read dag-json links
    const json = new TextEncoder().encode(`{"link":{"/":"${child}"}}`)
    const opaque = CID.createV1(0x0129, identity.digest(json))
    const envelope = await s.putEnvelope({ v: 1, opaque }, { pin: false })
    const err = await s.pin(envelope).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnsupportedCodecError)
    expect(err).toMatchObject({ cid: `identity CID of ${json.length} bytes (codec 0x129)` })
    // the node's bytes (the child's CID) appear nowhere in the error
    expect(inspect(err, { depth: 10, showHidden: true })).not.toContain(child.toString())
    expect(await s.isPinned(envelope)).toBe(false)
  })

  test('error: an identity CID over 128 bytes linked from a block is refused by pin, as on every other path', async () => {
    const s = await onDisk()
    const long = CID.createV1(dagCbor.code, identity.digest(dagCbor.encode({ pad: 'x'.repeat(200) })))
    const envelope = await s.putEnvelope({ v: 1, long }, { pin: false })
    await expect(s.pin(envelope)).rejects.toMatchObject({
      name: 'UnverifiableCidError',
      reason: 'identity-too-long',
    })
    expect(await s.isPinned(envelope)).toBe(false)
  })
})
