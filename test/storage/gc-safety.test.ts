/**
 * gc's promise: it never deletes a pinned block or a block of a pinned DAG, whatever runs at the same time
 * (puts, pins, unpins, CAR imports that fail and roll back), and envelopes pin the content they link to.
 */
import { createHash } from 'node:crypto'
import { CID, createStorage, type Storage } from '@medvault/storage'
import { afterEach, expect, test } from 'vitest'
import { concat, det, sha256Hex, tempDir } from './helpers.ts'

const MiB = 1_048_576
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function memory(): Promise<Storage> {
  const storage = await createStorage()
  cleanups.push(() => storage.stop())
  return storage
}

async function intact(storage: Storage, cid: CID, size: number, seed: string): Promise<void> {
  expect(await storage.stat(cid)).toMatchObject({ local: true })
  expect(await sha256Hex(storage.get(cid))).toEqual(await sha256Hex(det(size, seed)))
}

/** Yields the source's chunks, calling `onChunk(i)` before chunk i is handed to the importer. */
async function* tapped(
  source: AsyncIterable<Uint8Array>,
  onChunk: (i: number) => void | Promise<void>,
): AsyncGenerator<Uint8Array> {
  let i = 0
  for await (const chunk of source) {
    await onChunk(i++)
    yield chunk
  }
}

/** A CARv1 section (varint length, CID bytes, block bytes). */
function carSection(cid: CID, bytes: Uint8Array): Uint8Array {
  const body = Buffer.concat([cid.bytes, bytes])
  const len: number[] = []
  let n = body.length
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  len.push(n)
  return Buffer.concat([Buffer.from(len), body])
}

/** A CARv1 header: dag-cbor `{ roots, version: 1 }` behind a varint length (small headers only). */
function carHeader(...roots: CID[]): Uint8Array {
  const body = Buffer.concat([
    Buffer.from([0xa2]), // map(2)
    Buffer.from([0x65]),
    Buffer.from('roots'),
    Buffer.from([0x80 + roots.length]), // array(n)
    ...roots.map((root) => {
      const cidBytes = Buffer.concat([Buffer.from([0x00]), root.bytes]) // tag 42 payload: 0x00 + binary CID
      return Buffer.concat([Buffer.from([0xd8, 0x2a, 0x58, cidBytes.length]), cidBytes]) // tag(42), bytes(n)
    }),
    Buffer.from([0x67]),
    Buffer.from('version'),
    Buffer.from([0x01]),
  ])
  return Buffer.concat([Buffer.from([body.length]), body])
}

/** The sections of a CARv1 with a one-byte header length (what exportCar writes for one root). */
function sections(car: Uint8Array): Uint8Array {
  return car.subarray(1 + car[0]!)
}

function badBlock(): { cid: CID; bytes: Uint8Array } {
  const digest = createHash('sha256').update('what the CID says').digest()
  // raw codec, sha2-256 multihash of other bytes than the ones that follow
  const cid = CID.decode(Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]), digest]))
  return { cid, bytes: new TextEncoder().encode('something else') }
}

test('behavior: gc racing puts and pins of content that shares blocks with an unpinned DAG keeps them all', async () => {
  const storage = await memory()
  // X is unpinned; Y and Z share X's first three 1 MiB leaves (same seed, same offsets)
  const x = await storage.putStream(det(3 * MiB + 5, 'shared'), { pin: false })
  const gcs: Array<Promise<unknown>> = []
  const y = storage.putStream(
    tapped(det(3 * MiB + 9, 'shared'), (i) => {
      // gc asked while Y is half written: Y's importer skipped the leaves X already had
      if (i === 1 || i === 2) gcs.push(storage.gc())
    }),
  )
  const pinX = storage.pin(x) // asked before any gc, so X is pinned before gc marks
  const z = storage.putStream(det(3 * MiB + 13, 'shared'))
  const [cy, cz] = await Promise.all([y, z, pinX])
  // both gcs really ran while Y was half written (an empty list would make this test race nothing)
  expect(gcs).toHaveLength(2)
  // every block in this store belongs to X (pinned before any gc) or to a put in flight: nothing is garbage
  for (const result of await Promise.all(gcs)) expect(result).toMatchObject({ removed: 0 })
  expect((await storage.gc()).removed).toBe(0)
  await intact(storage, x, 3 * MiB + 5, 'shared')
  await intact(storage, cy, 3 * MiB + 9, 'shared')
  await intact(storage, cz, 3 * MiB + 13, 'shared')
})

