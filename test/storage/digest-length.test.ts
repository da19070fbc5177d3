/**
 * An attacker's CIDs with shortened digests. A sha2-256 CID whose digest is cut to 0 bytes matches any bytes
 * at all, one cut to 16 bytes is far weaker than the 32 the hash function gives: if either were accepted, a
 * CAR, a peer or a gateway could place its own bytes under a CID that someone else registered. Every path that
 * takes a block in is tried as the attacker would: CAR import, a real second Helia node serving the bytes over
 * bitswap on 127.0.0.1, a real trustless HTTP gateway on 127.0.0.1, and a blockstore file altered on disk.
 * Identity CIDs (the digest is the content) are accepted only with exactly that content and a bounded length.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { CID, createStorage, type Storage } from '@medvault/storage'
import { FsBlockstore } from 'blockstore-fs'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { concat, tempDir } from './helpers.ts'

const RAW = 0x55
const DAG_CBOR = 0x71
const SHA2_256 = 0x12
const IDENTITY = 0x00

/** What the attacker wants read back: valid dag-cbor (`{ owner: 'mallory' }`), so it is also a plausible envelope. */
const EVIL = Uint8Array.from([0xa1, 0x65, ...Buffer.from('owner'), 0x67, ...Buffer.from('mallory')])
const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash('sha256').update(bytes).digest())

function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

/** A CIDv1 built byte by byte, so that any digest length can be written (multiformats' hashers refuse some). */
function cidOf(codec: number, hash: number, digest: Uint8Array): CID {
  return CID.decode(
    Uint8Array.from([0x01, ...varint(codec), ...varint(hash), ...varint(digest.byteLength), ...digest]),
  )
}

/** sha2-256 of `bytes`, cut to `length` bytes as an attacker would write it. */
const truncated = (codec: number, bytes: Uint8Array, length: number) =>
  cidOf(codec, SHA2_256, sha256(bytes).subarray(0, length))

/** A CARv1 written by hand (header `{ roots, version: 1 }` in dag-cbor, then varint-framed CID ‖ bytes). */
function carV1(roots: CID[], blocks: Array<{ cid: CID; bytes: Uint8Array }>): Uint8Array {
  const header: number[] = [0xa2, 0x65, ...Buffer.from('roots'), 0x80 + roots.length]
  for (const root of roots) {
    const link = [0x00, ...root.bytes]
    header.push(0xd8, 0x2a, ...(link.length < 24 ? [0x40 + link.length] : [0x58, link.length]), ...link)
  }
  header.push(0x67, ...Buffer.from('version'), 0x01)
  const out: number[] = [...varint(header.length), ...header]
  for (const { cid, bytes } of blocks)
    out.push(...varint(cid.bytes.length + bytes.length), ...cid.bytes, ...bytes)
  return Uint8Array.from(out)
}

/** The whole error, causes and hidden fields included, must not carry the attacker's bytes in any spelling. */
function expectNoBytes(err: unknown, bytes: Uint8Array = EVIL): void {
  const everything = inspect(err, { depth: 20, showHidden: true })
  expect(everything).not.toContain('mallory')
  expect(everything.toLowerCase()).not.toContain(Buffer.from(bytes).toString('hex'))
  expect(everything).not.toContain(Buffer.from(bytes).toString('base64').replace(/=+$/, ''))
}

async function refusal(op: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  const err = await op.then(
    (value) => ({ name: 'accepted', value }),
    (e: unknown) => e,
  )
  return err as Error & Record<string, unknown>
}

