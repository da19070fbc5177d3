/**
 * Bad inputs: every refusal is a typed error, and no message carries a secret.
 */
import { inspect } from 'node:util'
import { describe, expect, test } from 'vitest'
import { hex } from './curve.ts'
import {
  availableBackends,
  Capsule,
  CapsuleFrag,
  CapsuleFragVerificationError,
  DecryptionError,
  DuplicateCapsuleFragsError,
  decryptOriginal,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  InvalidCapsuleError,
  KeyFrag,
  KeyFragVerificationError,
  MismatchedCapsuleFragsError,
  NotEnoughCapsuleFragsError,
  PublicKey,
  reencrypt,
  SecretKey,
  SecretKeyFactory,
  Signature,
  Signer,
  setBackend,
  UmbralBackendUnavailableError,
  UmbralDeserializationError,
  type VerifiedCapsuleFrag,
  type VerifiedKeyFrag,
} from './index.ts'

const enc = (s: string) => new TextEncoder().encode(s)

function setup() {
  const alice = SecretKey.random()
  const bob = SecretKey.random()
  const signing = SecretKey.random()
  const signer = new Signer(signing)
  const pk = { alice: alice.publicKey(), bob: bob.publicKey(), verifying: signing.publicKey() }
  const [capsule, ciphertext] = encrypt(pk.alice, enc('the record key'))
  const kfrags = generateKFrags(alice, pk.bob, signer, 2, 3, true, true)
  const cfrags = kfrags.map((k) => reencrypt(capsule, k))
  return { alice, bob, signing, signer, pk, capsule, ciphertext, kfrags, cfrags }
}

/** Another valid point, to splice into an encoding. */
const otherPoint = () => SecretKey.random().publicKey().toCompressedBytes()

function splice(bytes: Uint8Array, at: number, replacement: Uint8Array): Uint8Array {
  const out = bytes.slice()
  out.set(replacement, at)
  return out
}

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice()
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7))
  return out
}

function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

