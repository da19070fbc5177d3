/**
 * Fuzzing (fast-check) of every decoder of `@medvault/crypto`'s main entry: sealed boxes (`open`), ECIES
 * (`eciesDecrypt`), the stream header (`parseStreamHeader`) and whole streams (`decryptStream`), wallet
 * signatures (`recoverKeyDerivationSigner`, `deriveKeysFromSignature`), secret keys, scope ids and addresses.
 *
 * Inputs are random and mutated-valid (bit flips, byte changes, truncation, deletion, insertion, extension;
 * character edits for strings). Each must either decode to a value that encodes back to the input (for the
 * authenticated formats: only the untouched input opens) or be refused with one of the package's typed
 * errors (`BaseError`): never a raw TypeError/RangeError from inside, never a hang.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { afterAll, describe, expect, test } from 'vitest'
import { eciesDecrypt, eciesEncrypt } from './ecies.ts'
import { BaseError } from './errors.ts'
import {
  deriveDelegatingKey,
  deriveKeysFromPrivateKey,
  deriveKeysFromRoot,
  deriveKeysFromSignature,
  getPublicKey,
  keyDerivationDigest,
  keyDerivationTypedData,
  recoverKeyDerivationSigner,
} from './keys.ts'
import { open, seal } from './seal.ts'
import {
  decryptStream,
  encryptStreamWithSalt,
  parseStreamHeader,
  STREAM_ALGORITHM_AES256GCM_HKDF_SHA256,
  STREAM_HEADER_LENGTH,
  STREAM_MAGIC,
} from './stream.ts'

const RUNS = 1_000

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'append'; bytes: Uint8Array }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff)),
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
        out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + m.n)])
        break
      case 'insert':
        out = Uint8Array.from([...out.subarray(0, at), ...m.bytes, ...out.subarray(at)])
        break
      case 'append':
        out = Uint8Array.from([...out, ...m.bytes])
        break
    }
  }
  return out
}

const mutated = (valid: Uint8Array) =>
  fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => apply(valid, ms))
/** Mutated-valid or random bytes, half and half. */
const inputs = (valid: Uint8Array) =>
  fc.oneof(mutated(valid), fc.uint8Array({ maxLength: 2 * valid.length + 8 }))

/** A valid string with characters replaced, deleted, inserted or cut off; or any string. */
const mutatedString = (valid: string, alphabet: string) =>
  fc.oneof(
    fc
      .array(
        fc.record({
          kind: fc.constantFrom('set', 'delete', 'insert', 'truncate', 'case'),
          at: fc.nat(),
          char: fc.oneof(fc.constantFrom(...alphabet), fc.string({ minLength: 1, maxLength: 1 })),
        }),
        { minLength: 1, maxLength: 3 },
      )
      .map((ms) => {
        let s = valid
        for (const { kind, at, char } of ms) {
          const i = at % (s.length + 1)
          if (kind === 'set') s = s.slice(0, i) + char + s.slice(i + 1)
          else if (kind === 'delete') s = s.slice(0, i) + s.slice(i + 1)
          else if (kind === 'insert') s = s.slice(0, i) + char + s.slice(i)
          else if (kind === 'truncate') s = s.slice(0, i)
          else s = s.toUpperCase()
        }
        return s
      }),
    fc.string({ maxLength: valid.length + 4 }),
  )

const stats = new Map<string, { accepted: number; refused: number }>()
function counter(name: string) {
  const s = stats.get(name) ?? { accepted: 0, refused: 0 }
  stats.set(name, s)
  return s
}

/** Runs `decode`; a refusal must be a typed error (anything else is rethrown for fast-check to report). */
function attempt<T>(name: string, decode: () => T): T | undefined {
  const s = counter(name)
  try {
    const value = decode()
    s.accepted++
    return value
  } catch (err) {
    if (err instanceof BaseError) {
      s.refused++
      return undefined
    }
    throw err
  }
}

async function attemptAsync<T>(name: string, decode: () => Promise<T>): Promise<T | undefined> {
  const s = counter(name)
  try {
    const value = await decode()
    s.accepted++
    return value
  } catch (err) {
    if (err instanceof BaseError) {
      s.refused++
      return undefined
    }
    throw err
  }
}

afterAll(() => {
  console.log(`crypto decoder fuzz counts: ${JSON.stringify(Object.fromEntries(stats))}`)
})

