/**
 * Blocks whose bytes are exactly what their CID names, but that are not valid as the codec the CID says: the
 * maker wrote a broken (or deliberately odd) block, so hashing cannot catch it. Every read refuses it with
 * `MalformedBlockError`, naming the block, never with a decoder's own untyped error (which can quote what it
 * read). Found by the storage decoder fuzz tests (packages/storage/src/decoders.fuzz.test.ts).
 */
import { createHash } from 'node:crypto'
import { inspect } from 'node:util'
import { CID, createStorage, type Storage } from '@medvault/storage'
import { afterEach, describe, expect, test } from 'vitest'
import { concat } from './helpers.ts'

const DAG_PB = 0x70
const DAG_CBOR = 0x71
const RAW = 0x55

function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

/** A CIDv1 with a sha2-256 (or identity) multihash, built byte by byte. */
function cidOf(codec: number, bytes: Uint8Array, identity = false): CID {
  const digest = identity ? bytes : new Uint8Array(createHash('sha256').update(bytes).digest())
  return CID.decode(
    Uint8Array.from([0x01, ...varint(codec), identity ? 0x00 : 0x12, ...varint(digest.length), ...digest]),
  )
}

/** CARv1 `{ roots, version: 1 }` (hand-written dag-cbor header) followed by the blocks. */
function car(roots: CID[], blocks: Array<[CID, Uint8Array]>): Uint8Array {
  const header: number[] = [0xa2, 0x65, ...Buffer.from('roots'), 0x80 + roots.length]
  for (const root of roots) {
    const link = [0x00, ...root.bytes]
    header.push(0xd8, 0x2a, 0x58, link.length, ...link)
  }
  header.push(0x67, ...Buffer.from('version'), 0x01)
  const out = [...varint(header.length), ...header]
  for (const [cid, bytes] of blocks)
    out.push(...varint(cid.bytes.length + bytes.length), ...cid.bytes, ...bytes)
  return Uint8Array.from(out)
}

const started: Storage[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()))
})

/** A storage holding `bytes` under `cid`, unpinned: a CAR import without pinning reads no block's content. */
async function holding(cid: CID, bytes: Uint8Array): Promise<Storage> {
  const storage = await createStorage()
  started.push(storage)
  await storage.importCar([car([], [[cid, bytes]])], { pin: false })
  expect(
    await storage.stat(cid).then(
      (s) => s.localBlocks,
      () => 1,
    ),
  ).toBe(1)
  return storage
}

async function refusal(op: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  return (await op.then(
    () => ({ name: 'accepted' }),
    (e: unknown) => e,
  )) as Error & Record<string, unknown>
}

describe('dag-cbor', () => {
  test('error: bytes that are not CBOR are refused by getEnvelope, pin and exportCar', async () => {
    const bytes = Uint8Array.from([0xa2, 0x61, 0x61]) // a map of 2 that ends after one key
    const cid = cidOf(DAG_CBOR, bytes)
    const storage = await holding(cid, bytes)
    for (const op of [
      storage.getEnvelope(cid),
      storage.pin(cid),
      concat(storage.exportCar(cid)),
      storage.putEnvelope({ link: cid }),
    ]) {
      const err = await refusal(op)
      expect(err).toMatchObject({ name: 'MalformedBlockError', cid: cid.toString(), format: 'dag-cbor' })
    }
    expect((await refusal(storage.getEnvelope(cid))).message).toMatchInlineSnapshot(`
      "Block ${cid} matches its CID but is not valid dag-cbor.

      The content itself is malformed, so it cannot be read, pinned or exported."
    `)
    expect(await storage.isPinned(cid)).toBe(false)
  })

  test('error: a block whose map keys are out of canonical order is refused (its value belongs to another CID)', async () => {
    // {"b": 1, "a": 2}: DAG-CBOR orders keys, so the canonical bytes of this value start with "a"
    const reordered = Uint8Array.from([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02])
    const cid = cidOf(DAG_CBOR, reordered)
    const storage = await holding(cid, reordered)
    const err = await refusal(storage.getEnvelope(cid))
    expect(err).toMatchObject({ name: 'MalformedBlockError', cid: cid.toString(), format: 'dag-cbor' })
    expect(err.message).toContain('not in its canonical form')
    // the same value stored properly has another CID, and reads back
    const canonical = await storage.putEnvelope({ b: 1, a: 2 })
    expect(canonical.equals(cid)).toBe(false)
    expect(await storage.getEnvelope(canonical)).toEqual({ a: 2, b: 1 })
  })

  test('error: a CAR whose DAG holds such a block is refused when pinning, the cause says which', async () => {
    const bytes = Uint8Array.from([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02])
    const cid = cidOf(DAG_CBOR, bytes)
    const storage = await createStorage()
    started.push(storage)
    const err = await refusal(storage.importCar([car([cid], [[cid, bytes]])]))
    expect(err).toMatchObject({ name: 'CarImportError' })
    expect(err.cause).toMatchObject({ name: 'MalformedBlockError', cid: cid.toString() })
    expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
  })

  test('error: an empty identity envelope is refused, and the error does not spell out the CID (it is the content)', async () => {
    const storage = await createStorage()
    started.push(storage)
    const cid = cidOf(DAG_CBOR, new Uint8Array(0), true)
    const err = await refusal(storage.getEnvelope(cid))
    expect(err).toMatchObject({ name: 'MalformedBlockError', format: 'dag-cbor' })
    expect(err.message).toContain('identity CID of 0 bytes')
  })
})

