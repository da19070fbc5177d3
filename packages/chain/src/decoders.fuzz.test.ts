/**
 * Fuzzing (fast-check) of the decoders in `@medvault/chain`: purposes, scope kinds and scopes, delegate
 * permissions, bytes/time arguments (`encoding.ts`), receipt Merkle proofs (`merkle.ts`) and checkpoint files
 * (`fileCheckpointStore().load()`).
 *
 * Random and mutated-valid inputs must either decode to a value that encodes back consistently or be refused
 * with the package's own errors: a `BaseError`, or the TypeError/RangeError its argument checks throw with
 * their own message. A raw error from inside (a property read on null, a BigInt SyntaxError) is a bug.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { type Hex, keccak256 } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { decodePermissions, encodePermissions } from './actions/appoint-delegate.ts'
import {
  assertBytes,
  decodePurpose,
  decodeScope,
  encodePurpose,
  encodeScope,
  scopeKindName,
  toBytesHex,
  toSeconds,
} from './encoding.ts'
import { BaseError } from './errors.ts'
import { fileCheckpointStore } from './follow/file-checkpoint-store.ts'
import { buildReceiptTree, hashPair, receiptLeaf, verifyReceiptProof } from './merkle.ts'

const RUNS = 1_000
const PROTOTYPE_KEYS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf']
const PURPOSES = ['TREAT', 'ETREAT', 'HRESCH', 'HPAYMT', 'PUBHLTH', 'BTG', 'PATRQT']

/** The messages of chain's own argument checks (TypeError/RangeError by design, like viem and noble). */
const OWN_ARGUMENT_ERROR =
  /must be|Unknown purpose|Unknown scope kind|receipt tree needs|Duplicate receipt|not in this tree/

const stats = new Map<string, { accepted: number; refused: number }>()
function isOwn(err: unknown): boolean {
  return (
    err instanceof BaseError ||
    ((err instanceof TypeError || err instanceof RangeError) && OWN_ARGUMENT_ERROR.test(err.message))
  )
}
function attempt<T>(name: string, decode: () => T): T | undefined {
  const s = stats.get(name) ?? { accepted: 0, refused: 0 }
  stats.set(name, s)
  try {
    const value = decode()
    s.accepted++
    return value
  } catch (err) {
    if (isOwn(err)) {
      s.refused++
      return undefined
    }
    throw err
  }
}
async function attemptAsync<T>(name: string, decode: () => Promise<T>): Promise<T | undefined> {
  const s = stats.get(name) ?? { accepted: 0, refused: 0 }
  stats.set(name, s)
  try {
    const value = await decode()
    s.accepted++
    return value
  } catch (err) {
    if (isOwn(err)) {
      s.refused++
      return undefined
    }
    throw err
  }
}
afterAll(() => {
  console.log(`chain decoder fuzz counts: ${JSON.stringify(Object.fromEntries(stats))}`)
})