test('behavior: unpinning one of two pins that share blocks keeps the shared blocks; the other pin stays whole', async () => {
  const storage = await memory()
  const a = await storage.putStream(det(2 * MiB + 1, 'two-pins'))
  const b = await storage.putStream(det(2 * MiB + 2, 'two-pins'))
  await storage.unpin(b)
  const { removed } = await storage.gc()
  expect(removed).toBe(2) // b's root and its own 2-byte tail leaf; the two shared 1 MiB leaves stay
  await intact(storage, a, 2 * MiB + 1, 'two-pins')
  expect(await storage.stat(b)).toMatchObject({ local: false, localBlocks: 0 }) // its root is gone
})

test('behavior: a refused CAR import does not roll back blocks a concurrent put of the same content relies on', async () => {
  const storage = await memory()
  const source = await memory()
  const seed = 'car-vs-put'
  const size = 3 * MiB + 7
  const root = await source.putStream(det(size, seed))
  const good = await concat(source.exportCar(root))
  const bad = badBlock()
  let goodBlocks = 0
  let allGoodSeen: () => void = () => {}
  const seen = new Promise<void>((resolve) => {
    allGoodSeen = resolve
  })
  let carryOn: () => void = () => {}
  const resume = new Promise<void>((resolve) => {
    carryOn = resolve
  })
  async function* car(): AsyncGenerator<Uint8Array> {
    yield good
    await resume
    yield carSection(bad.cid, bad.bytes)
  }
  const imported = storage
    .importCar(car(), {
      onProgress: () => {
        if (++goodBlocks === 5) allGoodSeen()
      },
    })
    .catch((e: unknown) => e)
  await seen // the import wrote all five good blocks; the put below finds them present and skips them
  const cid = await storage.putStream(det(size, seed))
  carryOn() // now the import meets the bad block and rolls back
  expect(await imported).toMatchObject({ name: 'CarImportError' })
  expect(cid.equals(root)).toBe(true)
  expect(await storage.isPinned(cid)).toBe(true)
  await intact(storage, cid, size, seed)
  expect(await storage.gc()).toEqual({ removed: 0, kept: 5 })
  await intact(storage, cid, size, seed)
})

test('behavior: a pin made while a CAR import is under way survives the rollback of that import', async () => {
  const storage = await memory()
  const source = await memory()
  const small = await source.putStream(det(2 * MiB + 1, 'pinned-twice'))
  const big = await source.putStream(det(48 * MiB + 1, 'walked-long')) // 49 leaves to walk
  const missing = await (await memory()).putBytes(new TextEncoder().encode('in no CAR'))
  // the second root links to a big DAG the CAR holds, then to a block it does not: pinning it fails late
  const envelope = await source.putEnvelope({ a: big, later: missing }, { pin: false }) // dag-cbor keys sort by length
  const car = Buffer.concat([
    carHeader(small, envelope),
    sections(await concat(source.exportCar(small))),
    sections(await concat(source.exportCar(big))),
    carSection(envelope, await concat(source.helia.blockstore.get(envelope))),
  ])
  let settled = false
  const imported = storage
    .importCar([car])
    .catch((e: unknown) => e)
    .finally(() => {
      settled = true
    })
  // as soon as the import has pinned `small`, the caller pins it too, while the import walks `envelope`
  while (!settled && !(await storage.isPinned(small))) {
    // wait for the import's pin record
  }
  const pinnedMeanwhile = settled ? undefined : storage.pin(small)
  expect(await imported).toMatchObject({ name: 'CarImportError' })
  expect(pinnedMeanwhile).toBeDefined()
  await pinnedMeanwhile
  // the caller's pin is kept (and so its blocks); the import's other blocks are rolled back
  expect(await storage.isPinned(small)).toBe(true)
  await intact(storage, small, 2 * MiB + 1, 'pinned-twice')
  expect(await storage.stat(big)).toMatchObject({ localBlocks: 0 })
  expect((await storage.gc()).removed).toBe(0)
  await intact(storage, small, 2 * MiB + 1, 'pinned-twice')
})