const read = (storage: Storage, cid: CID) =>
  cid.code === DAG_CBOR ? storage.getEnvelope(cid) : concat(storage.get(cid))

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('CAR import', () => {
  for (const length of [0, 16]) {
    test(`error: a block under a sha2-256 CID with a ${length}-byte digest is refused, nothing stored, existing data untouched`, async () => {
      const dir = await tempDir()
      cleanups.push(dir.remove)
      const storage = await createStorage({ directory: dir.path })
      cleanups.push(() => storage.stop())
      const file = await storage.putBytes(new TextEncoder().encode('already here'))
      const env = await storage.putEnvelope({ file })
      const before = await storage.gc()
      expect(before).toEqual({ removed: 0, kept: 2 })

      for (const codec of [DAG_CBOR, RAW]) {
        const cid = truncated(codec, new TextEncoder().encode('what the patient registered'), length)
        // a valid block before the bad one, so that the rollback of what was already written is exercised
        const good = new TextEncoder().encode('a valid block in the same CAR')
        const goodCid = cidOf(RAW, SHA2_256, sha256(good))
        const cars = [
          // the truncated CID as the root the CAR claims to hold
          carV1([cid], [{ cid, bytes: EVIL }]),
          // a valid root, with the bad block after it
          carV1(
            [goodCid],
            [
              { cid: goodCid, bytes: good },
              { cid, bytes: EVIL },
            ],
          ),
        ]
        for (const car of cars) {
          for (const pin of [true, false]) {
            const err = await refusal(storage.importCar([car], { pin }))
            expect(err).toMatchObject({ name: 'CarImportError' })
            expect(err.cause).toMatchObject({
              name: 'UnverifiableCidError',
              cid: cid.toString(),
              hash: 'sha2-256',
              digestLength: length,
              expectedLength: 32,
              reason: 'digest-length',
            })
            expect((err.cause as Error).message).toContain(`carries a ${length}-byte sha2-256 digest`)
            expectNoBytes(err)
            expect(await storage.stat(cid)).toMatchObject({ localBlocks: 0, pinned: false })
            expect(await storage.stat(goodCid)).toMatchObject({ localBlocks: 0, pinned: false })
            // reading the CID now is refused too, without looking anywhere
            expect(await refusal(read(storage, cid))).toMatchObject({ name: 'UnverifiableCidError' })
          }
        }
      }
      // nothing of the CARs is left, and the data that was here is whole and still pinned
      expect(await storage.gc()).toEqual({ removed: 0, kept: 2 })
      expect(await storage.getEnvelope(env)).toEqual({ file })
      expect(new TextDecoder().decode(await concat(storage.get(file)))).toBe('already here')
      const pins: string[] = []
      for await (const pin of storage.listPins()) pins.push(pin.toString())
      expect(pins.sort()).toEqual([file.toString(), env.toString()].sort())
    })
  }

  test('error: a digest longer than the hash function gives, and hash functions with no hasher, are refused', async () => {
    const storage = await createStorage()
    cleanups.push(() => storage.stop())
    const cases: Array<[CID, Record<string, unknown>]> = [
      // 32 good bytes and 8 more: old code called this a plain mismatch; it is a CID no hasher can produce
      [
        cidOf(RAW, SHA2_256, Uint8Array.from([...sha256(EVIL), 1, 2, 3, 4, 5, 6, 7, 8])),
        { hash: 'sha2-256', digestLength: 40, expectedLength: 32, reason: 'digest-length' },
      ],
      // sha2-512 and blake2b-256: this storage has no hasher for them, so no block can be checked
      [cidOf(RAW, 0x13, new Uint8Array(64)), { hash: '0x13', reason: 'unknown-hash' }],
      [cidOf(RAW, 0xb220, new Uint8Array(32)), { hash: '0xb220', reason: 'unknown-hash' }],
    ]
    for (const [cid, fields] of cases) {
      const err = await refusal(storage.importCar([carV1([cid], [{ cid, bytes: EVIL }])], { pin: false }))
      expect(err).toMatchObject({ name: 'CarImportError' })
      expect(err.cause).toMatchObject({ name: 'UnverifiableCidError', cid: cid.toString(), ...fields })
      expectNoBytes(err)
      expect(await refusal(read(storage, cid))).toMatchObject({ name: 'UnverifiableCidError', ...fields })
    }
    expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
  })
})

test('error: the refusal says what was wrong and what to do', async () => {
  const storage = await createStorage()
  cleanups.push(() => storage.stop())
  const zero = truncated(RAW, EVIL, 0)
  expect((await refusal(concat(storage.get(zero)))).message).toMatchInlineSnapshot(`
    "CID bafkreaa carries a 0-byte sha2-256 digest; a sha2-256 digest is 32 bytes.

    A shortened digest matches content it was not made from (a 0-byte one matches any bytes), so no block is accepted under it.
    Use the CID with the full digest."
  `)
  const sha512 = cidOf(RAW, 0x13, new Uint8Array(64))
  expect((await refusal(concat(storage.get(sha512)))).message).toMatchInlineSnapshot(`
    "CID bafkrgqaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa uses hash function 0x13, which this storage has no hasher for.

    Its blocks cannot be verified, so none is accepted under it. medvault verifies sha2-256 CIDs."
  `)
  const long = cidOf(RAW, IDENTITY, new Uint8Array(200))
  expect((await refusal(concat(storage.get(long)))).message).toMatchInlineSnapshot(`
    "An identity CID of 200 bytes is over the 128-byte limit.

    Store content that large as a block under a sha2-256 CID."
  `)
})

