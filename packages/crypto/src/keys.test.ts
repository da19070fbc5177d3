import { hkdfSync } from 'node:crypto'
import { mapHashToField } from '@noble/curves/abstract/modular.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { hashTypedData, recoverTypedDataAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, test } from 'vitest'
import vectors from '../test/vectors/keys.json' with { type: 'json' }
import { fromHex, toHex, utf8 } from './bytes.ts'
import { eciesDecrypt, eciesEncrypt } from './ecies.ts'
import { DecryptionError, KeyFragVerificationError, SignerMismatchError } from './errors.ts'
import {
  bytesToScalar,
  type DelegationScope,
  type DerivedKeys,
  deriveDelegatingKey,
  deriveKeysFromPrivateKey,
  deriveKeysFromRoot,
  deriveKeysFromSignature,
  getPublicKey,
  type KeyDerivationDomain,
  keyDerivationDigest,
  keyDerivationTypedData,
  publicKeys,
  recoverKeyDerivationSigner,
  tagFor,
} from './keys.ts'
import {
  decryptOriginal,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  KeyFrag,
  reencrypt,
  SecretKey,
  Signer,
} from './umbral/index.ts'

const N = secp256k1.Point.Fn.ORDER

type Hkdf = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => Uint8Array
const nobleHkdf: Hkdf = (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length)
const opensslHkdf: Hkdf = (ikm, salt, info, length) =>
  new Uint8Array(hkdfSync('sha256', ikm, salt, info, length))
type VectorScope = { record: string } | { tag: string } | 'all'
type VectorScopes = ReadonlyArray<{ scope: unknown }>

/**
 * A second, deliberately tiny derivation written from docs/crypto.md alone: the labels are literals here
 * (not the module's constants), HKDF is called directly (@noble/hashes, and OpenSSL via node:crypto), the
 * scalar reduction is noble-curves' mapHashToField and the public keys noble's getPublicKey.
 */
function reference(
  ikm: Uint8Array,
  source: 'private-key' | 'wallet-signature',
  kdf: Hkdf,
  vectorScopes: VectorScopes,
) {
  const scopes = vectorScopes as ReadonlyArray<{ scope: VectorScope }>
  const root = kdf(ikm, utf8('medvault/v2/root'), utf8(`medvault/v2/root/${source}`), 32)
  const salt = utf8('medvault/v2/keys')
  const sk = (info: Uint8Array) => mapHashToField(kdf(root, salt, info, 48), N)
  const pk = (secret: Uint8Array) => toHex(secp256k1.getPublicKey(secret, true))
  const withId = (label: string, id: string) => Uint8Array.from([...utf8(label), 0, ...fromHex(id)])
  const receiving = sk(utf8('medvault/v2/umbral-receiving'))
  const ecies = sk(utf8('medvault/v2/ecies'))
  const signing = sk(utf8('medvault/v2/kfrag-signing'))
  return {
    root: toHex(root),
    receivingSecretKey: toHex(receiving),
    receivingPublicKey: pk(receiving),
    eciesSecretKey: toHex(ecies),
    eciesPublicKey: pk(ecies),
    signingSecretKey: toHex(signing),
    verifyingPublicKey: pk(signing),
    tagKey: toHex(kdf(root, salt, utf8('medvault/v2/tag'), 32)),
    delegating: scopes.map(({ scope }) => {
      const secret =
        scope === 'all'
          ? sk(utf8('medvault/v2/umbral-delegating/all'))
          : 'record' in scope
            ? sk(withId('medvault/v2/umbral-delegating/record', scope.record))
            : sk(withId('medvault/v2/umbral-delegating/tag', scope.tag))
      return { scope, secretKey: toHex(secret), publicKey: pk(secret) }
    }),
  }
}