test('behavior: a refused CAR import still removes its own blocks that nothing else holds', async () => {
  const storage = await memory()
  const source = await memory()
  const root = await source.putStream(det(2 * MiB + 1, 'refused'))
  const good = await concat(source.exportCar(root))
  const bad = badBlock()
  await expect(storage.importCar([good, carSection(bad.cid, bad.bytes)])).rejects.toMatchObject({
    name: 'CarImportError',
  })
  expect(await storage.stat(root)).toMatchObject({ localBlocks: 0 })
  expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
})

test('behavior: a pinned envelope protects the UnixFS content it links to, until it is unpinned', async () => {
  const storage = await memory()
  const content = await storage.putStream(det(2 * MiB + 3, 'linked'))
  const envelope = await storage.putEnvelope({ v: 1, content, nested: [{ again: content }] })
  await storage.unpin(content)
  expect((await storage.gc()).removed).toBe(0)
  await intact(storage, content, 2 * MiB + 3, 'linked')
  await storage.unpin(envelope)
  expect(await storage.gc()).toEqual({ removed: 5, kept: 0 }) // the envelope and the content's 4 blocks
})

test('error: pinning an envelope whose linked content is not here is refused, and gc keeps working', async () => {
  const storage = await memory()
  const elsewhere = await (await memory()).putBytes(new TextEncoder().encode('only on another node'))
  const kept = await storage.putBytes(new TextEncoder().encode('kept'))
  await expect(storage.putEnvelope({ content: elsewhere })).rejects.toMatchObject({ name: 'NotFoundError' })
  // an envelope whose content lives elsewhere can still be stored, unpinned
  const unpinned = await storage.putEnvelope({ content: elsewhere }, { pin: false })
  expect(await storage.getEnvelope(unpinned)).toEqual({ content: elsewhere })
  await expect(storage.pin(unpinned)).rejects.toMatchObject({ name: 'NotFoundError' })
  expect(await storage.isPinned(unpinned)).toBe(false)
  const { kept: n } = await storage.gc()
  expect(n).toBe(1)
  expect(new TextDecoder().decode(await concat(storage.get(kept)))).toBe('kept')
})

test('error: a CAR cut off in the middle of a block is refused; the blocks before the cut are not kept', async () => {
  const storage = await memory()
  const source = await memory()
  const root = await source.putStream(det(2 * MiB + 1, 'truncated'))
  const car = await concat(source.exportCar(root))
  const err = await storage
    .importCar([car.subarray(0, car.length - 100)], { pin: false })
    .catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'CarImportError' })
  expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
})

test('error: a CAR whose root block hashes right but does not decode is refused, nothing written', async () => {
  const storage = await memory()
  const junk = new TextEncoder().encode('not a dag-pb node')
  const digest = createHash('sha256').update(junk).digest()
  const root = CID.decode(Buffer.concat([Buffer.from([0x01, 0x70, 0x12, 0x20]), digest])) // dag-pb
  const header = carHeader(root)
  const err = await storage.importCar([header, carSection(root, junk)]).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'CarImportError' })
  expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
  expect(await storage.isPinned(root)).toBe(false)
})