describe('identity CIDs', () => {
  const identity = (bytes: Uint8Array) => cidOf(RAW, IDENTITY, bytes)

  test('default: an identity CID with exactly its own content is accepted', async () => {
    const storage = await createStorage()
    cleanups.push(() => storage.stop())
    const content = new TextEncoder().encode('inline content')
    const cid = identity(content)
    const roots = await storage.importCar([carV1([cid], [{ cid, bytes: content }])])
    expect(roots.map(String)).toEqual([cid.toString()])
    expect(await concat(storage.get(cid))).toEqual(content)
    // inline: nothing to store
    expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
  })

  test('error: other content under an identity CID is refused, and the error does not spell out either', async () => {
    const storage = await createStorage()
    cleanups.push(() => storage.stop())
    const content = new TextEncoder().encode('the inline content')
    const cid = identity(content)
    for (const bytes of [EVIL, content.subarray(0, 5), Uint8Array.from([...content, 0x00])]) {
      const err = await refusal(storage.importCar([carV1([cid], [{ cid, bytes }])], { pin: false }))
      expect(err).toMatchObject({ name: 'CarImportError' })
      expect(err.cause).toMatchObject({ name: 'BlockVerificationError' })
      expect(err.message).toContain('identity CID of 18 bytes')
      // an identity CID is its content: naming it would repeat the block
      expectNoBytes(err, content)
      expect(inspect(err, { depth: 20, showHidden: true })).not.toContain(cid.toString())
      expectNoBytes(err)
    }
    expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
  })

  test('error: an identity CID longer than 128 bytes is refused even with its own content', async () => {
    const storage = await createStorage()
    cleanups.push(() => storage.stop())
    const ok = identity(new Uint8Array(128).fill(0x61))
    expect((await storage.importCar([carV1([ok], [{ cid: ok, bytes: ok.multihash.digest }])])).length).toBe(1)
    const long = new Uint8Array(129).fill(0x62)
    const cid = identity(long)
    const err = await refusal(storage.importCar([carV1([cid], [{ cid, bytes: long }])], { pin: false }))
    expect(err).toMatchObject({ name: 'CarImportError' })
    expect(err.cause).toMatchObject({
      name: 'UnverifiableCidError',
      hash: 'identity',
      digestLength: 129,
      expectedLength: 128,
      reason: 'identity-too-long',
    })
    expectNoBytes(err, long)
    expect(inspect(err, { depth: 20, showHidden: true })).not.toContain(cid.toString())
    expect(await refusal(concat(storage.get(cid)))).toMatchObject({ name: 'UnverifiableCidError' })
  })
})

describe('bitswap: a second Helia node on 127.0.0.1 serves the attacker bytes', () => {
  let attacker: Storage
  let attackerDir: Awaited<ReturnType<typeof tempDir>>
  const planted: CID[] = []
  const registered = new TextEncoder().encode('the envelope the patient registered')
  let honest: CID
  beforeAll(async () => {
    attackerDir = await tempDir()
    // The attacker writes straight into its blockstore (as a modified node would) and serves it unchecked.
    const blocks = new FsBlockstore(join(attackerDir.path, 'blocks'))
    await blocks.open()
    for (const length of [0, 16, 20]) {
      for (const codec of [DAG_CBOR, RAW]) {
        const cid = truncated(codec, registered, length)
        await blocks.put(cid, EVIL)
        planted.push(cid)
      }
    }
    // a 20-byte cut of the attacker's own bytes: the one truncation Helia's own check lets through
    for (const codec of [DAG_CBOR, RAW]) {
      const cid = truncated(codec, EVIL, 20)
      await blocks.put(cid, EVIL)
      planted.push(cid)
    }
    await blocks.close()
    attacker = await createStorage({ directory: attackerDir.path, network: {}, verifyLocalBlocks: false })
    honest = await attacker.putBytes(new TextEncoder().encode('an honest block'))
  })
  afterAll(async () => {
    await attacker.stop()
    await attackerDir.remove()
  })

  test('error: get and getEnvelope refuse every truncated CID; nothing is stored', async () => {
    const reader = await createStorage({
      network: { peers: [attacker.multiaddrs()[0]!] },
      blockTimeoutMs: 3_000,
    })
    cleanups.push(() => reader.stop())
    // the peer is connected and serves: an honest block arrives over bitswap
    expect(new TextDecoder().decode(await concat(reader.get(honest)))).toBe('an honest block')
    for (const cid of planted) {
      const err = await refusal(read(reader, cid))
      expect(err, `${cid}`).toMatchObject({
        name: 'UnverifiableCidError',
        cid: cid.toString(),
        digestLength: cid.multihash.digest.byteLength,
        expectedLength: 32,
      })
      expectNoBytes(err)
      expect(await reader.stat(cid)).toMatchObject({ localBlocks: 0 })
    }
    // the one block that arrived was the honest one (unpinned, so gc removes just it)
    expect(await reader.gc()).toEqual({ removed: 1, kept: 0 })
  })

  test("error: Helia's own blockstore (what a server built on storage.helia reads) refuses a 20-byte digest", async () => {
    const reader = await createStorage({
      network: { peers: [attacker.multiaddrs()[0]!] },
      blockTimeoutMs: 3_000,
    })
    cleanups.push(() => reader.stop())
    const cid = truncated(RAW, EVIL, 20)
    const err = await refusal(
      concat(reader.helia.blockstore.get(cid, { signal: AbortSignal.timeout(5_000) })),
    )
    expect(err.name).not.toBe('accepted')
    expect(JSON.stringify(findCause(err))).toContain('UnverifiableCidError')
    expect(await reader.stat(cid)).toMatchObject({ localBlocks: 0 })
    expect(await reader.gc()).toEqual({ removed: 0, kept: 0 })
  })
})

