/**
 * Deterministic key derivation: from one Ethereum account (a local private key, or a wallet that signs an
 * EIP-712 message bound to one deployment) to a root secret, and from the root to one key per role.
 *
 * ```
 * root = HKDF-SHA256(ikm = the 32-byte account private key,       salt = "medvault/v2/root", info = "medvault/v2/root/private-key",      32)
 *      | HKDF-SHA256(ikm = the 65-byte canonical wallet signature, salt = "medvault/v2/root", info = "medvault/v2/root/wallet-signature", 32)
 *
 * with salt = "medvault/v2/keys":
 * receivingSecretKey = toScalar(HKDF-SHA256(root, salt, "medvault/v2/umbral-receiving", 48))   Umbral receiving key
 * eciesSecretKey     = toScalar(HKDF-SHA256(root, salt, "medvault/v2/ecies",            48))   ECIES key (proxies)
 * signingSecretKey   = toScalar(HKDF-SHA256(root, salt, "medvault/v2/kfrag-signing",    48))   signs kfrags
 * tagKey             =          HKDF-SHA256(root, salt, "medvault/v2/tag",              32)    HMAC key for tags
 * delegating(record) = toScalar(HKDF-SHA256(root, salt, "medvault/v2/umbral-delegating/record" ‖ 0x00 ‖ recordId(32), 48))
 * delegating(tag)    = toScalar(HKDF-SHA256(root, salt, "medvault/v2/umbral-delegating/tag"    ‖ 0x00 ‖ tag(32),      48))
 * delegating(all)    = toScalar(HKDF-SHA256(root, salt, "medvault/v2/umbral-delegating/all", 48))
 *
 * toScalar(b) = 32-byte big-endian of  (OS2IP(b) mod (n − 1)) + 1     n = secp256k1 group order
 * ```
 *
 * One key per role so that no key does two jobs: the key that opens re-encrypted capsules is not the
 * one proxies' kfrags are sealed to, and a grant's kfrags (made from one scope's delegating key) reach only
 * that scope. `toScalar` is the FIPS 186-5 A.2.1 / RFC 9380 `hash_to_field` method (also noble's
 * `mapHashToField`): 48 bytes = 384 bits reduced modulo a 256-bit number leave a bias below 2^-128, and the
 * `+ 1` makes zero impossible, so every output is a valid non-zero secp256k1 scalar with no retry loop.
 * docs/crypto.md specifies all of it byte for byte.
 *
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { assertBytes, assertLength, concat, fromHex, toHex, utf8 } from './bytes.ts'
import {
  InvalidArgumentError,
  InvalidSecretKeyError,
  InvalidSignatureError,
  SignerMismatchError,
} from './errors.ts'

/** The secp256k1 group order n. */
const N = secp256k1.Point.Fn.ORDER
const HALF_N = N >> 1n

/** HKDF salt of the root derivation (UTF-8). */
export const KEY_DERIVATION_ROOT_SALT = 'medvault/v2/root'
/** HKDF salt of every key derived from the root (UTF-8). */
export const KEY_DERIVATION_SALT = 'medvault/v2/keys'
/**
 * HKDF info labels (UTF-8), one per derived key. A delegating key's info is its label, then (for a record or
 * a tag) a 0x00 byte and the 32-byte id.
 */
export const KEY_DERIVATION_LABELS = {
  rootFromPrivateKey: 'medvault/v2/root/private-key',
  rootFromWalletSignature: 'medvault/v2/root/wallet-signature',
  receiving: 'medvault/v2/umbral-receiving',
  ecies: 'medvault/v2/ecies',
  signing: 'medvault/v2/kfrag-signing',
  tag: 'medvault/v2/tag',
  delegatingRecord: 'medvault/v2/umbral-delegating/record',
  delegatingTag: 'medvault/v2/umbral-delegating/tag',
  delegatingAll: 'medvault/v2/umbral-delegating/all',
} as const

/**
 * The fixed `purpose` a wallet signs to derive medvault keys. Changing one character changes every
 * derived key, so it is part of the format: a new text means a new version.
 */
export const KEY_DERIVATION_PURPOSE =
  'Derive my medvault encryption keys (v2) for the medvault deployment named in this request. ' +
  'This signature is free and authorizes no transaction. Anyone holding it can read my medvault records: ' +
  'sign it only in an app I trust with them.'

/** The EIP-712 domain name and version of the key-derivation message. */
export const KEY_DERIVATION_DOMAIN_NAME = 'medvault'
export const KEY_DERIVATION_DOMAIN_VERSION = '2'