/** A valid string with characters replaced, deleted, inserted, cut off or re-cased; or any string. */
const mutatedString = (valid: fc.Arbitrary<string>, alphabet: string, maxLength = 80) =>
  fc.oneof(
    fc
      .tuple(
        valid,
        fc.array(
          fc.record({
            kind: fc.constantFrom('set', 'delete', 'insert', 'truncate', 'case'),
            at: fc.nat(),
            char: fc.oneof(fc.constantFrom(...alphabet), fc.string({ minLength: 1, maxLength: 1 })),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      )
      .map(([start, ms]) => {
        let s = start
        for (const { kind, at, char } of ms) {
          const i = at % (s.length + 1)
          if (kind === 'set') s = s.slice(0, i) + char + s.slice(i + 1)
          else if (kind === 'delete') s = s.slice(0, i) + s.slice(i + 1)
          else if (kind === 'insert') s = s.slice(0, i) + char + s.slice(i)
          else if (kind === 'truncate') s = s.slice(0, i)
          else s = s === s.toUpperCase() ? s.toLowerCase() : s.toUpperCase()
        }
        return s
      }),
    fc.string({ maxLength }),
  )

const HEX = '0123456789abcdefABCDEFx'
const hexOf = (length: number) =>
  fc
    .uint8Array({ minLength: length, maxLength: length })
    .map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)
const anyHex = (length: number) => mutatedString(hexOf(length), HEX, 2 * length + 4) as fc.Arbitrary<Hex>

describe('encoding.ts', () => {
  test('error: encodePurpose / decodePurpose of any name or code', () => {
    fc.assert(
      fc.property(
        mutatedString(fc.constantFrom(...PURPOSES), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_'),
        fc.oneof(fc.integer({ min: -2, max: 260 }), fc.integer()),
        (name, code) => {
          fc.pre(!PROTOTYPE_KEYS.includes(name)) // known bug, see below
          const encoded = attempt('encodePurpose', () => encodePurpose(name as never))
          if (encoded !== undefined) {
            expect(typeof encoded).toBe('number')
            expect(decodePurpose(encoded)).toBe(name)
          }
          const decoded = attempt('decodePurpose', () => decodePurpose(code))
          // a name maps back to its code; an unassigned code is passed through as itself
          expect(typeof decoded === 'string' ? encodePurpose(decoded) : decoded).toBe(code)
        },
      ),
      { numRuns: RUNS },
    )
  })

  // Object.prototype names were once "found" in the plain lookup table.
  test('error: encodePurpose of an Object.prototype name throws TypeError', () => {
    for (const name of PROTOTYPE_KEYS) expect(() => encodePurpose(name as never)).toThrow(TypeError)
  })

  test('error: scopeKindName, decodeScope and encodeScope', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -1, max: 6 }), fc.integer()),
        anyHex(32),
        fc.array(anyHex(32), { maxLength: 4 }),
        (kind, target, records) => {
          const name = attempt('scopeKindName', () => scopeKindName(kind))
          expect(['none', 'record', 'records', 'tag', 'all']).toContain(name)
          const scope = attempt('decodeScope', () => decodeScope(kind, target, records))
          if (scope === undefined) return
          expect(scope.kind).toBe(name)
          // what decodeScope gives, encodeScope takes back to the same triple, or refuses with its own error
          const again = attempt('encodeScope', () => encodeScope(scope))
          if (again === undefined) return
          expect(again.scopeKind).toBe(kind)
          if (scope.kind === 'record') expect(again.scopeTarget).toBe(target)
          if (scope.kind === 'records') expect(again.records).toEqual(records)
          if (scope.kind === 'tag') expect(again.scopeTarget.slice(0, 18)).toBe(target.slice(0, 18))
        },
      ),
      { numRuns: RUNS },
    )
  })

  test('error: decodePermissions / encodePermissions of any mask', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer()), (mask) => {
        const names = attempt('decodePermissions', () => decodePermissions(mask))!
        expect(encodePermissions(names)).toBe(mask & 7)
      }),
      { numRuns: RUNS },
    )
  })

  test('error: toBytesHex, assertBytes and toSeconds', () => {
    fc.assert(
      fc.property(
        anyHex(32),
        fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(null), fc.integer()),
        fc.oneof(
          fc.integer(),
          fc.double(),
          fc.bigInt(),
          fc.date({ noInvalidDate: false }),
          fc.integer({ min: 0, max: 2 ** 32 }),
        ),
        (hex, bytes, time) => {
          const fromHex = attempt('toBytesHex', () => toBytesHex(hex))
          if (fromHex !== undefined) expect(fromHex).toBe(hex)
          const fromBytes = attempt('toBytesHex', () => toBytesHex(bytes as Uint8Array))
          if (fromBytes !== undefined)
            expect(fromBytes).toBe(`0x${Buffer.from(bytes as Uint8Array).toString('hex')}`)
          const ok = attempt('assertBytes', () => {
            assertBytes(hex, 32, 'value')
            return true
          })
          // accepted exactly when it is 32 bytes of hex (odd-length hex: known bug, see below)
          if (hex.length % 2 === 0) expect(ok !== undefined).toBe(/^0x[0-9a-fA-F]{64}$/.test(hex))
          const seconds = attempt('toSeconds', () => toSeconds(time))
          if (seconds !== undefined) {
            expect(Number.isSafeInteger(seconds) && seconds >= 0 && seconds <= 0xffff_ffff).toBe(true)
            expect(toSeconds(seconds)).toBe(seconds)
          }
        },
      ),
      { numRuns: RUNS },
    )
  })
})

