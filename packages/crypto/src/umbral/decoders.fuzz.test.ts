/**
 * Fuzzing (fast-check) of every Umbral decoder: random bytes and mutations of a valid encoding (bit flips,
 * byte changes, truncation, deletion, insertion, extension). Each input must either decode to an object whose
 * encoding is exactly the input, or be refused with one of the package's typed errors (a `BaseError`): never a
 * raw TypeError/RangeError from inside a parser, never a hang. Run on every available group backend.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  availableBackends,
  BaseError,
  Capsule,
  CapsuleFrag,
  decryptOriginal,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  KeyFrag,
  PublicKey,
  RecoverableSignature,
  ReencryptionEvidence,
  reencrypt,
  SecretKey,
  SecretKeyFactory,
  Signature,
  Signer,
  setBackend,
  type VerifiedCapsuleFrag,
  type VerifiedKeyFrag,
} from './index.ts'

/** Cases per decoder, per backend, per property (mutated valid encodings; random bytes). */
const RUNS = 1_000

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'append'; bytes: Uint8Array }

/** Bytes that mean something to MessagePack and DER (lengths, types), so mutations reach the parsers' branches. */
const interesting = fc.constantFrom(
  0x00,
  0x01,
  0x02,
  0x03,
  0x04,
  0x20,
  0x21,
  0x30,
  0x7f,
  0x80,
  0x81,
  0x90,
  0x93,
  0x95,
  0x9f,
  0xc2,
  0xc3,
  0xc4,
  0xc5,
  0xc6,
  0xdc,
  0xdd,
  0xfe,
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
    const at = out.length === 0 ? 0 : 'at' in m ? m.at % (out.length + 1) : 0
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

const stats = new Map<string, { accepted: number; refused: number }>()

/**
 * Decodes `bytes`; on success the re-encoding must be the input byte for byte. A refusal must be a typed
 * error; anything else is rethrown for fast-check to shrink and report.
 */
function check<T>(
  name: string,
  decode: (b: Uint8Array) => T,
  encode: (t: T) => Uint8Array,
  bytes: Uint8Array,
) {
  const s = stats.get(name) ?? { accepted: 0, refused: 0 }
  stats.set(name, s)
  let value: T
  try {
    value = decode(bytes)
  } catch (err) {
    if (err instanceof BaseError) {
      s.refused++
      return
    }
    throw err
  }
  s.accepted++
  expect(encode(value)).toEqual(bytes)
}

afterAll(() => {
  // the counts docs/security-testing.md records
  console.log(`umbral decoder fuzz counts: ${JSON.stringify(Object.fromEntries(stats))}`)
})

describe.each(availableBackends())('%s backend', (backend) => {
  const alice = SecretKey.random()
  const bob = SecretKey.random()
  const signing = SecretKey.random()
  const signer = new Signer(signing)
  let capsule: Capsule
  let ciphertext: Uint8Array
  let kfrag: VerifiedKeyFrag
  let cfrag: VerifiedCapsuleFrag
  let evidence: ReencryptionEvidence
  const plaintext = new TextEncoder().encode('a 32-byte data encryption key!!!')

  beforeAll(() => {
    setBackend(backend)
    ;[capsule, ciphertext] = encrypt(alice.publicKey(), plaintext)
    kfrag = generateKFrags(alice, bob.publicKey(), signer, 1, 1, true, true)[0] as VerifiedKeyFrag
    cfrag = reencrypt(capsule, kfrag)
    evidence = new ReencryptionEvidence(
      capsule,
      cfrag,
      signing.publicKey(),
      alice.publicKey(),
      bob.publicKey(),
    )
  })

  // Each decoder: [name, the valid encoding, decode, encode]. Built lazily: the fixtures exist after beforeAll.
  const decoders: Array<[string, () => Uint8Array, (b: Uint8Array) => unknown, (v: never) => Uint8Array]> = [
    ['Capsule.fromBytes', () => capsule.toBytes(), Capsule.fromBytes, (c: Capsule) => c.toBytes()],
    [
      'Capsule.fromBytesSimple',
      () => capsule.toBytesSimple(),
      Capsule.fromBytesSimple,
      (c: Capsule) => c.toBytesSimple(),
    ],
    ['CapsuleFrag.fromBytes', () => cfrag.toBytes(), CapsuleFrag.fromBytes, (c: CapsuleFrag) => c.toBytes()],
    [
      'CapsuleFrag.fromBytesSimple',
      () => cfrag.toBytesSimple(),
      CapsuleFrag.fromBytesSimple,
      (c: CapsuleFrag) => c.toBytesSimple(),
    ],
    ['KeyFrag.fromBytes', () => kfrag.toBytes(), KeyFrag.fromBytes, (k: KeyFrag) => k.toBytes()],
    [
      'ReencryptionEvidence.fromBytes',
      () => evidence.toBytes(),
      ReencryptionEvidence.fromBytes,
      (e: ReencryptionEvidence) => e.toBytes(),
    ],
    [
      'PublicKey.fromCompressedBytes',
      () => alice.publicKey().toCompressedBytes(),
      PublicKey.fromCompressedBytes,
      (p: PublicKey) => p.toCompressedBytes(),
    ],
    [
      'SecretKey.fromBEBytes',
      () => alice.toBEBytes(),
      SecretKey.fromBEBytes,
      (k: SecretKey) => k.toBEBytes(),
    ],
    [
      'Signature.fromBEBytes',
      () => signer.sign(plaintext).toBEBytes(),
      Signature.fromBEBytes,
      (s: Signature) => s.toBEBytes(),
    ],
    [
      'Signature.fromDerBytes',
      () => signer.sign(plaintext).toDerBytes(),
      Signature.fromDerBytes,
      (s: Signature) => s.toDerBytes(),
    ],
    [
      'RecoverableSignature.fromBEBytes',
      () => Uint8Array.from([...signer.sign(plaintext).toBEBytes(), 1]),
      RecoverableSignature.fromBEBytes,
      (s: RecoverableSignature) => s.toBEBytes(),
    ],
    [
      'SecretKeyFactory.fromSecureRandomness',
      () => new Uint8Array(32).fill(7),
      (b: Uint8Array) => ({ factory: SecretKeyFactory.fromSecureRandomness(b), seed: b.slice() }),
      // a factory keeps its seed to itself: it stands for its seed when it derives what that seed derives
      ({ factory, seed }: { factory: SecretKeyFactory; seed: Uint8Array }) => {
        const label = new TextEncoder().encode('fuzz')
        const same = Buffer.from(factory.makeSecret(label)).equals(
          SecretKeyFactory.fromSecureRandomness(seed.slice()).makeSecret(label),
        )
        return same && seed.length === 32 ? seed : new Uint8Array(0)
      },
    ],
  ]

  describe.each(decoders)('%s', (name, valid, decode, encode) => {
    const label = `${name} (${backend})`
    test('error: mutations of a valid encoding decode to exactly themselves or are refused with a typed error', () => {
      const bytes = valid()
      fc.assert(
        fc.property(mutated(bytes), (input) =>
          check(label, decode, encode as (v: unknown) => Uint8Array, input),
        ),
        { numRuns: RUNS },
      )
    })
    test('error: random bytes are refused with a typed error (or decode to exactly themselves)', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2 * valid().length + 8 }), (input) =>
          check(label, decode, encode as (v: unknown) => Uint8Array, input),
        ),
        { numRuns: RUNS },
      )
    })
  })

  test('error: PublicKey.recoverFromPrehash of mutated prehashes and signatures', () => {
    const label = `PublicKey.recoverFromPrehash (${backend})`
    const prehash = new Uint8Array(32).fill(0x5a)
    // a recoverable signature of `prehash` by `signing`, found by trying both recovery bits
    const sig64 = signer.sign(plaintext).toBEBytes()
    fc.assert(
      fc.property(
        fc.oneof(
          // every case reaches the decoder: the prehash mutated under a well-formed signature
          fc.tuple(mutated(prehash), fc.constant(Uint8Array.from([...sig64, 0]))),
          fc.tuple(fc.constant(prehash), mutated(Uint8Array.from([...sig64, 0]))),
        ),
        ([hash, sig]) => {
          let recoverable: RecoverableSignature
          try {
            recoverable = RecoverableSignature.fromBEBytes(sig)
          } catch (err) {
            if (!(err instanceof BaseError)) throw err
            return
          }
          check(
            label,
            (h) => PublicKey.recoverFromPrehash(h, recoverable),
            // a recovered key is a valid point that parses back to itself
            (pk: PublicKey) => {
              expect(PublicKey.fromCompressedBytes(pk.toCompressedBytes()).equals(pk)).toBe(true)
              return hash
            },
            hash,
          )
        },
      ),
      { numRuns: 2 * RUNS },
    )
  })

  describe('ciphertexts (the DEM open of decryptOriginal and decryptReencrypted)', () => {
    const open = (bytes: Uint8Array) => decryptOriginal(alice, capsule, bytes)
    const openReencrypted = (bytes: Uint8Array) =>
      decryptReencrypted(bob, alice.publicKey(), capsule, [cfrag], bytes)
    for (const [name, fn] of [
      ['decryptOriginal', open],
      ['decryptReencrypted', openReencrypted],
    ] as const) {
      test(`error: ${name}: any change of the ciphertext, and random bytes, are refused with a typed error`, () => {
        const label = `${name} ciphertext (${backend})`
        // only the untouched ciphertext opens, to the plaintext
        const decode = (b: Uint8Array) => {
          const out = fn(b)
          expect(out).toEqual(plaintext)
          return b
        }
        fc.assert(
          fc.property(
            fc.oneof(mutated(ciphertext), fc.uint8Array({ maxLength: 2 * ciphertext.length })),
            (input) => check(label, decode, (b) => b, input),
          ),
          { numRuns: RUNS },
        )
      })
    }
  })
})