describe.each(availableBackends())('%s backend', (backend) => {
  describe('key fragments', () => {
    test('error: a kfrag checked against another delegation is refused', () => {
      setBackend(backend)
      const s = setup()
      const carol = SecretKey.random().publicKey()
      const kfrag = (s.kfrags[0] as VerifiedKeyFrag).unverify()
      for (const [verifying, delegating, receiving] of [
        [s.pk.verifying, s.pk.alice, carol],
        [s.pk.verifying, carol, s.pk.bob],
        [carol, s.pk.alice, s.pk.bob],
      ] as const) {
        const err = thrown(() => kfrag.verify(verifying, delegating, receiving))
        expect(err).toBeInstanceOf(KeyFragVerificationError)
        expect((err as KeyFragVerificationError).reason).toBe('IncorrectSignature')
      }
      expect(kfrag.verify(s.pk.verifying, s.pk.alice, s.pk.bob).equals(s.kfrags[0] as VerifiedKeyFrag)).toBe(
        true,
      )
    })

    test('error: a kfrag whose key or commitment was altered is refused', () => {
      setBackend(backend)
      const s = setup()
      const bytes = (s.kfrags[0] as VerifiedKeyFrag).toBytes()
      // Layout: 95 91 c4 21 U(33) | c4 20 id(32) | c4 20 key(32) | c4 21 precursor(33) | 95 c4 21 commitment(33) …
      const keyAt = 4 + 33 + 2 + 32 + 2
      const commitmentAt = keyAt + 32 + 2 + 33 + 3
      const badKey = splice(bytes, keyAt, SecretKey.random().toBEBytes())
      const badCommitment = splice(bytes, commitmentAt, otherPoint())
      for (const bad of [badKey, badCommitment]) {
        const err = thrown(() => KeyFrag.fromBytes(bad).verify(s.pk.verifying, s.pk.alice, s.pk.bob))
        expect(err).toBeInstanceOf(KeyFragVerificationError)
        expect((err as KeyFragVerificationError).reason).toBe('IncorrectCommitment')
      }
      const badPrecursor = splice(bytes, keyAt + 32 + 2, otherPoint())
      expect(() => KeyFrag.fromBytes(badPrecursor).verify(s.pk.verifying, s.pk.alice, s.pk.bob)).toThrow(
        KeyFragVerificationError,
      )
    })

    test('error: a signed key must be given to verify', () => {
      setBackend(backend)
      const s = setup()
      const kfrag = (s.kfrags[0] as VerifiedKeyFrag).unverify()
      expect(thrown(() => kfrag.verify(s.pk.verifying, null, s.pk.bob))).toMatchObject({
        name: 'KeyFragVerificationError',
        reason: 'DelegatingKeyNotProvided',
      })
      expect(thrown(() => kfrag.verify(s.pk.verifying, s.pk.alice, null))).toMatchObject({
        reason: 'ReceivingKeyNotProvided',
      })
    })
  })

  describe('capsule fragments', () => {
    test('error: a cfrag checked against another capsule is refused', () => {
      setBackend(backend)
      const s = setup()
      const [other] = encrypt(s.pk.alice, enc('another record'))
      const cfrag = (s.cfrags[0] as VerifiedCapsuleFrag).unverify()
      const err = thrown(() => cfrag.verify(other, s.pk.verifying, s.pk.alice, s.pk.bob))
      expect(err).toBeInstanceOf(CapsuleFragVerificationError)
      expect((err as CapsuleFragVerificationError).reason).toBe('IncorrectReencryption')
    })

    test('error: a cfrag checked against other keys is refused', () => {
      setBackend(backend)
      const s = setup()
      const eve = SecretKey.random().publicKey()
      const cfrag = (s.cfrags[0] as VerifiedCapsuleFrag).unverify()
      for (const keys of [
        [eve, s.pk.alice, s.pk.bob],
        [s.pk.verifying, eve, s.pk.bob],
        [s.pk.verifying, s.pk.alice, eve],
      ] as const) {
        expect(thrown(() => cfrag.verify(s.capsule, ...keys))).toMatchObject({
          name: 'CapsuleFragVerificationError',
          reason: 'IncorrectKeyFragSignature',
        })
      }
    })

    test('error: a cfrag with a tampered proof is refused', () => {
      setBackend(backend)
      const s = setup()
      const simple = (s.cfrags[0] as VerifiedCapsuleFrag).toBytesSimple()
      // E1 | V1 | id | precursor | E2 | V2 | U1 | U2 | z | signature
      const offsets = { e1: 0, v1: 33, e2: 131, v2: 164, u2: 230 }
      for (const at of Object.values(offsets)) {
        const bad = CapsuleFrag.fromBytesSimple(splice(simple, at, otherPoint()))
        expect(() => bad.verify(s.capsule, s.pk.verifying, s.pk.alice, s.pk.bob)).toThrow(
          CapsuleFragVerificationError,
        )
      }
      const badZ = CapsuleFrag.fromBytesSimple(splice(simple, 263, SecretKey.random().toBEBytes()))
      expect(() => badZ.verify(s.capsule, s.pk.verifying, s.pk.alice, s.pk.bob)).toThrow(
        CapsuleFragVerificationError,
      )
      // A different commitment U1 breaks the kfrag signature first.
      const badU1 = CapsuleFrag.fromBytesSimple(splice(simple, 197, otherPoint()))
      expect(thrown(() => badU1.verify(s.capsule, s.pk.verifying, s.pk.alice, s.pk.bob))).toMatchObject({
        reason: 'IncorrectKeyFragSignature',
      })
    })
  })

  describe('decryptReencrypted', () => {
    test('error: fewer than threshold cfrags do not open the capsule', () => {
      setBackend(backend)
      const s = setup()
      const err = thrown(() =>
        decryptReencrypted(s.bob, s.pk.alice, s.capsule, s.cfrags.slice(0, 1), s.ciphertext),
      )
      expect(err).toBeInstanceOf(NotEnoughCapsuleFragsError)
      expect(err.message).toMatchInlineSnapshot(`
        "The capsule frags do not open the capsule: fewer than \`threshold\` were given, or the receiving or delegating key is wrong.

        Capsule frags given: 1."
      `)
      expect(thrown(() => decryptReencrypted(s.bob, s.pk.alice, s.capsule, [], s.ciphertext))).toMatchObject({
        name: 'NotEnoughCapsuleFragsError',
        received: 0,
      })
    })

    test('error: duplicated cfrags are refused', () => {
      setBackend(backend)
      const s = setup()
      const [a, b] = s.cfrags as [VerifiedCapsuleFrag, VerifiedCapsuleFrag]
      expect(() => decryptReencrypted(s.bob, s.pk.alice, s.capsule, [a, a], s.ciphertext)).toThrow(
        DuplicateCapsuleFragsError,
      )
      expect(() => decryptReencrypted(s.bob, s.pk.alice, s.capsule, [a, b, a], s.ciphertext)).toThrow(
        DuplicateCapsuleFragsError,
      )
    })

    test('error: cfrags from different delegations are refused', () => {
      setBackend(backend)
      const s = setup()
      const [other] = generateKFrags(s.alice, s.pk.bob, s.signer, 2, 3, true, true)
      const mixed = [s.cfrags[0] as VerifiedCapsuleFrag, reencrypt(s.capsule, other as VerifiedKeyFrag)]
      expect(() => decryptReencrypted(s.bob, s.pk.alice, s.capsule, mixed, s.ciphertext)).toThrow(
        MismatchedCapsuleFragsError,
      )
    })

    test('error: the wrong receiving key or delegating key is refused', () => {
      setBackend(backend)
      const s = setup()
      const eve = SecretKey.random()
      expect(() => decryptReencrypted(eve, s.pk.alice, s.capsule, s.cfrags, s.ciphertext)).toThrow(
        NotEnoughCapsuleFragsError,
      )
      expect(() => decryptReencrypted(s.bob, eve.publicKey(), s.capsule, s.cfrags, s.ciphertext)).toThrow(
        NotEnoughCapsuleFragsError,
      )
    })

    test('error: cfrags of another capsule (skipping verification) are refused', () => {
      setBackend(backend)
      const s = setup()
      const [other] = encrypt(s.pk.alice, enc('another record'))
      const foreign = s.kfrags.map((k) => reencrypt(other, k).unverify().skipVerification())
      expect(() => decryptReencrypted(s.bob, s.pk.alice, s.capsule, foreign, s.ciphertext)).toThrow(
        NotEnoughCapsuleFragsError,
      )
    })

    test('error: a ciphertext from another capsule or altered fails opaquely', () => {
      setBackend(backend)
      const s = setup()
      const [, otherCiphertext] = encrypt(s.pk.alice, enc('the record key'))
      for (const ct of [
        otherCiphertext,
        flip(s.ciphertext, 200),
        s.ciphertext.subarray(0, 30),
        new Uint8Array(),
      ]) {
        const err = thrown(() => decryptReencrypted(s.bob, s.pk.alice, s.capsule, s.cfrags, ct))
        expect(err).toBeInstanceOf(DecryptionError)
        expect(err.message).toBe(new DecryptionError().message)
      }
    })
  })

  describe('decryptOriginal', () => {
    test('error: a wrong key or an altered ciphertext fails with the opaque DecryptionError', () => {
      setBackend(backend)
      const s = setup()
      expect(() => decryptOriginal(s.bob, s.capsule, s.ciphertext)).toThrow(DecryptionError)
      expect(() => decryptOriginal(s.alice, s.capsule, flip(s.ciphertext, 3))).toThrow(DecryptionError)
      const [otherCapsule] = encrypt(s.pk.alice, enc('x'))
      expect(() => decryptOriginal(s.alice, otherCapsule, s.ciphertext)).toThrow(DecryptionError)
    })
  })

  describe('deserialization', () => {
    test('error: a tampered capsule is refused on parsing', () => {
      setBackend(backend)
      const s = setup()
      const simple = s.capsule.toBytesSimple()
      expect(() => Capsule.fromBytesSimple(splice(simple, 0, otherPoint()))).toThrow(InvalidCapsuleError)
      expect(() => Capsule.fromBytesSimple(splice(simple, 66, SecretKey.random().toBEBytes()))).toThrow(
        InvalidCapsuleError,
      )
      expect(() => Capsule.fromBytes(s.capsule.toBytesSimple())).toThrow(UmbralDeserializationError)
      expect(() => Capsule.fromBytesSimple(s.capsule.toBytes())).toThrow(UmbralDeserializationError)
    })

    test('error: malformed encodings are refused with the object named', () => {
      setBackend(backend)
      const s = setup()
      const kfrag = (s.kfrags[0] as VerifiedKeyFrag).toBytes()
      const cfrag = (s.cfrags[0] as VerifiedCapsuleFrag).toBytes()
      const cases: [() => unknown, string][] = [
        [() => Capsule.fromBytes(new Uint8Array([...s.capsule.toBytes(), 0])), 'Capsule'],
        [() => Capsule.fromBytes(s.capsule.toBytes().subarray(0, 50)), 'Capsule'],
        [() => Capsule.fromBytes(Uint8Array.of(0x93, 0xc2, 0xc2, 0xc2)), 'Capsule'],
        [() => KeyFrag.fromBytes(kfrag.subarray(1)), 'KeyFrag'],
        [() => KeyFrag.fromBytes(splice(kfrag, 4, otherPoint())), 'KeyFrag'],
        [() => KeyFrag.fromBytes(new Uint8Array([...kfrag, 0xc3])), 'KeyFrag'],
        [() => KeyFrag.fromBytes(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff)), 'KeyFrag'],
        [() => CapsuleFrag.fromBytes(cfrag.subarray(0, cfrag.length - 1)), 'CapsuleFrag'],
        [() => CapsuleFrag.fromBytesSimple(new Uint8Array(359)), 'CapsuleFrag'],
        [() => SecretKey.fromBEBytes(new Uint8Array(32)), 'SecretKey'],
        [() => SecretKey.fromBEBytes(new Uint8Array(32).fill(0xff)), 'SecretKey'],
        [() => SecretKey.fromBEBytes(new Uint8Array(31).fill(1)), 'SecretKey'],
        [
          () => PublicKey.fromCompressedBytes(Uint8Array.of(2, ...new Uint8Array(32).fill(0xff))),
          'PublicKey',
        ],
        [() => PublicKey.fromCompressedBytes(Uint8Array.of(5, ...new Uint8Array(32).fill(1))), 'PublicKey'],
        [() => PublicKey.fromCompressedBytes(Uint8Array.of(4, ...new Uint8Array(64).fill(1))), 'PublicKey'],
        [() => Signature.fromBEBytes(new Uint8Array(64)), 'Signature'],
        [() => Signature.fromDerBytes(Uint8Array.of(0x30, 0x02, 0x01, 0x01)), 'Signature'],
        [() => SecretKeyFactory.fromSecureRandomness(new Uint8Array(31)), 'SecretKeyFactory'],
      ]
      for (const [fn, objectType] of cases) {
        const err = thrown(fn)
        expect(err).toBeInstanceOf(UmbralDeserializationError)
        expect((err as UmbralDeserializationError).objectType).toBe(objectType)
      }
    })

    test('error: a kfrag carrying another scheme parameter U is refused', () => {
      setBackend(backend)
      const s = setup()
      const bytes = (s.kfrags[0] as VerifiedKeyFrag).toBytes()
      expect(() => KeyFrag.fromBytes(splice(bytes, 4, otherPoint()))).toThrow(UmbralDeserializationError)
    })
  })

  test('error: no secret reaches a message', () => {
    setBackend(backend)
    const s = setup()
    const tooBig = new Uint8Array(32).fill(0xff)
    const kfragBytes = (s.kfrags[0] as VerifiedKeyFrag).toBytes()
    // Where a kfrag's secret share (the proxy's re-encryption key) sits: see the layout above.
    const shareAt = 4 + 33 + 2 + 32 + 2
    const forgedShare = SecretKey.random().toBEBytes()
    const errors = [
      thrown(() => SecretKey.fromBEBytes(tooBig)),
      thrown(() => decryptOriginal(s.bob, s.capsule, s.ciphertext)),
      thrown(() => decryptOriginal(s.alice, s.capsule, flip(s.ciphertext, 3))),
      thrown(() => decryptReencrypted(s.bob, s.pk.alice, s.capsule, s.cfrags.slice(0, 1), s.ciphertext)),
      thrown(() => decryptReencrypted(s.bob, s.pk.alice, s.capsule, s.cfrags, flip(s.ciphertext, 200))),
      thrown(() => KeyFrag.fromBytes(kfragBytes).verify(s.pk.alice, s.pk.alice, s.pk.bob)),
      // a kfrag whose secret share was replaced (the share is the proxy's secret)
      thrown(() =>
        KeyFrag.fromBytes(splice(kfragBytes, shareAt, forgedShare)).verify(
          s.pk.verifying,
          s.pk.alice,
          s.pk.bob,
        ),
      ),
      thrown(() =>
        CapsuleFrag.fromBytesSimple(
          splice((s.cfrags[0] as VerifiedCapsuleFrag).toBytesSimple(), 263, SecretKey.random().toBEBytes()),
        ).verify(s.capsule, s.pk.verifying, s.pk.alice, s.pk.bob),
      ),
    ]
    expect(errors.map((e) => e.name)).toEqual([
      'UmbralDeserializationError',
      'DecryptionError',
      'DecryptionError',
      'NotEnoughCapsuleFragsError',
      'DecryptionError',
      'KeyFragVerificationError',
      'KeyFragVerificationError',
      'CapsuleFragVerificationError',
    ])
    // The whole error, causes and hidden properties included, in any case.
    const everything = errors.map((e) => inspect(e, { depth: 20, showHidden: true }).toLowerCase())
    const keys = [s.alice, s.bob, s.signing].map((k) => hex(k.toBEBytes()))
    const shares = s.kfrags.map((k) => hex(k.toBytes().subarray(shareAt, shareAt + 32)))
    const plaintext = 'the record key'
    for (const text of everything) {
      for (const secret of [...keys, ...shares, hex(forgedShare), hex(tooBig)])
        expect(text).not.toContain(secret.slice(0, 16))
      expect(text).not.toContain(plaintext)
      expect(text).not.toContain(hex(enc(plaintext)))
    }
    expect(String(s.alice)).toBe('SecretKey:...')
    expect(String(s.signer)).toBe('Signer:...')
  })
})