/**
 * Where keys are derived: one medvault deployment. The wallet signs a message bound to both, so a
 * signature asked for by another chain or another deployment derives other keys.
 */
export interface KeyDerivationDomain {
  /** EIP-155 chain id of the deployment: a positive safe integer, as viem's `chain.id`. */
  chainId: number
  /**
   * Address of the deployment's KeyRegistry contract: `0x` and 40 hex digits (20 bytes). All lower- or
   * upper-case, or mixed case with a valid EIP-55 checksum.
   */
  keyRegistry: `0x${string}`
}

/** {@link KeyDerivationDomain} plus the account that must have signed. */
export interface KeyDerivationSignerParameters extends KeyDerivationDomain {
  /** The Ethereum address (20 bytes, `0x` hex, any case) expected to have signed. */
  account: `0x${string}`
}

/** The EIP-712 typed data of the key-derivation message, in the shape viem's `signTypedData` takes. */
export interface KeyDerivationTypedData {
  domain: {
    name: typeof KEY_DERIVATION_DOMAIN_NAME
    version: typeof KEY_DERIVATION_DOMAIN_VERSION
    chainId: number
    /** The KeyRegistry address, EIP-55 checksummed (what wallets display). */
    verifyingContract: `0x${string}`
  }
  types: {
    MedvaultKeyDerivation: readonly [{ readonly name: 'purpose'; readonly type: 'string' }]
  }
  primaryType: 'MedvaultKeyDerivation'
  message: { purpose: typeof KEY_DERIVATION_PURPOSE }
}

/**
 * The EIP-712 typed data a wallet signs to derive medvault keys for one deployment; pass it straight to
 * viem's `walletClient.signTypedData({ account, ...keyDerivationTypedData({ chainId, keyRegistry }) })`.
 *
 * The domain carries `chainId` and `verifyingContract` (the KeyRegistry): the wallet shows both, and a
 * site that asks for a signature for another chain or contract gets a signature that derives other keys.
 * No contract verifies this signature; `verifyingContract` is there to bind it, not to be called.
 *
 * @throws {InvalidArgumentError} if `chainId` is not a positive safe integer or `keyRegistry` is not an address.
 * @example
 * ```ts
 * const typedData = keyDerivationTypedData({ chainId: 31337, keyRegistry: devnet.addresses.keyRegistry })
 * const signature = await walletClient.signTypedData({ account, ...typedData })
 * ```
 */
export function keyDerivationTypedData(domain: KeyDerivationDomain): KeyDerivationTypedData {
  const { chainId, keyRegistry } = checkDomain(domain)
  return {
    domain: {
      name: KEY_DERIVATION_DOMAIN_NAME,
      version: KEY_DERIVATION_DOMAIN_VERSION,
      chainId,
      verifyingContract: toChecksumAddress(keyRegistry),
    },
    types: { MedvaultKeyDerivation: [{ name: 'purpose', type: 'string' }] },
    primaryType: 'MedvaultKeyDerivation',
    message: { purpose: KEY_DERIVATION_PURPOSE },
  }
}

/**
 * The keys derived from one account. All are secret; wipe them (`fill(0)`) when done.
 *
 * Publish {@link publicKeys}`(keys)` (the receiving and verifying keys) in the KeyRegistry; a proxy operator
 * registers `getPublicKey(keys.eciesSecretKey)` in the ProxyRegistry. Delegating keys, one per record, tag
 * or "all my records", come from {@link deriveDelegatingKey}.
 */
export interface DerivedKeys {
  /** 32-byte root secret every other key derives from. Whoever holds it holds every key below. */
  root: Uint8Array
  /** 32-byte secp256k1 secret key: the Umbral receiving key (opens what proxies re-encrypt for this account). */
  receivingSecretKey: Uint8Array
  /** 32-byte secp256k1 secret key: the ECIES key (a proxy's kfrags are sealed to its public key). */
  eciesSecretKey: Uint8Array
  /** 32-byte secp256k1 secret key: the Umbral signer of kfrags; its public key is the verifying key. */
  signingSecretKey: Uint8Array
  /** 32-byte HMAC key for category tags ({@link tagFor}). */
  tagKey: Uint8Array
}

/** What an account publishes in the KeyRegistry: two 33-byte compressed secp256k1 public keys. */
export interface PublishedKeys {
  /** 33 bytes: public key of {@link DerivedKeys.receivingSecretKey}; grantors make kfrags to it. */
  receiving: Uint8Array
  /** 33 bytes: public key of {@link DerivedKeys.signingSecretKey}; proxies and grantees verify kfrags with it. */
  verifying: Uint8Array
}