/** The implementation's output in the vector file's shape, for the vector's own scopes. */
function described(keys: DerivedKeys, scopes: VectorScopes = []) {
  const published = publicKeys(keys)
  return {
    root: toHex(keys.root),
    receivingSecretKey: toHex(keys.receivingSecretKey),
    receivingPublicKey: toHex(published.receiving),
    eciesSecretKey: toHex(keys.eciesSecretKey),
    eciesPublicKey: toHex(getPublicKey(keys.eciesSecretKey)),
    signingSecretKey: toHex(keys.signingSecretKey),
    verifyingPublicKey: toHex(published.verifying),
    tagKey: toHex(keys.tagKey),
    delegating: scopes.map(({ scope }) => {
      const secret = deriveDelegatingKey(keys, scope as DelegationScope)
      return { scope, secretKey: toHex(secret), publicKey: toHex(getPublicKey(secret)) }
    }),
  }
}

/** A vector without its inputs: the expected output of `described`. */
const vectorKeys = (v: object) => {
  const {
    privateKey: _p,
    chainId: _c,
    keyRegistry: _k,
    address: _a,
    signature: _s,
    ...keys
  } = v as Record<string, unknown>
  return keys
}

const pk0 = fromHex(vectors.fromPrivateKey[0]!.privateKey)
const pk1 = fromHex(vectors.fromPrivateKey[1]!.privateKey)

describe('deriveKeysFromPrivateKey', () => {
  test('default', () => {
    const keys = deriveKeysFromPrivateKey(pk0)
    expect(Object.keys(keys)).toEqual([
      'root',
      'receivingSecretKey',
      'eciesSecretKey',
      'signingSecretKey',
      'tagKey',
    ])
    for (const key of Object.values(keys)) expect(key).toHaveLength(32)
  })

  test('behavior: reproduces keys.json exactly, and so does an independent re-derivation', () => {
    expect(vectors.fromPrivateKey.length).toBe(4)
    for (const v of vectors.fromPrivateKey) {
      const keys = deriveKeysFromPrivateKey(fromHex(v.privateKey))
      expect(described(keys, v.delegating)).toEqual(vectorKeys(v))
      for (const kdf of [nobleHkdf, opensslHkdf])
        expect(reference(fromHex(v.privateKey), 'private-key', kdf, v.delegating)).toEqual(vectorKeys(v))
    }
  })

  test('behavior: every role key and every delegating key is a valid scalar, all pairwise distinct (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (pk, id1, id2) => {
          fc.pre(secp256k1.utils.isValidSecretKey(pk) && toHex(id1) !== toHex(id2))
          const keys = deriveKeysFromPrivateKey(pk)
          const scalars = [
            keys.receivingSecretKey,
            keys.eciesSecretKey,
            keys.signingSecretKey,
            deriveDelegatingKey(keys, { record: id1 }),
            deriveDelegatingKey(keys, { record: id2 }),
            // The same 32 bytes as a tag and as a record id give different keys.
            deriveDelegatingKey(keys, { tag: id1 }),
            deriveDelegatingKey(keys, { tag: id2 }),
            deriveDelegatingKey(keys, 'all'),
          ]
          for (const sk of scalars) expect(secp256k1.utils.isValidSecretKey(sk)).toBe(true)
          const all = [pk, keys.root, keys.tagKey, ...scalars].map(toHex)
          expect(new Set(all).size).toBe(all.length)
        },
      ),
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

describe('deriveKeysFromRoot', () => {
  test('default: the root alone gives back every key', () => {
    const keys = deriveKeysFromPrivateKey(pk0)
    const again = deriveKeysFromRoot(keys.root)
    expect(again).toEqual(keys)
    expect(again.root).not.toBe(keys.root) // a copy: wiping one leaves the other intact
  })

  test('error: a root that is not 32 bytes', () => {
    expect(() => deriveKeysFromRoot(new Uint8Array(31))).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyLengthError: Expected \`root\` to be 32 bytes long, got 31 bytes.]`,
    )
  })
})

