/**
 * Fuzzing (fast-check) of everything `@medvault/storage` decodes from outside: CID strings, CAR streams
 * (v1 and v2), and blocks whose bytes match their CID but may not decode as their codec says (dag-pb,
 * dag-cbor, UnixFS), read through `get`, `getEnvelope`, `stat`, `pin` and `exportCar`.
 *
 * Inputs are random and mutated-valid. Each must either be accepted (and then re-encode consistently: a CID
 * string parses to the same CID again, an imported CAR's roots are local and pinned and export to a CAR that
 * imports to the same roots, an envelope re-encodes to its block) or be refused with one of the package's typed
 * errors (`BaseError`), and a refused CAR leaves nothing behind. Never a raw error from a parser, never a hang.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CarBlockIterator } from '@ipld/car/iterator'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { BaseError } from './errors.ts'
import { createStorage } from './index.ts'
import type { Storage } from './types.ts'

const RUNS = 1_000
const DAG_PB = 0x70
const DAG_CBOR = 0x71
const RAW = 0x55

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'append'; bytes: Uint8Array }

/** Bytes that mean something to varints, CBOR and protobuf, so mutations reach the parsers' branches. */
const interesting = fc.constantFrom(
  0x00,
  0x01,
  0x02,
  0x0a,
  0x12,
  0x18,
  0x1b,
  0x20,
  0x40,
  0x55,
  0x58,
  0x5f,
  0x70,
  0x71,
  0x7f,
  0x80,
  0x9f,
  0xa1,
  0xbf,
  0xd8,
  0x2a,
  0xf6,
  0xf7,
  0xff,
)

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.oneof(fc.integer({ min: 0, max: 255 }), interesting),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
)

function apply(valid: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = valid.slice()
  for (const m of mutations) {
    const at = 'at' in m ? m.at % (out.length + 1) : 0
    switch (m.kind) {
      case 'flip':
        if (out.length > 0) out[at % out.length]! ^= 1 << m.bit
        break
      case 'set':
        if (out.length > 0) out[at % out.length] = m.value
        break
      case 'truncate':
        out = out.slice(0, at)
        break
      case 'delete':
        out = new Uint8Array(Buffer.concat([out.subarray(0, at), out.subarray(at + m.n)]))
        break
      case 'insert':
        out = new Uint8Array(Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]))
        break
      case 'append':
        out = new Uint8Array(Buffer.concat([out, m.bytes]))
        break
    }
  }
  return out
}

const mutated = (valid: Uint8Array) =>
  fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => apply(valid, ms))

const stats = new Map<string, { accepted: number; refused: number }>()
function counter(name: string) {
  const s = stats.get(name) ?? { accepted: 0, refused: 0 }
  stats.set(name, s)
  return s
}

/** Runs `op`; a refusal must be a typed error (anything else is rethrown for fast-check to report). */
async function attempt<T>(
  name: string,
  op: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: BaseError }> {
  const s = counter(name)
  try {
    const value = await op()
    s.accepted++
    return { ok: true, value }
  } catch (err) {
    if (err instanceof BaseError) {
      s.refused++
      return { ok: false, error: err }
    }
    throw err
  }
}

async function drain(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

/** A CARv1 with one block and no root (so `pin: false` import stores the block whatever it holds). */
function oneBlockCar(cid: CID, bytes: Uint8Array): Uint8Array {
  const header = dagCbor.encode({ roots: [], version: 1 })
  return Uint8Array.from([
    ...varint(header.length),
    ...header,
    ...varint(cid.bytes.length + bytes.length),
    ...cid.bytes,
    ...bytes,
  ])
}

/** A CARv2 around a CARv1 payload (pragma, 40-byte header, payload, no index). */
function carV2(v1: Uint8Array): Uint8Array {
  const pragma = [0x0a, 0xa1, 0x67, ...Buffer.from('version'), 0x02]
  const header = new Uint8Array(40)
  const view = new DataView(header.buffer)
  const dataOffset = pragma.length + 40
  view.setBigUint64(16, BigInt(dataOffset), true)
  view.setBigUint64(24, BigInt(v1.length), true)
  view.setBigUint64(32, 0n, true)
  return Uint8Array.from([...pragma, ...header, ...v1])
}

const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash('sha256').update(bytes).digest())
const cidOf = (codec: number, bytes: Uint8Array) => CID.createV1(codec, Digest.create(0x12, sha256(bytes)))