const key = new Uint8Array(32).fill(0x42)
const plaintext = new TextEncoder().encode('a data key, or a small sealed record')
const equal = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b)

describe('authenticated formats: only the untouched input opens', () => {
  test('error: open (sealed box)', () => {
    const sealed = seal(key, plaintext, new Uint8Array([1]))
    fc.assert(
      fc.property(inputs(sealed), (bytes) => {
        const out = attempt('open', () => open(key, bytes, new Uint8Array([1])))
        if (out !== undefined) {
          expect(bytes).toEqual(sealed)
          expect(out).toEqual(plaintext)
        }
      }),
      { numRuns: 2 * RUNS },
    )
  })

  test('error: eciesDecrypt', () => {
    const sk = secp256k1.utils.randomSecretKey()
    const ct = eciesEncrypt(secp256k1.getPublicKey(sk, true), plaintext, new Uint8Array([2]))
    fc.assert(
      fc.property(inputs(ct), (bytes) => {
        const out = attempt('eciesDecrypt', () => eciesDecrypt(sk, bytes, new Uint8Array([2])))
        if (out !== undefined) {
          expect(bytes).toEqual(ct)
          expect(out).toEqual(plaintext)
        }
      }),
      { numRuns: 2 * RUNS },
    )
  })

  test('error: decryptStream (whole streams: header, segments, final flag)', async () => {
    const chunks: Uint8Array[] = []
    const content = new Uint8Array(100).map((_, i) => i)
    for await (const c of encryptStreamWithSalt(key, [content], new Uint8Array(32).fill(9), {
      segmentSize: 32,
    }))
      chunks.push(c)
    const stream = Uint8Array.from(chunks.flatMap((c) => [...c]))
    await fc.assert(
      fc.asyncProperty(inputs(stream), fc.integer({ min: 1, max: 64 }), async (bytes, piece) => {
        // fed in pieces, as a network read would deliver it
        const pieces: Uint8Array[] = []
        for (let i = 0; i < bytes.length; i += piece) pieces.push(bytes.subarray(i, i + piece))
        const out = await attemptAsync('decryptStream', async () => {
          const parts: number[] = []
          for await (const p of decryptStream(key, pieces)) parts.push(...p)
          return Uint8Array.from(parts)
        })
        if (out !== undefined) {
          expect(bytes).toEqual(stream)
          expect(out).toEqual(content)
        }
      }),
      { numRuns: 2 * RUNS },
    )
  })
})

describe('parseStreamHeader', () => {
  test('error: a header parses to fields that rebuild its 42 bytes, or is refused', () => {
    const header = new Uint8Array(STREAM_HEADER_LENGTH)
    header.set(STREAM_MAGIC)
    header[4] = 1
    header[5] = STREAM_ALGORITHM_AES256GCM_HKDF_SHA256
    new DataView(header.buffer).setUint32(6, 65_536)
    header.fill(0x33, 10)
    fc.assert(
      fc.property(inputs(header), (bytes) => {
        const h = attempt('parseStreamHeader', () => parseStreamHeader(bytes))
        if (h !== undefined) {
          const rebuilt = new Uint8Array(STREAM_HEADER_LENGTH)
          rebuilt.set(STREAM_MAGIC)
          rebuilt[4] = h.version
          rebuilt[5] = h.algorithm
          new DataView(rebuilt.buffer).setUint32(6, h.segmentSize)
          rebuilt.set(h.salt, 10)
          expect(rebuilt).toEqual(bytes.subarray(0, STREAM_HEADER_LENGTH))
        }
      }),
      { numRuns: 2 * RUNS },
    )
  })
})