describe('deriveDelegatingKey', () => {
  const keys = deriveKeysFromPrivateKey(pk0)
  const recordA = `0x${'00'.repeat(31)}01` as const
  const recordB = `0x${'a5'.repeat(32)}` as const

  test('default: one key per record, none equal to another scope or a role key', () => {
    const a = deriveDelegatingKey(keys, { record: recordA })
    expect(toHex(a)).toBe(vectors.fromPrivateKey[0]!.delegating[0]!.secretKey)
    const others = [
      deriveDelegatingKey(keys, { record: recordB }),
      deriveDelegatingKey(keys, { tag: recordA }),
      deriveDelegatingKey(keys, 'all'),
      keys.receivingSecretKey,
      keys.eciesSecretKey,
      keys.signingSecretKey,
      keys.tagKey,
      keys.root,
    ]
    for (const other of others) expect(toHex(other)).not.toBe(toHex(a))
  })

  test('behavior: root or keys, bytes or hex, any hex case: the same key', () => {
    const expected = deriveDelegatingKey(keys, { record: recordB })
    expect(deriveDelegatingKey(keys.root, { record: recordB })).toEqual(expected)
    expect(deriveDelegatingKey(keys, { record: fromHex(recordB) })).toEqual(expected)
    expect(deriveDelegatingKey(keys, { record: `0x${recordB.slice(2).toUpperCase()}` })).toEqual(expected)
    // Another account's key for the same record differs.
    expect(deriveDelegatingKey(deriveKeysFromPrivateKey(pk1), { record: recordB })).not.toEqual(expected)
  })

  test('behavior: a kfrag from one record’s delegating key opens no other scope’s capsule (real Umbral)', () => {
    const patient = deriveKeysFromPrivateKey(pk0)
    const clinician = SecretKey.fromBEBytes(deriveKeysFromPrivateKey(pk1).receivingSecretKey)
    const signer = new Signer(SecretKey.fromBEBytes(patient.signingSecretKey))
    const scopeKey = (scope: DelegationScope) => SecretKey.fromBEBytes(deriveDelegatingKey(patient, scope))
    const recordKey = scopeKey({ record: recordA })
    const [kfrag] = generateKFrags(recordKey, clinician.publicKey(), signer, 1, 1, true, true)

    // Control: the grant's own record opens.
    const dek = crypto.getRandomValues(new Uint8Array(32))
    const [capsule, wrapped] = encrypt(recordKey.publicKey(), dek)
    const cfrag = reencrypt(capsule, kfrag!)
    expect(decryptReencrypted(clinician, recordKey.publicKey(), capsule, [cfrag], wrapped)).toEqual(dek)

    for (const scope of [{ record: recordB }, { tag: recordA }, 'all'] as DelegationScope[]) {
      const other = scopeKey(scope)
      const [otherCapsule, otherWrapped] = encrypt(other.publicKey(), dek)
      // A proxy holding this kfrag re-encrypts the other capsule anyway: the result opens nothing.
      const wrong = reencrypt(otherCapsule, kfrag!)
      const refusals = [other.publicKey(), recordKey.publicKey()].map((delegating) => {
        try {
          decryptReencrypted(clinician, delegating, otherCapsule, [wrong], otherWrapped)
          return 'opened'
        } catch (err) {
          return (err as Error).name
        }
      })
      // Under the capsule's own key the cfrag fails Umbral's check; under the kfrag's key the data key fails.
      expect(refusals).toEqual(['NotEnoughCapsuleFragsError', 'DecryptionError'])
      // And the kfrag does not verify as one made from the other scope's key.
      expect(() =>
        KeyFrag.fromBytes(kfrag!.toBytes()).verify(
          signer.verifyingKey(),
          other.publicKey(),
          clinician.publicKey(),
        ),
      ).toThrow(KeyFragVerificationError)
    }
  })

  test('error: malformed scopes and roots', () => {
    expect(() =>
      deriveDelegatingKey(keys, { record: new Uint8Array(31) }),
    ).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyLengthError: Expected \`scope.record\` to be 32 bytes long, got 31 bytes.]`,
    )
    expect(() => deriveDelegatingKey(keys, { tag: '0x1234' })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`scope.tag\` to be 32 bytes, as a Uint8Array or 0x and 64 hex digits.]`,
    )
    const both = { record: recordA, tag: recordB } as unknown as DelegationScope
    expect(() => deriveDelegatingKey(keys, both)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`scope\` to be { record: 32 bytes }, { tag: 32 bytes } or 'all'.]`,
    )
    for (const bad of [{}, 'ALL', null, undefined])
      expect(() => deriveDelegatingKey(keys, bad as unknown as DelegationScope)).toThrow('Expected `scope`')
    expect(() => deriveDelegatingKey(new Uint8Array(16), 'all')).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyLengthError: Expected \`root\` to be 32 bytes long, got 16 bytes.]`,
    )
  })
})