/**
 * What an Umbral delegating key is for: one record (its 32-byte record id), one category tag (the 32-byte
 * {@link tagFor} output, not the shorter on-chain form) or `'all'` of the owner's records. Ids are bytes or
 * `0x` hex.
 */
export type DelegationScope =
  | { record: Uint8Array | `0x${string}` }
  | { tag: Uint8Array | `0x${string}` }
  | 'all'

/**
 * Derives medvault's keys from a 32-byte Ethereum account private key.
 *
 * The result does not depend on the chain or the deployment: whoever holds the private key can always
 * re-derive it, and no signature that could leak is ever made.
 *
 * @param privateKey - 32-byte secp256k1 secret key (big-endian, 1 … n−1), as in a viem `privateKeyToAccount`.
 * @returns the root and the role keys, 32 bytes each.
 * @throws {InvalidKeyLengthError} if not 32 bytes.
 * @throws {InvalidSecretKeyError} if zero or not below the group order.
 * @example
 * ```ts
 * const keys = deriveKeysFromPrivateKey(privateKey)
 * const { receiving, verifying } = publicKeys(keys) // publish in the KeyRegistry
 * const recordKey = deriveDelegatingKey(keys, { record: recordId })
 * ```
 */
export function deriveKeysFromPrivateKey(privateKey: Uint8Array): DerivedKeys {
  assertLength(privateKey, 32, 'privateKey')
  if (!secp256k1.utils.isValidSecretKey(privateKey))
    throw new InvalidSecretKeyError({ argument: 'privateKey' })
  return keysFromRoot(deriveRoot(privateKey, KEY_DERIVATION_LABELS.rootFromPrivateKey))
}

/**
 * Derives medvault's keys from a wallet's 65-byte signature of
 * {@link keyDerivationTypedData}`({ chainId, keyRegistry })`, after checking that `account` made it for
 * exactly that chain id and KeyRegistry.
 *
 * The check makes a mix-up loud: a signature for another deployment, or from another account the wallet
 * switched to, would otherwise derive valid-looking keys that open nothing.
 *
 * The signature is canonicalised first (high `s` replaced by `n − s` with `v` flipped, `v` ∈ {0, 1}
 * mapped to {27, 28}), so the two valid encodings of one signature derive the same keys. This relies on
 * the wallet signing deterministically (RFC 6979), as Ethereum wallets do; a wallet that signs with fresh
 * randomness would derive different keys each time — see docs/crypto.md.
 *
 * **Warning**: the signature is as secret as the keys. Anyone who obtains it derives every key.
 *
 * @param signature - 65 bytes `r(32) ‖ s(32) ‖ v(1)`, as bytes or a `0x` hex string.
 * @param parameters - the deployment (`chainId`, `keyRegistry`) and the `account` that signed.
 * @returns the root and the role keys, 32 bytes each.
 * @throws {InvalidSignatureError} if the length, `r`, `s` or `v` are out of range.
 * @throws {SignerMismatchError} if the signature is not `account`'s over this chain id and KeyRegistry.
 * @throws {InvalidArgumentError} if `chainId`, `keyRegistry` or `account` are malformed.
 * @example
 * ```ts
 * const domain = { chainId: 31337, keyRegistry: devnet.addresses.keyRegistry }
 * const signature = await walletClient.signTypedData({ account, ...keyDerivationTypedData(domain) })
 * const keys = deriveKeysFromSignature(signature, { ...domain, account: account.address })
 * ```
 */
export function deriveKeysFromSignature(
  signature: Uint8Array | `0x${string}`,
  parameters: KeyDerivationSignerParameters,
): DerivedKeys {
  const account = checkAddress(parameters?.account, 'account')
  const domain = checkDomain(parameters)
  const recovered = recoverKeyDerivationSigner(signature, domain)
  if (recovered.toLowerCase() !== account.toLowerCase()) throw new SignerMismatchError(domain)
  const ikm = canonicalSignature(signature)
  try {
    return keysFromRoot(deriveRoot(ikm, KEY_DERIVATION_LABELS.rootFromWalletSignature))
  } finally {
    ikm.fill(0)
  }
}

/**
 * Derives the role keys from a 32-byte root ({@link DerivedKeys.root}), for an app that keeps only the root.
 *
 * @param root - the 32-byte root secret.
 * @returns the same `root` (a copy) and the role keys, 32 bytes each.
 * @throws {InvalidKeyLengthError} if not 32 bytes.
 */
