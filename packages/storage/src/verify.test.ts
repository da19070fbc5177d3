/**
 * The block check every path uses, on its own: whatever the digest length and the bytes, a CID is either
 * verifiable (full digest of a known hash function, identity ≤ 128 bytes) and the bytes match exactly, or the
 * check refuses it with a typed error. Property tests (fast-check) over random bytes and digest lengths.
 */
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, test } from 'vitest'
import { UnverifiableCidError } from './errors.ts'
import {
  assertVerifiableCid,
  blockMatchesCid,
  cidLabel,
  fullDigestSha256,
  type HasherLookup,
  MAX_IDENTITY_DIGEST_LENGTH,
} from './verify.ts'

const RAW = 0x55
const RUNS = 1_000

/** Helia's registry as createHeliaLight has it: sha2-256 and identity only (identity is never asked for here). */
const getHasher: HasherLookup = (code) => {
  if (code === 0x12) return fullDigestSha256
  throw Object.assign(new Error(`No hasher configured for multihash code 0x${code.toString(16)}`), {
    name: 'UnknownHashAlgorithmError',
  })
}

const sha = (bytes: Uint8Array) => new Uint8Array(createHash('sha256').update(bytes).digest())
const cidWith = (hash: number, digest: Uint8Array) => CID.createV1(RAW, Digest.create(hash, digest))

describe('blockMatchesCid', () => {
  test('default: a full sha2-256 digest matches its bytes and nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), fc.uint8Array({ maxLength: 256 }), async (a, b) => {
        const cid = cidWith(0x12, sha(a))
        expect(await blockMatchesCid(cid, a, getHasher)).toBe(true)
        expect(await blockMatchesCid(cid, b, getHasher)).toBe(Buffer.from(a).equals(b))
      }),
      { numRuns: RUNS },
    )
  })

  test('error: a sha2-256 digest of any other length is refused, whatever the bytes (even the right prefix)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 256 }),
        fc.integer({ min: 0, max: 64 }).filter((n) => n !== 32),
        async (bytes, length) => {
          const full = sha(bytes)
          // the attacker's best case: the true digest, cut (or padded) to `length`
          const digest =
            length <= 32
              ? full.subarray(0, length)
              : Uint8Array.from([...full, ...new Uint8Array(length - 32)])
          const cid = cidWith(0x12, digest)
          const err = await blockMatchesCid(cid, bytes, getHasher).catch((e: unknown) => e)
          expect(err).toBeInstanceOf(UnverifiableCidError)
          expect(err).toMatchObject({ reason: 'digest-length', digestLength: length, expectedLength: 32 })
          await expect(assertVerifiableCid(cid, getHasher)).rejects.toBeInstanceOf(UnverifiableCidError)
        },
      ),
      { numRuns: RUNS },
    )
  })

  test('default: identity up to 128 bytes matches exactly its content; longer is refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 160 }),
        fc.uint8Array({ maxLength: 160 }),
        async (content, other) => {
          const cid = cidWith(0x00, content)
          if (content.byteLength > MAX_IDENTITY_DIGEST_LENGTH) {
            const err = await blockMatchesCid(cid, content, getHasher).catch((e: unknown) => e)
            expect(err).toMatchObject({ name: 'UnverifiableCidError', reason: 'identity-too-long' })
            // the error describes the CID, it never spells it out (it is the content)
            expect((err as UnverifiableCidError).cid).toBe(cidLabel(cid))
            expect((err as Error).message).not.toContain(cid.toString())
            return
          }
          expect(await blockMatchesCid(cid, content, getHasher)).toBe(true)
          expect(await blockMatchesCid(cid, other, getHasher)).toBe(Buffer.from(content).equals(other))
          // a prefix or an extension of the content is not the content
          if (content.byteLength > 0) {
            expect(await blockMatchesCid(cid, content.subarray(1), getHasher)).toBe(false)
          }
          expect(await blockMatchesCid(cid, Uint8Array.from([...content, 0]), getHasher)).toBe(false)
        },
      ),
      { numRuns: RUNS },
    )
  })

  test('error: a hash function with no hasher is refused, whatever the digest', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0x01, max: 0xffff }).filter((c) => c !== 0x12),
        fc.uint8Array({ maxLength: 80 }),
        async (code, digest) => {
          const cid = cidWith(code, digest)
          const err = await blockMatchesCid(cid, digest, getHasher).catch((e: unknown) => e)
          expect(err).toMatchObject({
            name: 'UnverifiableCidError',
            reason: 'unknown-hash',
            hash: `0x${code.toString(16)}`,
          })
        },
      ),
      { numRuns: RUNS },
    )
  })
})

describe('fullDigestSha256 (the hasher handed to Helia)', () => {
  test('default: the same digest as multiformats sha256 without truncation, or truncate: 32', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (bytes) => {
        const expected = (await sha256.digest(bytes)).bytes
        expect((await fullDigestSha256.digest(bytes)).bytes).toEqual(expected)
        expect((await fullDigestSha256.digest(bytes, { truncate: 32 })).bytes).toEqual(expected)
      }),
      { numRuns: RUNS },
    )
  })

  test('error: any truncation Helia would ask for (it accepts 20 and up) is refused', () => {
    for (let truncate = 0; truncate < 32; truncate++) {
      expect(() => fullDigestSha256.digest(new Uint8Array(4), { truncate })).toThrow(UnverifiableCidError)
    }
  })
})