let storage: Storage
let validCar: Uint8Array
const dagPbBlocks: Uint8Array[] = []
let envelopeBlock: Uint8Array
const cidStrings: string[] = []

beforeAll(async () => {
  storage = await createStorage()
  const source = await createStorage()
  // A small DAG of every codec storage follows: an envelope linking a raw block and a directory Kubo made
  // (dag-pb directory, UnixFS files of several raw leaves), so each mutated CAR stays a few KiB.
  const kubo = readFileSync(join(import.meta.dirname, '../../../test/storage/fixtures/dir-with-files.car'))
  const [dir] = await source.importCar([kubo])
  const leaf = await source.putBytes(new TextEncoder().encode('leaf'))
  const env = await source.putEnvelope({ v: 1, dir, leaf, n: 7, s: 'text', b: new Uint8Array([1, 2]) })
  validCar = await drain(source.exportCar(env))
  for await (const { cid, bytes } of await CarBlockIterator.fromBytes(kubo)) {
    if (cid.code === DAG_PB) dagPbBlocks.push(bytes)
  }
  expect(dagPbBlocks.length).toBeGreaterThan(1)
  envelopeBlock = await drain(source.helia.blockstore.get(env))
  const v0 = await source.putBytes(new TextEncoder().encode('v0'), { profile: 'unixfs-v0-2015' })
  cidStrings.push(dir!.toString(), leaf.toString(), env.toString(), v0.toString(), dir!.toString(base58btc))
  cidStrings.push(CID.createV1(RAW, Digest.create(0x00, new TextEncoder().encode('inline'))).toString())
  await source.stop()
})

afterAll(async () => {
  await storage.stop()
  console.log(`storage decoder fuzz counts: ${JSON.stringify(Object.fromEntries(stats))}`)
})

describe('CID strings (every operation that takes a CID parses it)', () => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567QmzZfFB0189'
  const strings = fc.oneof(
    fc.constantFrom(0, 1, 2, 3, 4, 5).chain((i) =>
      fc
        .array(
          fc.record({
            kind: fc.constantFrom('set', 'delete', 'insert', 'truncate', 'case', 'space'),
            at: fc.nat(),
            char: fc.oneof(fc.constantFrom(...alphabet), fc.string({ minLength: 1, maxLength: 1 })),
          }),
          { minLength: 1, maxLength: 3 },
        )
        .map((ms) => {
          let s = cidStrings[i]!
          for (const { kind, at, char } of ms) {
            const j = at % (s.length + 1)
            if (kind === 'set') s = s.slice(0, j) + char + s.slice(j + 1)
            else if (kind === 'delete') s = s.slice(0, j) + s.slice(j + 1)
            else if (kind === 'insert') s = s.slice(0, j) + char + s.slice(j)
            else if (kind === 'truncate') s = s.slice(0, j)
            else if (kind === 'case') s = s.toUpperCase()
            else s = ` ${s}\n`
          }
          return s
        }),
    ),
    fc.string({ maxLength: 80 }),
    // well-formed CIDs of any codec, hash function and digest length
    fc
      .record({
        codec: fc.oneof(
          fc.constantFrom(DAG_PB, DAG_CBOR, RAW, 0x0129, 0x00),
          fc.integer({ min: 0, max: 0xffff }),
        ),
        hash: fc.oneof(fc.constantFrom(0x12, 0x00, 0x13, 0xb220), fc.integer({ min: 0, max: 0xffff })),
        digest: fc.uint8Array({ maxLength: 70 }),
      })
      .map(({ codec, hash, digest }) => CID.createV1(codec, Digest.create(hash, digest)).toString()),
  )

  test('error: parsed to a CID that parses again to itself, or InvalidCidError; reads give typed errors only', async () => {
    await fc.assert(
      fc.asyncProperty(strings, async (s) => {
        const pinned = await attempt('CID string (isPinned)', () => storage.isPinned(s))
        if (pinned.ok) {
          const cid = CID.parse(s.trim())
          expect(CID.parse(cid.toString()).equals(cid)).toBe(true)
          expect(pinned.value).toBe(false)
        } else {
          expect(pinned.error.name).toBe('InvalidCidError')
        }
        // the embedded store has nothing: each read ends in a typed refusal, whatever the CID says
        await attempt('CID string (get)', () => drain(storage.get(s)))
        await attempt('CID string (getEnvelope)', () => storage.getEnvelope(s))
        await attempt('CID string (stat)', () => storage.stat(s))
      }),
      { numRuns: RUNS },
    )
  })
})