// viem's size() rounds an odd number of hex digits up; assertBytes counts digits.
test('error: assertBytes refuses 63 hex digits as 32 bytes', () => {
  expect(() => assertBytes(`0x${'0'.repeat(63)}`, 32, 'recordId')).toThrow(TypeError)
})

describe('merkle.ts (receipt proofs)', () => {
  const receipts = Array.from({ length: 5 }, (_, i) => keccak256(`0x0${i}`))
  const tree = buildReceiptTree(receipts)

  test('error: verifyReceiptProof of mutated proofs, roots and receipts: true only for the real one', () => {
    const proof = tree.getProof(receipts[2]!)
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(tree.root), anyHex(32)),
        fc.oneof(fc.constant(receipts[2]!), anyHex(32)),
        fc.oneof(
          fc.constant(proof),
          fc.array(fc.oneof(fc.constantFrom(...proof), anyHex(32)), { maxLength: 5 }),
        ),
        (root, receiptHash, path) => {
          const ok = attempt('verifyReceiptProof', () =>
            verifyReceiptProof({ root, receiptHash, proof: path }),
          )
          if (ok === true) {
            // only a path that hashes up to the real root verifies, and only for a receipt of the tree
            expect(root.toLowerCase()).toBe(tree.root)
            expect(tree.receipts).toContain(receiptHash.toLowerCase())
          }
        },
      ),
      { numRuns: RUNS },
    )
  })

  test('error: buildReceiptTree and getProof of any batch', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(anyHex(32), fc.constantFrom(...receipts)), { maxLength: 6 }), (batch) => {
        const built = attempt('buildReceiptTree', () => buildReceiptTree(batch))
        if (built === undefined) return
        for (const r of batch) {
          const path = built.getProof(r)
          expect(verifyReceiptProof({ root: built.root, receiptHash: r, proof: path })).toBe(true)
        }
        expect(receiptLeaf(batch[0]!)).toMatch(/^0x[0-9a-f]{64}$/)
      }),
      { numRuns: RUNS },
    )
  })

  // hashPair checks its arguments as its siblings do (BigInt would throw a raw SyntaxError).
  test('error: hashPair of a non-hex string throws its own TypeError', () => {
    expect(() => hashPair('0xzz' as Hex, `0x${'00'.repeat(32)}`)).toThrow(TypeError)
  })
})

function parsesToNull(text: string): boolean {
  try {
    return JSON.parse(text) === null
  } catch {
    return false
  }
}

describe('fileCheckpointStore().load() (checkpoint files)', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medvault-checkpoint-fuzz-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const valid = JSON.stringify({ version: 1, blockNumber: '12345', blockHash: `0x${'ab'.repeat(32)}` })
  const contents = fc.oneof(
    mutatedString(fc.constant(valid), '{}[]":,0123456789abcdefxnulltrue ', 200),
    fc
      .record({
        version: fc.oneof(fc.constant(1), fc.anything()),
        blockNumber: fc.oneof(fc.constant('7'), fc.string({ maxLength: 12 }), fc.anything()),
        blockHash: fc.oneof(fc.constant(`0x${'cd'.repeat(32)}`), fc.anything()),
      })
      .map((o) => JSON.stringify(o)),
    fc.json(),
  )

  test('error: any file content loads to a checkpoint that saves back to the same values, or CheckpointCorruptError', async () => {
    await fc.assert(
      fc.asyncProperty(contents, async (text) => {
        fc.pre(!parsesToNull(text)) // known bug, see below
        const path = join(dir, 'checkpoint.json')
        await writeFile(path, text)
        const store = fileCheckpointStore(path)
        const loaded = await attemptAsync('fileCheckpointStore.load', () => store.load())
        if (loaded === undefined) return
        expect(loaded.blockNumber >= 0n).toBe(true)
        await store.save(loaded)
        expect(await store.load()).toEqual(loaded)
      }),
      { numRuns: RUNS },
    )
  })

  // JSON that is not an object once made load() read a property of null (a raw TypeError).
  test('error: a checkpoint file holding `null`, a number or an array is CheckpointCorruptError', async () => {
    for (const [name, text] of [
      ['null', 'null'],
      ['number', '7'],
      ['array', '[1]'],
    ]) {
      const path = join(dir, `${name}.json`)
      await writeFile(path, text!)
      await expect(fileCheckpointStore(path).load()).rejects.toMatchObject({ name: 'CheckpointCorruptError' })
    }
  })
})
