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
import { SignerMismatchError } from './errors.ts'
import {
  bytesToScalar,
  deriveKeysFromPrivateKey,
  deriveKeysFromSignature,
  getPublicKey,
  KEY_DERIVATION_LABELS,
  KEY_DERIVATION_SALT,
  type KeyDerivationDomain,
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
  const domain = vectors.domain as KeyDerivationDomain
  const account0 = privateKeyToAccount(`0x${vectors.fromPrivateKey[0]!.privateKey}`)
  const account1 = privateKeyToAccount(`0x${vectors.fromPrivateKey[1]!.privateKey}`)
  const sign = (d: KeyDerivationDomain, account = account0) =>
    account.signTypedData(keyDerivationTypedData(d))
  const otherChain = { ...domain, chainId: 1 }
  const otherRegistry = { ...domain, keyRegistry: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512' } as const

  test('default: the typed data names the chain id and the KeyRegistry (checksummed)', () => {
    expect(keyDerivationTypedData(domain)).toEqual(vectors.typedData)
    expect(keyDerivationTypedData(domain).domain).toEqual({
      name: 'medvault',
      version: '2',
      chainId: 31337,
      verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    })
    // Any case of the same address gives the same typed data.
    const upper = `0x${domain.keyRegistry.slice(2).toUpperCase()}` as const
    expect(keyDerivationTypedData({ ...domain, keyRegistry: upper })).toEqual(vectors.typedData)
  })

  test('behavior: digest equals viem hashTypedData and keys.json, for every domain (property)', () => {
    for (const d of vectors.digests) {
      const typed = keyDerivationTypedData(d as KeyDerivationDomain)
      expect(toHex(keyDerivationDigest(d as KeyDerivationDomain))).toBe(d.digest)
      expect(`0x${d.digest}`).toBe(hashTypedData(typed))
    }
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        (chainId, address) => {
          const d = { chainId, keyRegistry: `0x${toHex(address)}` as const }
          expect(`0x${toHex(keyDerivationDigest(d))}`).toBe(hashTypedData(keyDerivationTypedData(d)))
        },
      ),
      { numRuns: 50 },
    )
  })

  test('behavior: reproduces keys.json from viem signatures; the signer recovers', async () => {
    for (const v of vectors.fromSignature) {
      const d = { chainId: v.chainId, keyRegistry: v.keyRegistry as `0x${string}` }
      const keys = deriveKeysFromSignature(`0x${v.signature}`, { ...d, account: v.address as `0x${string}` })
      expect(hexKeys(keys)).toEqual({
        encryptionSecretKey: v.encryptionSecretKey,
        signingSecretKey: v.signingSecretKey,
        tagKey: v.tagKey,
      })
      expect(hexKeys(keys)).toEqual(reference(fromHex(v.signature)))
      expect(recoverKeyDerivationSigner(`0x${v.signature}`, d)).toBe(v.address)
      const viemAddress = await recoverTypedDataAddress({
        ...keyDerivationTypedData(d),
        signature: `0x${v.signature}`,
      })
      expect(viemAddress).toBe(v.address)
    }
  })

  test('behavior: a fresh viem signature derives the same keys (deterministic wallet)', async () => {
    const sig = await sign(domain)
    const expected = vectors.fromSignature.find(
      (v) =>
        v.address === account0.address &&
        v.chainId === domain.chainId &&
        v.keyRegistry === domain.keyRegistry,
    )!
    expect(sig.slice(2)).toBe(expected.signature)
    expect(hexKeys(deriveKeysFromSignature(sig, { ...domain, account: account0.address })).tagKey).toBe(
      expected.tagKey,
    )
  })

  test('behavior: the same wallet signing for another chain id or another KeyRegistry derives other keys', async () => {
    const keys = await Promise.all(
      [domain, otherChain, otherRegistry].map(async (d) =>
        hexKeys(deriveKeysFromSignature(await sign(d), { ...d, account: account0.address })),
      ),
    )
    const all = keys.flatMap((k) => [k.encryptionSecretKey, k.signingSecretKey, k.tagKey])
    expect(new Set(all).size).toBe(all.length)
  })

  test('error: a signature for one domain does not recover its signer for another, and derives nothing there', async () => {
    const sig = await sign(domain)
    expect(recoverKeyDerivationSigner(sig, domain)).toBe(account0.address)
    for (const other of [otherChain, otherRegistry]) {
      expect(recoverKeyDerivationSigner(sig, other)).not.toBe(account0.address)
      expect(() => deriveKeysFromSignature(sig, { ...other, account: account0.address })).toThrow(
        SignerMismatchError,
      )
    }
    expect(() =>
      deriveKeysFromSignature(sig, { ...otherChain, account: account0.address }),
    ).toThrowErrorMatchingInlineSnapshot(`
        [SignerMismatchError: The key-derivation signature was not made by the expected account for this deployment.

        Expected a signature of keyDerivationTypedData({ chainId: 1, keyRegistry: 0x5fbdb2315678afecb367f032d93f642f64180aa3 }) by \`account\`.
        Ask the same account to sign the typed data for this chain id and KeyRegistry.]
      `)
  })

  test('error: a signature by another account is refused', async () => {
    const sig = await sign(domain, account1)
    expect(() => deriveKeysFromSignature(sig, { ...domain, account: account0.address })).toThrow(
      SignerMismatchError,
    )
    // The account may be given in any case.
    const lower = account1.address.toLowerCase() as `0x${string}`
    expect(deriveKeysFromSignature(sig, { ...domain, account: lower }).tagKey).toHaveLength(32)
  })

  test('behavior: high-s and v ∈ {0, 1} encodings of one signature derive the same keys', () => {
    const v = vectors.fromSignature[0]!
    const params = {
      chainId: v.chainId,
      keyRegistry: v.keyRegistry as `0x${string}`,
      account: v.address as `0x${string}`,
    }
    const sig = fromHex(v.signature)
    const expected = hexKeys(deriveKeysFromSignature(sig, params))
    const zeroOne = sig.slice()
    zeroOne[64] = sig[64]! - 27
    expect(hexKeys(deriveKeysFromSignature(zeroOne, params))).toEqual(expected)
    const high = sig.slice()
    const s = BigInt(`0x${toHex(sig.subarray(32, 64))}`)
    high.set(fromHex((N - s).toString(16).padStart(64, '0')), 32)
    high[64] = sig[64] === 27 ? 28 : 27
    expect(hexKeys(deriveKeysFromSignature(high, params))).toEqual(expected)
    expect(recoverKeyDerivationSigner(high, params)).toBe(v.address)
  })

  test('error: malformed signatures', () => {
    const v = vectors.fromSignature[0]!
    const params = {
      chainId: v.chainId,
      keyRegistry: v.keyRegistry as `0x${string}`,
      account: v.address as `0x${string}`,
    }
    const sig = fromHex(v.signature)
    expect(() => deriveKeysFromSignature(sig.subarray(0, 64), params)).toThrowErrorMatchingInlineSnapshot(`
      [InvalidSignatureError: Invalid wallet signature: expected 65 bytes r ‖ s ‖ v.

      Details: expected 65 bytes, got 64]
    `)
    const badV = sig.slice()
    badV[64] = 29
    expect(() => deriveKeysFromSignature(badV, params)).toThrowErrorMatchingInlineSnapshot(`
      [InvalidSignatureError: Invalid wallet signature: expected 65 bytes r ‖ s ‖ v.

      Details: v must be 27, 28, 0 or 1]
    `)
    const zeroR = sig.slice()
    zeroR.fill(0, 0, 32)
    expect(() => deriveKeysFromSignature(zeroR, params)).toThrow('Details: r is out of range')
    const bigS = sig.slice()
    bigS.fill(0xff, 32, 64)
    expect(() => deriveKeysFromSignature(bigS, params)).toThrow('Details: s is out of range')
    expect(() => deriveKeysFromSignature('0xzz', params)).toThrow('Details: not a hex string')
    expect(() => deriveKeysFromSignature(null as unknown as Uint8Array, params)).toThrow(
      'Expected `signature` to be a Uint8Array.',
    )
  })

  test('error: malformed chain id, KeyRegistry or account', () => {
    expect(() => keyDerivationTypedData({ ...domain, chainId: 0 })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`chainId\` to be a positive safe integer.]`,
    )
    expect(() => keyDerivationDigest({ ...domain, chainId: 2 ** 53 })).toThrow('`chainId`')
    expect(() => keyDerivationDigest({ ...domain, chainId: 1.5 })).toThrow('`chainId`')
    expect(() =>
      keyDerivationDigest({ ...domain, keyRegistry: '0x1234' }),
    ).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`keyRegistry\` to be a 20-byte address: 0x and 40 hex digits.]`,
    )
    // One letter's case flipped: a broken EIP-55 checksum is a typo, not another address.
    const typo = '0x5fbDB2315678afecb367f032d93F642f64180aa3' as const
    expect(() => keyDerivationDigest({ ...domain, keyRegistry: typo })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`keyRegistry\` to be an address with a valid EIP-55 checksum.]`,
    )
    expect(() => keyDerivationDigest(undefined as unknown as KeyDerivationDomain)).toThrow('`domain`')
    const sig = `0x${vectors.fromSignature[0]!.signature}` as const
    expect(() =>
      deriveKeysFromSignature(sig, { ...domain, account: 'me' as `0x${string}` }),
    ).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`account\` to be a 20-byte address: 0x and 40 hex digits.]`,
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