test('error: gc over a pinned DAG with a node missing stops with PinnedDagIncompleteError and deletes nothing', async () => {
  const storage = await memory()
  const pinned = await storage.putStream(det(3 * MiB + 1, 'lost-block'))
  const unpinned = await storage.putStream(det(MiB + 1, 'garbage'), { pin: false })
  // a missing raw leaf does not stop gc (leaves link to nothing); the rest of the pinned DAG is kept
  const leaf = await firstLeaf('lost-block')
  await storage.helia.blockstore.delete(leaf)
  expect(await storage.gc()).toEqual({ removed: 3, kept: 4 })
  await storage.putStream(det(3 * MiB + 1, 'lost-block')) // restores the leaf
  await storage.putStream(det(MiB + 1, 'garbage'), { pin: false })
  // a missing dag-pb node (as after a damaged copy was found and deleted) hides what it links to
  await storage.helia.blockstore.delete(pinned)
  const err = await storage.gc().catch((e: unknown) => e)
  expect(err).toMatchObject({
    name: 'PinnedDagIncompleteError',
    root: pinned.toString(),
    cid: pinned.toString(),
  })
  expect((err as Error).message).toContain('Nothing was deleted')
  expect(await storage.stat(unpinned)).toMatchObject({ local: true })
  expect(await storage.helia.blockstore.has(leaf)).toBe(true)
  // pin() is the repair tool: it walks the DAG even when already pinned (offline here: nowhere to fetch)
  await expect(storage.pin(pinned)).rejects.toMatchObject({ name: 'NotFoundError', cid: pinned.toString() })
  // putting the same content again restores the node, and gc works again
  await storage.putStream(det(3 * MiB + 1, 'lost-block'))
  expect(await storage.gc()).toEqual({ removed: 3, kept: 5 })
  await intact(storage, pinned, 3 * MiB + 1, 'lost-block')
})

/** The raw-leaf CID of the first 1 MiB of `det(…, seed)` (the default profile's first chunk). */
async function firstLeaf(seed: string): Promise<CID> {
  const first = (await det(MiB, seed).next()).value as Uint8Array
  const digest = createHash('sha256').update(first).digest()
  return CID.decode(Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]), digest]))
}

test('error: a DAG whose links medvault cannot follow (dag-json) is not pinned, so gc cannot drop its linked blocks', async () => {
  const storage = await memory()
  const leafBytes = new TextEncoder().encode('a leaf under a dag-json node')
  const leaf = CID.decode(
    Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]), createHash('sha256').update(leafBytes).digest()]),
  )
  const nodeBytes = new TextEncoder().encode(`{"leaf":{"/":"${leaf}"}}`)
  const digest = createHash('sha256').update(nodeBytes).digest()
  const node = CID.decode(Buffer.concat([Buffer.from([0x01, 0xa9, 0x02, 0x12, 0x20]), digest])) // dag-json 0x0129
  const car = Buffer.concat([carHeader(node), carSection(node, nodeBytes), carSection(leaf, leafBytes)])
  const err = await storage.importCar([car]).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'CarImportError' })
  expect((err as Error).message).toContain('0x129')
  expect(await storage.isPinned(node)).toBe(false)
  await expect(storage.pin(node)).rejects.toMatchObject({ name: 'UnsupportedCodecError' })
  // without pinning, the blocks are kept as they are (and are ordinary garbage for gc)
  expect(await storage.importCar([car], { pin: false })).toEqual([node])
  expect(await storage.gc()).toEqual({ removed: 2, kept: 0 })
})

test('behavior: an import that fails while the storage stops does not touch the directory after stop()', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const storage = await createStorage({ directory: dir.path })
  const source = await memory()
  const root = await source.putStream(det(2 * MiB + 1, 'stop-during-import'))
  const good = await concat(source.exportCar(root))
  const bad = badBlock()
  let stopping: Promise<void> | undefined
  async function* car(): AsyncGenerator<Uint8Array> {
    yield good
    stopping = storage.stop() // waits for the import, which now fails
    yield carSection(bad.cid, bad.bytes)
  }
  expect(await storage.importCar(car()).catch((e: unknown) => e)).toMatchObject({ name: 'CarImportError' })
  // stop() was really called while the import ran
  expect(stopping).toBeInstanceOf(Promise)
  await stopping
  expect(storage.status).toBe('stopped')
  // the rollback did not run after stop() had released the directory: the blocks are there, unpinned
  const reopened = await createStorage({ directory: dir.path })
  cleanups.push(() => reopened.stop())
  expect(await reopened.stat(root)).toMatchObject({ local: true, pinned: false })
  expect(await reopened.gc()).toEqual({ removed: 4, kept: 0 })
})