export function deriveKeysFromRoot(root: Uint8Array): DerivedKeys {
  assertLength(root, 32, 'root')
  return keysFromRoot(root.slice())
}

/**
 * The Umbral delegating key of one scope: the key a record's data key is encapsulated to at that level, and
 * the key a grant's kfrags are made from. Each record, each tag and "all" get their own key, distinct from
 * each other and from every role key, so the kfrags of one grant — even in the hands of colluding proxies —
 * re-encrypt only capsules of that grant's scope.
 *
 * @param rootOrKeys - the 32-byte root, or the {@link DerivedKeys} holding it.
 * @param scope - `{ record: recordId }` (32 bytes), `{ tag }` (32 bytes) or `'all'`.
 * @returns a 32-byte secp256k1 secret key (`SecretKey.fromBEBytes` in `@medvault/crypto/umbral`).
 * @throws {InvalidKeyLengthError} if the root, record id or tag is not 32 bytes.
 * @throws {InvalidArgumentError} if `scope` is none of the three forms.
 * @example
 * ```ts
 * const sk = SecretKey.fromBEBytes(deriveDelegatingKey(keys, { record: recordId }))
 * const [capsule, wrappedKey] = encrypt(sk.publicKey(), dek)
 * ```
 */
export function deriveDelegatingKey(
  rootOrKeys: Uint8Array | Pick<DerivedKeys, 'root'>,
  scope: DelegationScope,
): Uint8Array {
  const root = rootOrKeys instanceof Uint8Array ? rootOrKeys : rootOrKeys?.root
  assertLength(root, 32, 'root')
  let info: Uint8Array
  if (scope === 'all') info = utf8(KEY_DERIVATION_LABELS.delegatingAll)
  else if (scope !== null && typeof scope === 'object' && 'record' in scope && !('tag' in scope))
    info = concat(
      utf8(KEY_DERIVATION_LABELS.delegatingRecord),
      Uint8Array.of(0),
      scopeId(scope.record, 'scope.record'),
    )
  else if (scope !== null && typeof scope === 'object' && 'tag' in scope && !('record' in scope))
    info = concat(
      utf8(KEY_DERIVATION_LABELS.delegatingTag),
      Uint8Array.of(0),
      scopeId(scope.tag, 'scope.tag'),
    )
  else
    throw new InvalidArgumentError({
      argument: 'scope',
      expected: "{ record: 32 bytes }, { tag: 32 bytes } or 'all'",
    })
  return scalar(root, info)
}

/**
 * The two public keys an account publishes in the KeyRegistry: the Umbral receiving key and the kfrag
 * verifying key (the public key of the signing key). Not the ECIES key: that one is a proxy operator's,
 * registered in the ProxyRegistry as `getPublicKey(keys.eciesSecretKey)`.
 *
 * @param keys - derived keys (only `receivingSecretKey` and `signingSecretKey` are read).
 * @returns `{ receiving, verifying }`, 33-byte compressed secp256k1 points.
 * @throws {InvalidKeyLengthError} / {InvalidSecretKeyError} if a key is malformed.
 */
export function publicKeys(
  keys: Pick<DerivedKeys, 'receivingSecretKey' | 'signingSecretKey'>,
): PublishedKeys {
  if (keys === null || typeof keys !== 'object')
    throw new InvalidArgumentError({ argument: 'keys', expected: 'the DerivedKeys of an account' })
  return {
    receiving: publicKeyOf(keys.receivingSecretKey, 'receivingSecretKey'),
    verifying: publicKeyOf(keys.signingSecretKey, 'signingSecretKey'),
  }
}

/**
 * The 32-byte EIP-712 digest of {@link keyDerivationTypedData}`(domain)`: what the wallet actually signs,
 * `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message))` with
 * `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`.
 *
 * @throws {InvalidArgumentError} if `chainId` or `keyRegistry` is malformed.
 */
export function keyDerivationDigest(domain: KeyDerivationDomain): Uint8Array {
  const { chainId, keyRegistry } = checkDomain(domain)
  const k = (b: Uint8Array) => keccak_256(b)
  const domainType = k(
    utf8('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'),
  )
  const domainSeparator = k(
    concat(
      domainType,
      k(utf8(KEY_DERIVATION_DOMAIN_NAME)),
      k(utf8(KEY_DERIVATION_DOMAIN_VERSION)),
      uint256(BigInt(chainId)),
      concat(new Uint8Array(12), fromHex(keyRegistry)),
    ),
  )
  const structType = k(utf8('MedvaultKeyDerivation(string purpose)'))
  const structHash = k(concat(structType, k(utf8(KEY_DERIVATION_PURPOSE))))
  return k(concat(Uint8Array.of(0x19, 0x01), domainSeparator, structHash))
}