test('error: impossible threshold/shares are refused up front', () => {
  const s = setup()
  expect(() => generateKFrags(s.alice, s.pk.bob, s.signer, 0, 3, true, true)).toThrow(RangeError)
  expect(() => generateKFrags(s.alice, s.pk.bob, s.signer, 3, 2, true, true)).toThrow(RangeError)
  expect(() => generateKFrags(s.alice, s.pk.bob, s.signer, 1.5, 2, true, true)).toThrow(RangeError)
})

test('error: unverified kfrags and cfrags are refused where verified ones are required', () => {
  const s = setup()
  const kfrag = (s.kfrags[0] as VerifiedKeyFrag).unverify()
  const cfrags = s.cfrags.map((c) => c.unverify())
  expect(() => reencrypt(s.capsule, kfrag as unknown as VerifiedKeyFrag)).toThrow(TypeError)
  expect(() =>
    decryptReencrypted(
      s.bob,
      s.pk.alice,
      s.capsule,
      cfrags as unknown as VerifiedCapsuleFrag[],
      s.ciphertext,
    ),
  ).toThrow(TypeError)
})

test('error: unknown backends are refused', () => {
  expect(() => setBackend('openssl' as 'noble')).toThrow(TypeError)
  expect(new UmbralBackendUnavailableError('wasm').name).toBe('UmbralBackendUnavailableError')
})