describe('wallet signatures (key derivation)', () => {
  const domain = { chainId: 31337, keyRegistry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const }
  const sk = new Uint8Array(32).fill(0x11)
  const signature = (() => {
    const sig = secp256k1.sign(keyDerivationDigest(domain), sk, { prehash: false, format: 'recovered' })
    // noble's recovered format is v ‖ r ‖ s; Ethereum's is r ‖ s ‖ v (27/28)
    return Uint8Array.from([...sig.subarray(1), sig[0]! + 27])
  })()
  const signer = recoverKeyDerivationSigner(signature, domain)

  test('error: bytes: recovered to an address that then derives keys, or refused', () => {
    fc.assert(
      fc.property(inputs(signature), (bytes) => {
        const recovered = attempt('recoverKeyDerivationSigner (bytes)', () =>
          recoverKeyDerivationSigner(bytes, domain),
        )
        if (recovered !== undefined) {
          expect(recovered).toMatch(/^0x[0-9a-fA-F]{40}$/)
          // the two decoders agree: what recovers to an account derives that account's keys
          const keys = attempt('deriveKeysFromSignature', () =>
            deriveKeysFromSignature(bytes, { account: recovered, ...domain }),
          )
          expect(keys?.root.length).toBe(32)
        }
      }),
      { numRuns: 2 * RUNS },
    )
    expect(signer).toMatch(/^0x/)
  })

  test('error: hex strings: the same, or refused', () => {
    const hex = `0x${Buffer.from(signature).toString('hex')}`
    fc.assert(
      fc.property(mutatedString(hex, '0123456789abcdefABCDEFx'), (s) => {
        const recovered = attempt('recoverKeyDerivationSigner (hex)', () =>
          recoverKeyDerivationSigner(s as `0x${string}`, domain),
        )
        if (recovered !== undefined) expect(recovered).toMatch(/^0x[0-9a-fA-F]{40}$/)
      }),
      { numRuns: 2 * RUNS },
    )
  })

  test('error: the domain address (EIP-55 checksum) and chain id', () => {
    fc.assert(
      fc.property(
        mutatedString(domain.keyRegistry, '0123456789abcdefABCDEF'),
        fc.oneof({ arbitrary: fc.constant(31337), weight: 4 }, fc.integer(), fc.double()),
        (keyRegistry, chainId) => {
          const typed = attempt('keyDerivationTypedData', () =>
            keyDerivationTypedData({ chainId, keyRegistry: keyRegistry as `0x${string}` }),
          )
          if (typed !== undefined) {
            expect(typed.domain.verifyingContract.toLowerCase()).toBe(keyRegistry.toLowerCase())
            expect(typed.domain.chainId).toBe(chainId)
          }
        },
      ),
      { numRuns: 2 * RUNS },
    )
  })
})

describe('secret keys and scope ids', () => {
  test('error: deriveKeysFromPrivateKey / getPublicKey / deriveKeysFromRoot over any bytes', () => {
    const valid = new Uint8Array(32).fill(0x11)
    fc.assert(
      fc.property(inputs(valid), (bytes) => {
        const keys = attempt('deriveKeysFromPrivateKey', () => deriveKeysFromPrivateKey(bytes))
        const pub = attempt('getPublicKey', () => getPublicKey(bytes))
        // both decoders accept exactly the valid secp256k1 scalars
        expect(keys === undefined).toBe(pub === undefined)
        if (pub !== undefined) expect(pub).toEqual(secp256k1.getPublicKey(bytes, true))
        const fromRoot = attempt('deriveKeysFromRoot', () => deriveKeysFromRoot(bytes))
        expect(fromRoot === undefined).toBe(bytes.length !== 32)
      }),
      { numRuns: 2 * RUNS },
    )
  })

  test('error: deriveDelegatingKey scope ids (hex and bytes)', () => {
    const root = new Uint8Array(32).fill(0x22)
    const id = `0x${'ab'.repeat(32)}`
    fc.assert(
      fc.property(
        mutatedString(id, '0123456789abcdefABCDEFx'),
        inputs(new Uint8Array(32).fill(0xab)),
        fc.constantFrom('record', 'tag'),
        (hex, bytes, kind) => {
          const a = attempt('deriveDelegatingKey (hex id)', () =>
            deriveDelegatingKey(root, { [kind]: hex } as { record: `0x${string}` }),
          )
          const b = attempt('deriveDelegatingKey (bytes id)', () =>
            deriveDelegatingKey(root, { [kind]: bytes } as { record: Uint8Array }),
          )
          // hex and bytes of the same id are the same scope
          if (a !== undefined) {
            const asBytes = Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))
            expect(equal(a, deriveDelegatingKey(root, { [kind]: asBytes } as { record: Uint8Array }))).toBe(
              true,
            )
          }
          if (b !== undefined) expect(bytes.length).toBe(32)
        },
      ),
      { numRuns: 2 * RUNS },
    )
  })
})