describe('importCar', () => {
  async function importAndCheck(name: string, car: Uint8Array, pin: boolean): Promise<void> {
    const result = await attempt(name, () => storage.importCar([car], { pin }))
    if (result.ok) {
      for (const root of result.value) {
        if (pin) {
          expect(await storage.stat(root)).toMatchObject({ local: true, pinned: true })
          // the roots export to a CAR that imports to the same roots elsewhere
          const other = await createStorage()
          try {
            const again = await other.importCar(storage.exportCar(root))
            expect(again.map(String)).toEqual([root.toString()])
          } finally {
            await other.stop()
          }
        }
        await storage.unpin(root)
      }
    } else {
      expect(result.error.name).toBe('CarImportError')
    }
    // nothing of a refused CAR is left, and nothing is pinned after the unpins above
    const { kept } = await storage.gc()
    expect(kept).toBe(0)
    if (!result.ok) expect(await storage.gc()).toEqual({ removed: 0, kept: 0 })
  }

  test('error: mutated CARv1 and CARv2 streams, and random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutated(validCar), mutated(carV2(validCar)), fc.uint8Array({ maxLength: 300 })),
        fc.boolean(),
        async (car, pin) => importAndCheck('importCar', car, pin),
      ),
      { numRuns: 2 * RUNS },
    )
  })
})

describe('blocks that match their CID but may not decode as their codec', () => {
  const blocks = fc.oneof(
    fc.record({
      codec: fc.constant(DAG_PB),
      bytes: fc.nat().chain((i) => mutated(dagPbBlocks[i % dagPbBlocks.length]!)),
    }),
    fc.record({ codec: fc.constant(DAG_CBOR), bytes: fc.constant(0).chain(() => mutated(envelopeBlock)) }),
    fc.record({ codec: fc.constantFrom(DAG_PB, DAG_CBOR, RAW), bytes: fc.uint8Array({ maxLength: 200 }) }),
  )

  test('error: get, getEnvelope, stat, pin and exportCar decode them or refuse with a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(blocks, async ({ codec, bytes }) => {
        const cid = cidOf(codec, bytes)
        // stored as a CAR import without pinning would store it: the bytes match the CID, nothing decodes them
        await storage.importCar([oneBlockCar(cid, bytes)], { pin: false })
        if (codec === DAG_CBOR) {
          const env = await attempt('getEnvelope (block)', () => storage.getEnvelope(cid))
          // what decodes is canonical: it encodes back to the very block (and so to its CID)
          if (env.ok) expect(dagCbor.encode(env.value)).toEqual(bytes)
        } else {
          await attempt('get (block)', () => drain(storage.get(cid)))
        }
        await attempt('stat (block)', () => storage.stat(cid))
        const pinned = await attempt('pin (block)', () =>
          storage.pin(cid, { signal: AbortSignal.timeout(5_000) }),
        )
        if (pinned.ok) await storage.unpin(cid)
        await attempt('exportCar (block)', () =>
          drain(storage.exportCar(cid, { signal: AbortSignal.timeout(5_000) })),
        )
        await storage.gc()
      }),
      { numRuns: 3 * RUNS },
    )
  })
})