describe('dag-pb and UnixFS', () => {
  test('error: bytes that are not dag-pb are refused by get, stat, pin and exportCar', async () => {
    const bytes = Uint8Array.from([0x00]) // protobuf field 0, varint: not a PBNode
    const cid = cidOf(DAG_PB, bytes)
    const storage = await holding(cid, bytes)
    for (const op of [
      concat(storage.get(cid)),
      storage.stat(cid),
      storage.pin(cid),
      concat(storage.exportCar(cid)),
    ]) {
      expect(await refusal(op)).toMatchObject({
        name: 'MalformedBlockError',
        cid: cid.toString(),
        format: 'dag-pb',
      })
    }
  })

  test('error: a dag-pb node whose UnixFS data does not decode is refused by get and stat', async () => {
    // PBNode { Data: 0x08 0xff } — a UnixFS Type field with no value after it
    const bytes = Uint8Array.from([0x0a, 0x02, 0x08, 0xff])
    const cid = cidOf(DAG_PB, bytes)
    const storage = await holding(cid, bytes)
    for (const op of [concat(storage.get(cid)), storage.stat(cid)]) {
      expect(await refusal(op)).toMatchObject({
        name: 'MalformedBlockError',
        cid: cid.toString(),
        format: 'UnixFS',
      })
    }
  })

  test('error: a UnixFS file whose sizes disagree with its blocks is refused by get', async () => {
    const leaf = new TextEncoder().encode('four')
    const leafCid = cidOf(RAW, leaf)
    // PBNode { Links: [{ Hash: leaf, Tsize: 4 }], Data: UnixFS { Type: file, filesize: 10, blocksizes: [10] } }
    const link = [0x0a, leafCid.bytes.length, ...leafCid.bytes, 0x18, 0x04]
    const data = [0x08, 0x02, 0x18, 0x0a, 0x20, 0x0a]
    const node = Uint8Array.from([0x12, link.length, ...link, 0x0a, data.length, ...data])
    const cid = cidOf(DAG_PB, node)
    const storage = await createStorage()
    started.push(storage)
    await storage.importCar([
      car(
        [cid],
        [
          [cid, node],
          [leafCid, leaf],
        ],
      ),
    ])
    const err = await refusal(concat(storage.get(cid)))
    expect(err).toMatchObject({ name: 'MalformedBlockError', format: 'UnixFS' })
  })
})

test('error: an identity CID of a codec that holds no file (dag-json) is NotAFileError, not a decoder error', async () => {
  const storage = await createStorage()
  started.push(storage)
  const cid = cidOf(0x0129, new Uint8Array(0), true)
  const err = await refusal(concat(storage.get(cid)))
  expect(err).toMatchObject({ name: 'NotAFileError' })
  expect(inspect(err)).not.toContain('CBOR')
})
