/**
 * Property tests (fast-check): round trips through every operation and encoding, and "any single-bit
 * change is refused" for capsules, ciphertexts, kfrags and cfrags.
 */
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import {
  availableBackends,
  BaseError,
  Capsule,
  CapsuleFrag,
  DecryptionError,
  decryptOriginal,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  KeyFrag,
  PublicKey,
  reencrypt,
  SecretKey,
  Signer,
  setBackend,
  UmbralDeserializationError,
  type VerifiedCapsuleFrag,
  type VerifiedKeyFrag,
} from './index.ts'

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice()
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7))
  return out
}

/** Runs `fn`, which must throw one of our typed errors. */
function refused(fn: () => unknown): boolean {
  try {
    fn()
    return false
  } catch (err) {
    return err instanceof BaseError
  }
}

describe.each(availableBackends())('%s backend', (backend) => {
  const alice = SecretKey.random()
  const bob = SecretKey.random()
  const signing = SecretKey.random()
  const signer = new Signer(signing)
  let capsule: Capsule
  let ciphertext: Uint8Array
  let kfrag: VerifiedKeyFrag
  let cfrag: VerifiedCapsuleFrag

  beforeAll(() => {
    setBackend(backend)
    ;[capsule, ciphertext] = encrypt(
      alice.publicKey(),
      new TextEncoder().encode('a 32-byte data encryption key!!!'),
    )
    kfrag = generateKFrags(alice, bob.publicKey(), signer, 1, 1, true, true)[0] as VerifiedKeyFrag
    cfrag = reencrypt(capsule, kfrag)
  })

  test('behavior: encrypt → (kfrags → reencrypt → any threshold-sized subset) → decrypt round-trips', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        fc.boolean(),
        fc.infiniteStream(fc.nat()),
        (plaintext, threshold, extraShares, extraUsed, signD, signR, randomness) => {
          const shares = threshold + extraShares
          const [c, ct] = encrypt(alice.publicKey(), plaintext)
          expect(decryptOriginal(alice, c, ct)).toEqual(plaintext)
          const kfrags = generateKFrags(alice, bob.publicKey(), signer, threshold, shares, signD, signR)
          // Shuffle, then use between `threshold` and `shares` of them.
          const order = kfrags.map((k, i) => ({ k, r: randomness.next().value as number, i }))
          order.sort((a, b) => a.r - b.r || a.i - b.i)
          const used = order.slice(0, Math.min(shares, threshold + extraUsed)).map(({ k }) => {
            const proxyKfrag = KeyFrag.fromBytes(k.toBytes()).verify(
              signing.publicKey(),
              signD ? alice.publicKey() : null,
              signR ? bob.publicKey() : null,
            )
            const sent = reencrypt(Capsule.fromBytes(c.toBytes()), proxyKfrag).toBytes()
            return CapsuleFrag.fromBytes(sent).verify(
              c,
              signing.publicKey(),
              alice.publicKey(),
              bob.publicKey(),
            )
          })
          expect(decryptReencrypted(bob, alice.publicKey(), c, used, ct)).toEqual(plaintext)
        },
      ),
      { numRuns: 12 },
    )
  })

  test('behavior: every encoding round-trips', () => {
    expect(Capsule.fromBytes(capsule.toBytes()).equals(capsule)).toBe(true)
    expect(Capsule.fromBytesSimple(capsule.toBytesSimple()).equals(capsule)).toBe(true)
    expect(KeyFrag.fromBytes(kfrag.toBytes()).equals(kfrag.unverify())).toBe(true)
    expect(CapsuleFrag.fromBytes(cfrag.toBytes()).equals(cfrag.unverify())).toBe(true)
    expect(CapsuleFrag.fromBytesSimple(cfrag.toBytesSimple()).equals(cfrag.unverify())).toBe(true)
    expect(SecretKey.fromBEBytes(alice.toBEBytes()).publicKey().equals(alice.publicKey())).toBe(true)
  })

  test('behavior: parsed objects do not alias the caller’s bytes (Node Buffers included)', () => {
    const buffers = [
      Buffer.from(capsule.toBytes()),
      Buffer.from(capsule.toBytesSimple()),
      Buffer.from(kfrag.toBytes()),
      Buffer.from(cfrag.toBytes()),
      Buffer.from(alice.publicKey().toCompressedBytes()),
    ]
    const [c1, c2, k, cf, pk] = [
      Capsule.fromBytes(buffers[0] as Buffer),
      Capsule.fromBytesSimple(buffers[1] as Buffer),
      KeyFrag.fromBytes(buffers[2] as Buffer),
      CapsuleFrag.fromBytes(buffers[3] as Buffer),
      PublicKey.fromCompressedBytes(buffers[4] as Buffer),
    ]
    for (const b of buffers) b.fill(0x55)
    expect(c1.equals(capsule) && c2.equals(capsule)).toBe(true)
    k.verify(signing.publicKey(), alice.publicKey(), bob.publicKey())
    cf.verify(capsule, signing.publicKey(), alice.publicKey(), bob.publicKey())
    expect(pk.equals(alice.publicKey())).toBe(true)
    // A mutated array is validated afresh, not recognised from a cache.
    expect(() => PublicKey.fromCompressedBytes(buffers[4] as Buffer)).toThrow(UmbralDeserializationError)
  })

  test('behavior: any single-bit change of the ciphertext is refused with DecryptionError', () => {
    fc.assert(
      fc.property(fc.nat({ max: ciphertext.length * 8 - 1 }), (bit) => {
        expect(() => decryptOriginal(alice, capsule, flip(ciphertext, bit))).toThrow(DecryptionError)
      }),
      { numRuns: 100 },
    )
  })

  test('behavior: any single-bit change of a capsule is refused', () => {
    const simple = capsule.toBytesSimple()
    const packed = capsule.toBytes()
    fc.assert(
      fc.property(fc.nat({ max: simple.length * 8 - 1 }), fc.nat({ max: packed.length * 8 - 1 }), (a, b) => {
        expect(refused(() => Capsule.fromBytesSimple(flip(simple, a)))).toBe(true)
        expect(refused(() => Capsule.fromBytes(flip(packed, b)))).toBe(true)
      }),
      { numRuns: 60 },
    )
  })

  test('behavior: any single-bit change of a kfrag is refused by parsing or verification', () => {
    const bytes = kfrag.toBytes()
    fc.assert(
      fc.property(fc.nat({ max: bytes.length * 8 - 1 }), (bit) => {
        expect(
          refused(() =>
            KeyFrag.fromBytes(flip(bytes, bit)).verify(
              signing.publicKey(),
              alice.publicKey(),
              bob.publicKey(),
            ),
          ),
        ).toBe(true)
      }),
      { numRuns: 60 },
    )
  })

  test('behavior: any single-bit change of a cfrag is refused by parsing or verification', () => {
    const simple = cfrag.toBytesSimple()
    const packed = cfrag.toBytes()
    const verify = (c: CapsuleFrag) =>
      c.verify(capsule, signing.publicKey(), alice.publicKey(), bob.publicKey())
    fc.assert(
      fc.property(fc.nat({ max: simple.length * 8 - 1 }), fc.nat({ max: packed.length * 8 - 1 }), (a, b) => {
        expect(refused(() => verify(CapsuleFrag.fromBytesSimple(flip(simple, a))))).toBe(true)
        expect(refused(() => verify(CapsuleFrag.fromBytes(flip(packed, b))))).toBe(true)
      }),
      { numRuns: 60 },
    )
  })
})