describe('publicKeys', () => {
  test('default: the receiving and verifying keys, as Umbral computes them', () => {
    const keys = deriveKeysFromPrivateKey(pk0)
    const published = publicKeys(keys)
    expect(Object.keys(published)).toEqual(['receiving', 'verifying'])
    expect(published.receiving).toEqual(
      SecretKey.fromBEBytes(keys.receivingSecretKey).publicKey().toCompressedBytes(),
    )
    expect(published.verifying).toEqual(
      new Signer(SecretKey.fromBEBytes(keys.signingSecretKey)).verifyingKey().toCompressedBytes(),
    )
    expect(toHex(published.receiving)).toBe(vectors.fromPrivateKey[0]!.receivingPublicKey)
    expect(toHex(published.verifying)).toBe(vectors.fromPrivateKey[0]!.verifyingPublicKey)
  })

  test('error: not derived keys', () => {
    expect(() => publicKeys(null as unknown as DerivedKeys)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`keys\` to be the DerivedKeys of an account.]`,
    )
    const keys = deriveKeysFromPrivateKey(pk0)
    expect(() => publicKeys({ ...keys, signingSecretKey: new Uint8Array(32) })).toThrow(
      '`signingSecretKey` is not a valid secp256k1 secret key.',
    )
  })
})

describe('one key per role', () => {
  test('behavior: ECIES to the ECIES key does not open with the receiving key, nor Umbral to the receiving key with the ECIES key', () => {
    const keys = deriveKeysFromPrivateKey(pk0)
    const message = utf8('a kfrag')
    const boxed = eciesEncrypt(getPublicKey(keys.eciesSecretKey), message)
    expect(eciesDecrypt(keys.eciesSecretKey, boxed)).toEqual(message)
    expect(() => eciesDecrypt(keys.receivingSecretKey, boxed)).toThrow(DecryptionError)

    const receiving = SecretKey.fromBEBytes(keys.receivingSecretKey)
    const [capsule, ciphertext] = encrypt(receiving.publicKey(), message)
    expect(decryptOriginal(receiving, capsule, ciphertext)).toEqual(message)
    expect(() => decryptOriginal(SecretKey.fromBEBytes(keys.eciesSecretKey), capsule, ciphertext)).toThrow(
      DecryptionError,
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
      expect(described(keys, v.delegating)).toEqual(vectorKeys(v))
      for (const kdf of [nobleHkdf, opensslHkdf])
        expect(reference(fromHex(v.signature), 'wallet-signature', kdf, v.delegating)).toEqual(vectorKeys(v))
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
    expect(described(deriveKeysFromSignature(sig, { ...domain, account: account0.address })).tagKey).toBe(
      expected.tagKey,
    )
  })

  test('behavior: the same wallet signing for another chain id or another KeyRegistry derives other keys', async () => {
    const keys = await Promise.all(
      [domain, otherChain, otherRegistry].map(async (d) =>
        described(deriveKeysFromSignature(await sign(d), { ...d, account: account0.address })),
      ),
    )
    const all = keys.flatMap((k) => [
      k.root,
      k.receivingSecretKey,
      k.eciesSecretKey,
      k.signingSecretKey,
      k.tagKey,
    ])
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
    const expected = described(deriveKeysFromSignature(sig, params))
    const zeroOne = sig.slice()
    zeroOne[64] = sig[64]! - 27
    expect(described(deriveKeysFromSignature(zeroOne, params))).toEqual(expected)
    const high = sig.slice()
    const s = BigInt(`0x${toHex(sig.subarray(32, 64))}`)
    high.set(fromHex((N - s).toString(16).padStart(64, '0')), 32)
    high[64] = sig[64] === 27 ? 28 : 27
    expect(described(deriveKeysFromSignature(high, params))).toEqual(expected)
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