/**
 * Recovers the Ethereum address that produced `signature` over
 * {@link keyDerivationTypedData}`(domain)`, EIP-55 checksummed (as viem's `account.address`), so a caller
 * can refuse a signature from the wrong account. A signature made for another chain id or KeyRegistry
 * recovers an unrelated address, never its signer's.
 *
 * @throws {InvalidSignatureError} if the signature is malformed or no key recovers from it.
 * @throws {InvalidArgumentError} if `chainId` or `keyRegistry` is malformed.
 */
export function recoverKeyDerivationSigner(
  signature: Uint8Array | `0x${string}`,
  domain: KeyDerivationDomain,
): `0x${string}` {
  const digest = keyDerivationDigest(domain)
  const sig = canonicalSignature(signature)
  try {
    const recovered = secp256k1.Signature.fromBytes(sig.subarray(0, 64), 'compact')
      .addRecoveryBit(sig[64]! - 27)
      .recoverPublicKey(digest)
    const uncompressed = recovered.toBytes(false)
    return toChecksumAddress(`0x${toHex(keccak_256(uncompressed.subarray(1)).subarray(12))}`)
  } catch (cause) {
    if (cause instanceof InvalidSignatureError) throw cause
    throw new InvalidSignatureError({ reason: 'no public key recovers from this signature' })
  } finally {
    sig.fill(0)
  }
}

/**
 * The category tag put on chain instead of the category: HMAC-SHA256(tagKey, UTF-8(NFC(category))).
 *
 * The same owner and category always give the same tag (so a grant can cover "all my lab results"),
 * while anyone without the tag key learns nothing about the category. The category is Unicode-NFC
 * normalised so visually identical strings match; it is otherwise exact (case-sensitive, no trimming).
 *
 * @param tagKey - the 32-byte {@link DerivedKeys.tagKey}.
 * @param category - any string, e.g. `'laboratory'`.
 * @returns 32 bytes.
 * @throws {InvalidKeyLengthError} if `tagKey` is not 32 bytes.
 */
export function tagFor(tagKey: Uint8Array, category: string): Uint8Array {
  assertLength(tagKey, 32, 'tagKey')
  if (typeof category !== 'string')
    throw new InvalidArgumentError({ argument: 'category', expected: 'a string' })
  return hmac(sha256, tagKey, utf8(category.normalize('NFC')))
}

/**
 * The 33-byte compressed secp256k1 public key of a secret key (the form Umbral's
 * `PublicKey.toCompressedBytes()` uses and the chain's key registry stores).
 *
 * @throws {InvalidKeyLengthError} if not 32 bytes.
 * @throws {InvalidSecretKeyError} if not a valid scalar.
 */
export function getPublicKey(secretKey: Uint8Array): Uint8Array {
  return publicKeyOf(secretKey, 'secretKey')
}

function publicKeyOf(secretKey: Uint8Array, argument: string): Uint8Array {
  assertLength(secretKey, 32, argument)
  if (!secp256k1.utils.isValidSecretKey(secretKey)) throw new InvalidSecretKeyError({ argument })
  return secp256k1.getPublicKey(secretKey, true)
}