describe('trustless gateway on 127.0.0.1 that serves the attacker bytes for every CID', () => {
  let server: Server
  let url: string
  const requests: string[] = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '')
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': EVIL.byteLength })
      res.end(EVIL)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((r) => server.close(r))
  })

  test('error: get and getEnvelope refuse every truncated CID; nothing is stored', async () => {
    const reader = await createStorage({ gateways: [url], blockTimeoutMs: 3_000 })
    cleanups.push(() => reader.stop())
    // the gateway is reachable and its bytes are taken where they match: the full CID of EVIL
    const full = cidOf(DAG_CBOR, SHA2_256, sha256(EVIL))
    expect(await reader.getEnvelope(full)).toEqual({ owner: 'mallory' })
    const registered = new TextEncoder().encode('the envelope the patient registered')
    const cids = [0, 16, 20].flatMap((length) => [
      truncated(DAG_CBOR, registered, length),
      truncated(RAW, registered, length),
    ])
    cids.push(truncated(DAG_CBOR, EVIL, 20), truncated(RAW, EVIL, 20))
    for (const cid of cids) {
      const err = await refusal(read(reader, cid))
      expect(err, `${cid}`).toMatchObject({
        name: 'UnverifiableCidError',
        cid: cid.toString(),
        digestLength: cid.multihash.digest.byteLength,
        expectedLength: 32,
      })
      expectNoBytes(err)
      expect(await reader.stat(cid)).toMatchObject({ localBlocks: 0 })
    }
    // only the full CID's block was kept
    expect(await reader.gc()).toEqual({ removed: 1, kept: 0 })
  })

  test("error: Helia's own blockstore refuses a 20-byte digest from the gateway", async () => {
    const reader = await createStorage({ gateways: [url], blockTimeoutMs: 3_000 })
    cleanups.push(() => reader.stop())
    const cid = truncated(RAW, EVIL, 20)
    const err = await refusal(
      concat(reader.helia.blockstore.get(cid, { signal: AbortSignal.timeout(5_000) })),
    )
    expect(err.name).not.toBe('accepted')
    expect(JSON.stringify(findCause(err))).toContain('UnverifiableCidError')
    expect(await reader.gc()).toEqual({ removed: 0, kept: 0 })
  })
})

describe('local blockstore', () => {
  test('error: a block under a truncated CID, altered on disk, is refused on read', async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const content = new TextEncoder().encode('what was written')
    const cids = [0, 16].flatMap((length) => [
      truncated(DAG_CBOR, content, length),
      truncated(RAW, content, length),
    ])
    // written as an older version or another program would have: straight into the blockstore
    const blocks = new FsBlockstore(join(dir.path, 'blocks'))
    await blocks.open()
    for (const cid of cids) await blocks.put(cid, content)
    await blocks.close()
    // then every block file is replaced with the attacker's bytes (one file per multihash, shared by both codecs)
    const files = (await readdir(join(dir.path, 'blocks'), { recursive: true })).filter((f) =>
      f.endsWith('.data'),
    )
    expect(files).toHaveLength(2)
    for (const f of files) await writeFile(join(dir.path, 'blocks', f), EVIL)
    expect(await readFile(join(dir.path, 'blocks', files[0]!))).toEqual(Buffer.from(EVIL))

    const storage = await createStorage({ directory: dir.path })
    cleanups.push(() => storage.stop())
    for (const cid of cids) {
      const err = await refusal(read(storage, cid))
      expect(err, `${cid}`).toMatchObject({
        name: 'UnverifiableCidError',
        cid: cid.toString(),
        digestLength: cid.multihash.digest.byteLength,
        expectedLength: 32,
      })
      expectNoBytes(err)
    }
  })
})

/** The error and every error it wraps (causes and AggregateError lists), as plain objects for a search. */
function findCause(err: unknown, depth = 0): unknown {
  if (depth > 10 || err === null || typeof err !== 'object') return null
  const e = err as { name?: unknown; cause?: unknown; errors?: unknown[] }
  return {
    name: e.name,
    cause: findCause(e.cause, depth + 1),
    errors: Array.isArray(e.errors) ? e.errors.map((x) => findCause(x, depth + 1)) : undefined,
  }
}
