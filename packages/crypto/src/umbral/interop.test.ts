/**
 * Cross-implementation tests against the reference, @nucypher/umbral-pre 0.10.0 (GPL-3.0 WASM, a
 * devDependency used only here and in the bench): every object made by one side is parsed, verified and
 * used by the other, in both directions, on each of our backends.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import * as ref from '@nucypher/umbral-pre'
import { describe, expect, test } from 'vitest'
import { hex } from './curve.ts'
import * as ours from './index.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

function parties() {
  const alice = ours.SecretKey.random()
  const bob = ours.SecretKey.random()
  const signing = ours.SecretKey.random()
  const refAlice = ref.SecretKey.fromBEBytes(alice.toBEBytes())
  const refBob = ref.SecretKey.fromBEBytes(bob.toBEBytes())
  const refSigning = ref.SecretKey.fromBEBytes(signing.toBEBytes())
  return {
    alice,
    bob,
    signer: new ours.Signer(signing),
    refAlice,
    refBob,
    refSigner: new ref.Signer(refSigning),
    pk: {
      alice: alice.publicKey(),
      bob: bob.publicKey(),
      verifying: signing.publicKey(),
      refAlice: refAlice.publicKey(),
      refBob: refBob.publicKey(),
      refVerifying: refSigning.publicKey(),
    },
  }
}

describe.each(ours.availableBackends())('%s backend', (backend) => {
  test('default: keys are the same on both sides', () => {
    ours.setBackend(backend)
    const p = parties()
    expect(hex(p.pk.alice.toCompressedBytes())).toBe(hex(p.pk.refAlice.toCompressedBytes()))
    expect(ours.PublicKey.fromCompressedBytes(p.pk.refBob.toCompressedBytes()).equals(p.pk.bob)).toBe(true)
    expect(p.pk.alice.toString()).toBe(p.pk.refAlice.toString())
    expect(p.alice.toString()).toBe(p.refAlice.toString())
    expect(p.signer.toString()).toBe(p.refSigner.toString())
  })

  test('default: encrypt with theirs, decryptOriginal with ours; and the other way', () => {
    ours.setBackend(backend)
    const p = parties()
    const [refCapsule, refCiphertext] = ref.encrypt(p.pk.refAlice, enc('from the reference'))
    const capsule = ours.Capsule.fromBytes(refCapsule.toBytes())
    expect(hex(capsule.toBytesSimple())).toBe(hex(refCapsule.toBytesSimple()))
    expect(capsule.toString()).toBe(refCapsule.toString())
    expect(text(ours.decryptOriginal(p.alice, capsule, refCiphertext))).toBe('from the reference')

    const [ourCapsule, ourCiphertext] = ours.encrypt(p.pk.alice, enc('from medvault'))
    const theirCapsule = ref.Capsule.fromBytes(ourCapsule.toBytes())
    expect(hex(theirCapsule.toBytes())).toBe(hex(ourCapsule.toBytes()))
    expect(text(ref.decryptOriginal(p.refAlice, theirCapsule, ourCiphertext))).toBe('from medvault')
  })

  test('default: our kfrags are verified and used by theirs; their cfrags are verified and decrypted by ours', () => {
    ours.setBackend(backend)
    const p = parties()
    const [capsule, ciphertext] = ours.encrypt(p.pk.alice, enc('ours → theirs → ours'))
    const refCapsule = ref.Capsule.fromBytes(capsule.toBytes())
    const kfrags = ours.generateKFrags(p.alice, p.pk.bob, p.signer, 2, 3, true, true)
    const cfrags = kfrags.map((kfrag) => {
      const refKfrag = ref.KeyFrag.fromBytes(kfrag.toBytes()).verify(
        p.pk.refVerifying,
        p.pk.refAlice,
        p.pk.refBob,
      )
      expect(refKfrag.toString()).toBe(kfrag.toString())
      const refCfrag = ref.reencrypt(refCapsule, refKfrag)
      return ours.CapsuleFrag.fromBytes(refCfrag.toBytes()).verify(
        capsule,
        p.pk.verifying,
        p.pk.alice,
        p.pk.bob,
      )
    })
    expect(text(ours.decryptReencrypted(p.bob, p.pk.alice, capsule, cfrags.slice(0, 2), ciphertext))).toBe(
      'ours → theirs → ours',
    )
  })

  test('default: their kfrags are verified and used by ours; our cfrags are verified and decrypted by theirs', () => {
    ours.setBackend(backend)
    const p = parties()
    const [refCapsule, ciphertext] = ref.encrypt(p.pk.refAlice, enc('theirs → ours → theirs'))
    const capsule = ours.Capsule.fromBytes(refCapsule.toBytes())
    const refKfrags = ref.generateKFrags(p.refAlice, p.pk.refBob, p.refSigner, 3, 5, true, true)
    const refCfrags = refKfrags.slice(1, 4).map((refKfrag) => {
      const kfrag = ours.KeyFrag.fromBytes(refKfrag.toBytes()).verify(p.pk.verifying, p.pk.alice, p.pk.bob)
      expect(hex(kfrag.toBytes())).toBe(hex(refKfrag.toBytes()))
      const cfrag = ours.reencrypt(capsule, kfrag)
      expect(cfrag.toString()).toBe(`VerifiedCapsuleFrag:${refKfrag.toString().split(':')[1]}`)
      const refCfrag = ref.CapsuleFrag.fromBytes(cfrag.toBytes())
      expect(hex(refCfrag.toBytesSimple())).toBe(hex(cfrag.toBytesSimple()))
      return refCfrag.verify(refCapsule, p.pk.refVerifying, p.pk.refAlice, p.pk.refBob)
    })
    expect(text(ref.decryptReencrypted(p.refBob, p.pk.refAlice, refCapsule, refCfrags, ciphertext))).toBe(
      'theirs → ours → theirs',
    )
  })

  test('behavior: cfrags from both implementations combine, on either side', () => {
    ours.setBackend(backend)
    const p = parties()
    const [capsule, ciphertext] = ours.encrypt(p.pk.alice, enc('mixed'))
    const refCapsule = ref.Capsule.fromBytes(capsule.toBytes())
    const kfrags = ours.generateKFrags(p.alice, p.pk.bob, p.signer, 2, 2, false, false)
    const ourCfrag = ours.reencrypt(capsule, kfrags[0] as ours.VerifiedKeyFrag)
    const refCfrag = ref.reencrypt(
      refCapsule,
      ref.KeyFrag.fromBytes((kfrags[1] as ours.VerifiedKeyFrag).toBytes()).verify(
        p.pk.refVerifying,
        null,
        null,
      ),
    )
    const mine = [
      ourCfrag,
      ours.CapsuleFrag.fromBytes(refCfrag.toBytes()).verify(capsule, p.pk.verifying, p.pk.alice, p.pk.bob),
    ]
    expect(text(ours.decryptReencrypted(p.bob, p.pk.alice, capsule, mine, ciphertext))).toBe('mixed')
    const theirs = [
      ref.CapsuleFrag.fromBytes(ourCfrag.toBytes()).verify(
        refCapsule,
        p.pk.refVerifying,
        p.pk.refAlice,
        p.pk.refBob,
      ),
      refCfrag,
    ]
    expect(text(ref.decryptReencrypted(p.refBob, p.pk.refAlice, refCapsule, theirs, ciphertext))).toBe(
      'mixed',
    )
  })

  test.each([
    [false, false],
    [true, false],
    [false, true],
  ])('behavior: kfrags signed with (delegating %s, receiving %s) verify on both sides', (signD, signR) => {
    ours.setBackend(backend)
    const p = parties()
    const [kfrag] = ours.generateKFrags(p.alice, p.pk.bob, p.signer, 1, 1, signD, signR)
    const bytes = (kfrag as ours.VerifiedKeyFrag).toBytes()
    ref.KeyFrag.fromBytes(bytes).verify(
      p.pk.refVerifying,
      signD ? p.pk.refAlice : null,
      signR ? p.pk.refBob : null,
    )
    ours.KeyFrag.fromBytes(bytes).verify(p.pk.verifying, signD ? p.pk.alice : null, signR ? p.pk.bob : null)
    const [refKfrag] = ref.generateKFrags(p.refAlice, p.pk.refBob, p.refSigner, 1, 1, signD, signR)
    ours.KeyFrag.fromBytes((refKfrag as ref.VerifiedKeyFrag).toBytes()).verify(
      p.pk.verifying,
      signD ? p.pk.alice : null,
      signR ? p.pk.bob : null,
    )
  })

  test('behavior: simple forms written by theirs parse with ours', () => {
    ours.setBackend(backend)
    const p = parties()
    const [refCapsule] = ref.encrypt(p.pk.refAlice, enc('x'))
    const [refKfrag] = ref.generateKFrags(p.refAlice, p.pk.refBob, p.refSigner, 1, 1, true, true)
    const refCfrag = ref.reencrypt(refCapsule, refKfrag as ref.VerifiedKeyFrag)
    const capsule = ours.Capsule.fromBytesSimple(refCapsule.toBytesSimple())
    expect(hex(capsule.toBytes())).toBe(hex(refCapsule.toBytes()))
    const cfrag = ours.CapsuleFrag.fromBytesSimple(refCfrag.toBytesSimple())
    expect(hex(cfrag.toBytes())).toBe(hex(refCfrag.toBytes()))
    expect(cfrag.toString()).toBe(refCfrag.unverify().toString())
    cfrag.verify(capsule, p.pk.verifying, p.pk.alice, p.pk.bob)
  })

  test('behavior: signatures cross-verify in both byte forms', () => {
    ours.setBackend(backend)
    const p = parties()
    const message = enc('signed')
    const ourSig = p.signer.sign(message)
    const refSig = p.refSigner.sign(message)
    expect(ref.Signature.fromBEBytes(ourSig.toBEBytes()).verify(p.pk.refVerifying, message)).toBe(true)
    expect(ref.Signature.fromDerBytes(ourSig.toDerBytes()).verify(p.pk.refVerifying, message)).toBe(true)
    expect(ours.Signature.fromBEBytes(refSig.toBEBytes()).verify(p.pk.verifying, message)).toBe(true)
    const fromDer = ours.Signature.fromDerBytes(refSig.toDerBytes())
    expect(hex(fromDer.toBEBytes())).toBe(hex(refSig.toBEBytes()))
    expect(hex(fromDer.toDerBytes())).toBe(hex(refSig.toDerBytes()))
    expect(fromDer.toString()).toBe(refSig.toString())
    expect(fromDer.verify(p.pk.bob, message)).toBe(false)
    expect(fromDer.verify(p.pk.verifying, enc('other'))).toBe(false)
  })

  test('behavior: recoverFromPrehash agrees with the reference', () => {
    ours.setBackend(backend)
    const p = parties()
    const prehash = sha256(enc('recover me'))
    const sig = secp256k1.sign(prehash, p.bob.toBEBytes(), { prehash: false, format: 'recovered' })
    // noble puts the recovery byte first; umbral-pre wants r ‖ s ‖ v.
    const rsv = new Uint8Array([...sig.subarray(1), sig[0] as number])
    const recovered = ours.PublicKey.recoverFromPrehash(prehash, ours.RecoverableSignature.fromBEBytes(rsv))
    expect(recovered.equals(p.pk.bob)).toBe(true)
    const refRecovered = ref.PublicKey.recoverFromPrehash(prehash, ref.RecoverableSignature.fromBEBytes(rsv))
    expect(hex(refRecovered.toCompressedBytes())).toBe(hex(recovered.toCompressedBytes()))
    expect(ours.RecoverableSignature.fromBEBytes(rsv).toString()).toBe(
      ref.RecoverableSignature.fromBEBytes(rsv).toString(),
    )
  })

  test('behavior: SecretKeyFactory derives the same keys and secrets as the reference', () => {
    ours.setBackend(backend)
    const seed = Uint8Array.from({ length: 32 }, (_, i) => i * 7)
    const factory = ours.SecretKeyFactory.fromSecureRandomness(seed)
    const refFactory = ref.SecretKeyFactory.fromSecureRandomness(seed)
    expect(ours.SecretKeyFactory.seedSize()).toBe(ref.SecretKeyFactory.seedSize())
    for (const label of ['', 'alice', 'a much longer label with ünïcode']) {
      const l = enc(label)
      expect(hex(factory.makeKey(l).toBEBytes())).toBe(hex(refFactory.makeKey(l).toBEBytes()))
      expect(hex(factory.makeSecret(l))).toBe(hex(refFactory.makeSecret(l)))
      expect(hex(factory.makeFactory(l).makeKey(enc('k')).toBEBytes())).toBe(
        hex(refFactory.makeFactory(l).makeKey(enc('k')).toBEBytes()),
      )
    }
    expect(factory.toString()).toBe(refFactory.toString())
  })

  test('behavior: ReencryptionEvidence is byte-identical to the reference and parses both ways', () => {
    ours.setBackend(backend)
    const p = parties()
    const [capsule] = ours.encrypt(p.pk.alice, enc('evidence'))
    const [kfrag] = ours.generateKFrags(p.alice, p.pk.bob, p.signer, 1, 1, true, true)
    const cfrag = ours.reencrypt(capsule, kfrag as ours.VerifiedKeyFrag)
    const evidence = new ours.ReencryptionEvidence(capsule, cfrag, p.pk.verifying, p.pk.alice, p.pk.bob)
    const refEvidence = new ref.ReencryptionEvidence(
      ref.Capsule.fromBytes(capsule.toBytes()),
      ref.CapsuleFrag.fromBytes(cfrag.toBytes()).skipVerification(),
      p.pk.refVerifying,
      p.pk.refAlice,
      p.pk.refBob,
    )
    expect(hex(evidence.toBytes())).toBe(hex(refEvidence.toBytes()))
    expect(evidence.kfragSignatureV).toBe(refEvidence.kfragSignatureV)
    expect(hex(evidence.kfragValidityMessageHash)).toBe(hex(refEvidence.kfragValidityMessageHash))
    const [x, y] = evidence.e1h.coordinates() as [Uint8Array, Uint8Array]
    const [rx, ry] = refEvidence.e1h.coordinates() as [Uint8Array, Uint8Array]
    expect([hex(x), hex(y)]).toEqual([hex(rx), hex(ry)])
    expect(hex(ours.ReencryptionEvidence.fromBytes(refEvidence.toBytes()).toBytes())).toBe(
      hex(refEvidence.toBytes()),
    )
    expect(hex(ref.ReencryptionEvidence.fromBytes(evidence.toBytes()).toBytes())).toBe(
      hex(evidence.toBytes()),
    )
    expect(() => new ours.ReencryptionEvidence(capsule, cfrag, p.pk.bob, p.pk.alice, p.pk.bob)).toThrow(
      'Could not find the recovery ID',
    )
  })

  test('error: what ours refuses, the reference refuses too', () => {
    ours.setBackend(backend)
    const p = parties()
    const eve = ours.SecretKey.random()
    const [capsule] = ours.encrypt(p.pk.alice, enc('x'))
    const refCapsule = ref.Capsule.fromBytes(capsule.toBytes())
    const [kfrag] = ours.generateKFrags(p.alice, p.pk.bob, p.signer, 1, 1, true, true)
    const cfragBytes = ours.reencrypt(capsule, kfrag as ours.VerifiedKeyFrag).toBytes()
    const refEve = ref.SecretKey.fromBEBytes(eve.toBEBytes()).publicKey()
    expect(() =>
      ours.CapsuleFrag.fromBytes(cfragBytes).verify(capsule, p.pk.verifying, p.pk.alice, eve.publicKey()),
    ).toThrow(ours.CapsuleFragVerificationError)
    expect(() =>
      ref.CapsuleFrag.fromBytes(cfragBytes).verify(refCapsule, p.pk.refVerifying, p.pk.refAlice, refEve),
    ).toThrow('Invalid CapsuleFrag signature')
    expect(() =>
      ours.KeyFrag.fromBytes((kfrag as ours.VerifiedKeyFrag).toBytes()).verify(
        p.pk.verifying,
        null,
        p.pk.bob,
      ),
    ).toThrow('A signature of a delegating key was included in this kfrag but the key is not provided')
  })
})
