import { hkdfSync } from 'node:crypto'
import { mapHashToField } from '@noble/curves/abstract/modular.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { hashTypedData, recoverTypedDataAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, test } from 'vitest'
import vectors from '../test/vectors/keys.json' with { type: 'json' }
import { fromHex, toHex, utf8 } from './bytes.ts'
import {
  bytesToScalar,
  deriveKeysFromPrivateKey,
  deriveKeysFromSignature,
  getPublicKey,
  KEY_DERIVATION_LABELS,
  KEY_DERIVATION_SALT,
  keyDerivationDigest,
  keyDerivationTypedData,
  recoverKeyDerivationSigner,
  tagFor,
} from './keys.ts'

const N = secp256k1.Point.Fn.ORDER

/** Independent derivation: OpenSSL's HKDF and noble's mapHashToField. */
function reference(ikm: Uint8Array) {
  const h = (label: string, len: number) =>
    new Uint8Array(hkdfSync('sha256', ikm, utf8(KEY_DERIVATION_SALT), utf8(label), len))
  return {
    encryptionSecretKey: toHex(mapHashToField(h(KEY_DERIVATION_LABELS.encryption, 48), N)),
    signingSecretKey: toHex(mapHashToField(h(KEY_DERIVATION_LABELS.signing, 48), N)),
    tagKey: toHex(h(KEY_DERIVATION_LABELS.tag, 32)),
  }
}

const hexKeys = (k: ReturnType<typeof deriveKeysFromPrivateKey>) => ({
  encryptionSecretKey: toHex(k.encryptionSecretKey),
  signingSecretKey: toHex(k.signingSecretKey),
  tagKey: toHex(k.tagKey),
})

describe('deriveKeysFromPrivateKey', () => {
  test('default', () => {
    const keys = deriveKeysFromPrivateKey(fromHex(vectors.fromPrivateKey[0]!.privateKey))
    expect(keys.encryptionSecretKey.length).toBe(32)
    expect(keys.signingSecretKey.length).toBe(32)
    expect(keys.tagKey.length).toBe(32)
  })

  test('behavior: reproduces keys.json and an independent implementation', () => {
    for (const v of vectors.fromPrivateKey) {
      const keys = deriveKeysFromPrivateKey(fromHex(v.privateKey))
      expect(hexKeys(keys)).toEqual({
        encryptionSecretKey: v.encryptionSecretKey,
        signingSecretKey: v.signingSecretKey,
        tagKey: v.tagKey,
      })
      expect(hexKeys(keys)).toEqual(reference(fromHex(v.privateKey)))
      expect(toHex(getPublicKey(keys.encryptionSecretKey))).toBe(v.encryptionPublicKey)
      expect(toHex(getPublicKey(keys.signingSecretKey))).toBe(v.signingPublicKey)
    }
  })

  test('behavior: every derived scalar is valid, distinct per label (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (pk) => {
        fc.pre(secp256k1.utils.isValidSecretKey(pk))
        const keys = deriveKeysFromPrivateKey(pk)
        expect(secp256k1.utils.isValidSecretKey(keys.encryptionSecretKey)).toBe(true)
        expect(secp256k1.utils.isValidSecretKey(keys.signingSecretKey)).toBe(true)
        expect(keys.encryptionSecretKey).not.toEqual(keys.signingSecretKey)
        expect(keys.encryptionSecretKey).not.toEqual(pk)
      }),
      { numRuns: 50 },
    )
  })

  test('error: invalid private keys', () => {
    expect(() => deriveKeysFromPrivateKey(new Uint8Array(32))).toThrowErrorMatchingInlineSnapshot(`
      [InvalidSecretKeyError: \`privateKey\` is not a valid secp256k1 secret key.

      A secret key is a big-endian integer from 1 to n-1 (n: the secp256k1 group order).]
    `)
    const n = fromHex(N.toString(16))
    expect(() => deriveKeysFromPrivateKey(n)).toThrow('`privateKey` is not a valid secp256k1 secret key.')
    expect(() => deriveKeysFromPrivateKey(new Uint8Array(31))).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyLengthError: Expected \`privateKey\` to be 32 bytes long, got 31 bytes.]`,
    )
  })
})

describe('bytesToScalar', () => {
  test('behavior: maps the extremes into 1 … n-1', () => {
    expect(toHex(bytesToScalar(new Uint8Array(48)))).toBe(`${'0'.repeat(63)}1`)
    const max = bytesToScalar(new Uint8Array(48).fill(0xff))
    expect(secp256k1.utils.isValidSecretKey(max)).toBe(true)
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 64 }), (b) => {
        expect(bytesToScalar(b)).toEqual(mapHashToField(b, N))
      }),
    )
  })

  test('error: too short', () => {
    expect(() => bytesToScalar(new Uint8Array(32))).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`bytes\` to be at least 48 bytes.]`,
    )
  })
})