/** Maps ≥ 48 uniformly random bytes to a non-zero scalar: (OS2IP(b) mod (n − 1)) + 1, 32 bytes BE. */
export function bytesToScalar(bytes: Uint8Array): Uint8Array {
  assertBytes(bytes, 'bytes')
  if (bytes.length < 48) throw new InvalidArgumentError({ argument: 'bytes', expected: 'at least 48 bytes' })
  let x = 0n
  for (const b of bytes) x = (x << 8n) | BigInt(b)
  const scalar = (x % (N - 1n)) + 1n
  const out = new Uint8Array(32)
  let v = scalar
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

function deriveRoot(ikm: Uint8Array, label: string): Uint8Array {
  return hkdf(sha256, ikm, utf8(KEY_DERIVATION_ROOT_SALT), utf8(label), 32)
}

/** Takes ownership of `root` (it is returned inside the keys). */
function keysFromRoot(root: Uint8Array): DerivedKeys {
  return {
    root,
    receivingSecretKey: scalar(root, utf8(KEY_DERIVATION_LABELS.receiving)),
    eciesSecretKey: scalar(root, utf8(KEY_DERIVATION_LABELS.ecies)),
    signingSecretKey: scalar(root, utf8(KEY_DERIVATION_LABELS.signing)),
    tagKey: hkdf(sha256, root, utf8(KEY_DERIVATION_SALT), utf8(KEY_DERIVATION_LABELS.tag), 32),
  }
}

/** toScalar(HKDF-SHA256(root, KEY_DERIVATION_SALT, info, 48)); wipes the 48 intermediate bytes. */
function scalar(root: Uint8Array, info: Uint8Array): Uint8Array {
  const okm = hkdf(sha256, root, utf8(KEY_DERIVATION_SALT), info, 48)
  try {
    return bytesToScalar(okm)
  } finally {
    okm.fill(0)
  }
}

function scopeId(id: unknown, argument: string): Uint8Array {
  if (typeof id === 'string') {
    if (!/^0x[0-9a-fA-F]{64}$/.test(id))
      throw new InvalidArgumentError({
        argument,
        expected: '32 bytes, as a Uint8Array or 0x and 64 hex digits',
      })
    return fromHex(id)
  }
  assertLength(id, 32, argument)
  return id
}

function canonicalSignature(signature: Uint8Array | `0x${string}`): Uint8Array {
  let bytes: Uint8Array
  if (typeof signature === 'string') {
    try {
      bytes = fromHex(signature)
    } catch {
      throw new InvalidSignatureError({ reason: 'not a hex string' })
    }
  } else {
    assertBytes(signature, 'signature')
    bytes = signature
  }
  if (bytes.length !== 65)
    throw new InvalidSignatureError({ reason: `expected 65 bytes, got ${bytes.length}` })
  const view = (from: number) => {
    let x = 0n
    for (let i = from; i < from + 32; i++) x = (x << 8n) | BigInt(bytes[i]!)
    return x
  }
  const r = view(0)
  let s = view(32)
  let v = bytes[64]!
  if (r === 0n || r >= N) throw new InvalidSignatureError({ reason: 'r is out of range' })
  if (s === 0n || s >= N) throw new InvalidSignatureError({ reason: 's is out of range' })
  if (v === 0 || v === 1) v += 27
  if (v !== 27 && v !== 28) throw new InvalidSignatureError({ reason: 'v must be 27, 28, 0 or 1' })
  const out = new Uint8Array(65)
  out.set(bytes.subarray(0, 32), 0)
  if (s > HALF_N) {
    // (r, s) and (r, n − s) are both valid for the same message (EIP-2 malleability); pick the low one.
    s = N - s
    v = v === 27 ? 28 : 27
  }
  for (let i = 63; i >= 32; i--) {
    out[i] = Number(s & 0xffn)
    s >>= 8n
  }
  out[64] = v
  return out
}

function checkDomain(domain: KeyDerivationDomain): KeyDerivationDomain {
  if (domain === null || typeof domain !== 'object')
    throw new InvalidArgumentError({ argument: 'domain', expected: 'an object { chainId, keyRegistry }' })
  const { chainId } = domain
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId <= 0)
    throw new InvalidArgumentError({ argument: 'chainId', expected: 'a positive safe integer' })
  return { chainId, keyRegistry: checkAddress(domain.keyRegistry, 'keyRegistry') }
}

/** Accepts `0x` + 40 hex digits; mixed case must carry a valid EIP-55 checksum (a typo is then caught). */
function checkAddress(address: unknown, argument: string): `0x${string}` {
  if (typeof address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(address))
    throw new InvalidArgumentError({ argument, expected: 'a 20-byte address: 0x and 40 hex digits' })
  const digits = address.slice(2)
  const mixed = digits !== digits.toLowerCase() && digits !== digits.toUpperCase()
  if (mixed && toChecksumAddress(address as `0x${string}`) !== address)
    throw new InvalidArgumentError({ argument, expected: 'an address with a valid EIP-55 checksum' })
  return address as `0x${string}`
}

/** EIP-55: hex digit i is upper-case when nibble i of keccak256(lower-case hex) is ≥ 8. */
function toChecksumAddress(address: `0x${string}`): `0x${string}` {
  const lower = address.slice(2).toLowerCase()
  const hash = keccak_256(utf8(lower))
  let out = '0x'
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0x0f
    out += nibble >= 8 ? lower[i]!.toUpperCase() : lower[i]
  }
  return out as `0x${string}`
}

function uint256(x: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return out
}