describe('EIP-712 key-derivation message', () => {
  test('behavior: digest equals viem hashTypedData and keys.json', () => {
    expect(toHex(keyDerivationDigest())).toBe(vectors.digest)
    expect(`0x${toHex(keyDerivationDigest())}`).toBe(hashTypedData(keyDerivationTypedData))
    expect(vectors.typedData).toEqual(keyDerivationTypedData)
  })

  test('behavior: reproduces keys.json from viem signatures; the signer recovers', async () => {
    for (const v of vectors.fromSignature) {
      expect(hexKeys(deriveKeysFromSignature(`0x${v.signature}`))).toEqual({
        encryptionSecretKey: v.encryptionSecretKey,
        signingSecretKey: v.signingSecretKey,
        tagKey: v.tagKey,
      })
      expect(hexKeys(deriveKeysFromSignature(fromHex(v.signature)))).toEqual(reference(fromHex(v.signature)))
      expect(recoverKeyDerivationSigner(`0x${v.signature}`)).toBe(v.address)
      const viemAddress = await recoverTypedDataAddress({
        ...keyDerivationTypedData,
        signature: `0x${v.signature}`,
      })
      expect(viemAddress.toLowerCase()).toBe(v.address)
    }
  })

  test('behavior: a fresh viem signature derives the same keys (deterministic wallet)', async () => {
    const account = privateKeyToAccount(`0x${vectors.fromPrivateKey[0]!.privateKey}`)
    const sig = await account.signTypedData(keyDerivationTypedData)
    expect(hexKeys(deriveKeysFromSignature(sig)).tagKey).toBe(vectors.fromSignature[0]!.tagKey)
  })

  test('behavior: high-s and v ∈ {0, 1} encodings of one signature derive the same keys', () => {
    const v = vectors.fromSignature[0]!
    const sig = fromHex(v.signature)
    const expected = hexKeys(deriveKeysFromSignature(sig))
    const zeroOne = sig.slice()
    zeroOne[64] = sig[64]! - 27
    expect(hexKeys(deriveKeysFromSignature(zeroOne))).toEqual(expected)
    const high = sig.slice()
    const s = BigInt(`0x${toHex(sig.subarray(32, 64))}`)
    high.set(fromHex((N - s).toString(16).padStart(64, '0')), 32)
    high[64] = sig[64] === 27 ? 28 : 27
    expect(hexKeys(deriveKeysFromSignature(high))).toEqual(expected)
    expect(recoverKeyDerivationSigner(high)).toBe(v.address)
  })

  test('error: malformed signatures', () => {
    const sig = fromHex(vectors.fromSignature[0]!.signature)
    expect(() => deriveKeysFromSignature(sig.subarray(0, 64))).toThrowErrorMatchingInlineSnapshot(`
      [InvalidSignatureError: Invalid wallet signature: expected 65 bytes r ‖ s ‖ v.

      Details: expected 65 bytes, got 64]
    `)
    const badV = sig.slice()
    badV[64] = 29
    expect(() => deriveKeysFromSignature(badV)).toThrowErrorMatchingInlineSnapshot(`
      [InvalidSignatureError: Invalid wallet signature: expected 65 bytes r ‖ s ‖ v.

      Details: v must be 27, 28, 0 or 1]
    `)
    const zeroR = sig.slice()
    zeroR.fill(0, 0, 32)
    expect(() => deriveKeysFromSignature(zeroR)).toThrow('Details: r is out of range')
    const bigS = sig.slice()
    bigS.fill(0xff, 32, 64)
    expect(() => deriveKeysFromSignature(bigS)).toThrow('Details: s is out of range')
    expect(() => deriveKeysFromSignature('0xzz')).toThrow('Details: not a hex string')
    expect(() => deriveKeysFromSignature(null as unknown as Uint8Array)).toThrow(
      'Expected `signature` to be a Uint8Array.',
    )
  })
})

describe('tagFor', () => {
  test('default', () => {
    for (const t of vectors.tags) expect(toHex(tagFor(fromHex(t.tagKey), t.category))).toBe(t.tag)
    const t0 = vectors.tags[0]!
    expect(toHex(hmac(sha256, fromHex(t0.tagKey), utf8(t0.category)))).toBe(t0.tag)
  })

  test('behavior: NFC normalisation, case-sensitive', () => {
    const key = fromHex(vectors.tags[0]!.tagKey)
    expect(tagFor(key, 'cafe\u0301')).toEqual(tagFor(key, 'caf\u00e9'))
    expect(tagFor(key, 'laboratory')).not.toEqual(tagFor(key, 'Laboratory'))
  })

  test('error: bad arguments', () => {
    expect(() => tagFor(new Uint8Array(16), 'x')).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyLengthError: Expected \`tagKey\` to be 32 bytes long, got 16 bytes.]`,
    )
    expect(() => tagFor(new Uint8Array(32), 1 as unknown as string)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`category\` to be a string.]`,
    )
  })
})

describe('getPublicKey', () => {
  test('default', () => {
    expect(getPublicKey(fromHex(`${'0'.repeat(63)}1`))).toEqual(secp256k1.Point.BASE.toBytes(true))
  })

  test('error: invalid secret key', () => {
    expect(() => getPublicKey(new Uint8Array(32))).toThrowErrorMatchingInlineSnapshot(`
      [InvalidSecretKeyError: \`secretKey\` is not a valid secp256k1 secret key.

      A secret key is a big-endian integer from 1 to n-1 (n: the secp256k1 group order).]
    `)
  })
})
