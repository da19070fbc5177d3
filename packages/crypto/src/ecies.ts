/**
 * ECIES to a secp256k1 public key: how a patient sends each proxy its key fragment.
 *
 * Format (all lengths in bytes):
 *
 * ```
 * offset  length  field
 * 0       33      ephemeralPublicKey   compressed SEC1 point (first byte 0x02 or 0x03)
 * 33      n       ciphertext           XChaCha20 (n = plaintext length)
 * 33+n    16      tag                  Poly1305 over aad and ciphertext
 * ```
 *
 * ```
 * shared      = x-coordinate of ephemeralSecretKey · recipientPublicKey     (32 bytes, ECDH)
 * key ‖ nonce = HKDF-SHA256(ikm = shared, salt = none,
 *                           info = "medvault/v1/ecies" ‖ 0x00 ‖ ephemeralPublicKey ‖ recipientPublicKey,
 *                           length = 32 + 24)
 * ```
 *
 * The ephemeral key is fresh per message, so key and nonce are too and need not be stored. Both public keys
 * in `info` bind the derived key to this sender-recipient pair (no key-substitution games). A future format
 * can start with a byte other than 0x02/0x03 and stay distinguishable from this one.
 *
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { assertBytes, assertLength, concat, optionalBytes, utf8 } from './bytes.ts'
import { DecryptionError, InvalidPublicKeyError, InvalidSecretKeyError } from './errors.ts'

/** Bytes an ECIES ciphertext adds to its plaintext: 33 (ephemeral key) + 16 (tag) = 49. */
export const ECIES_OVERHEAD = 33 + 16

const INFO_LABEL = utf8('medvault/v1/ecies')

function deriveKeyNonce(shared: Uint8Array, ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array) {
  const info = concat(INFO_LABEL, Uint8Array.of(0), ephemeralPublicKey, recipientPublicKey)
  const okm = hkdf(sha256, shared, undefined, info, 56)
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32), okm }
}

function isValidCompressedPublicKey(pk: Uint8Array): boolean {
  return pk.length === 33 && (pk[0] === 2 || pk[0] === 3) && secp256k1.utils.isValidPublicKey(pk, true)
}

/**
 * Encrypts `plaintext` so that only the holder of `recipientPublicKey`'s secret key can read it.
 *
 * Anyone can encrypt to a public key: ECIES gives confidentiality and integrity, not sender
 * authentication. Sign the plaintext (or the ciphertext) if the recipient must know who sent it.
 *
 * @param recipientPublicKey - 33-byte compressed secp256k1 public key.
 * @param plaintext - bytes to encrypt.
 * @param aad - optional associated data, authenticated but not sent; the recipient must pass the same.
 * @returns `ephemeralPublicKey(33) ‖ ciphertext ‖ tag(16)`.
 * @throws {InvalidPublicKeyError} if the recipient key is not a compressed point on the curve.
 * @example
 * ```ts
 * const ct = eciesEncrypt(proxyPublicKey, kfragBytes, grantId)
 * eciesDecrypt(proxySecretKey, ct, grantId) // kfragBytes
 * ```
 */
export function eciesEncrypt(
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  assertLength(recipientPublicKey, 33, 'recipientPublicKey')
  if (!isValidCompressedPublicKey(recipientPublicKey))
    throw new InvalidPublicKeyError({ argument: 'recipientPublicKey' })
  assertBytes(plaintext, 'plaintext')
  const ad = optionalBytes(aad, 'aad')
  const ephemeralSecretKey = secp256k1.utils.randomSecretKey()
  const ephemeralPublicKey = secp256k1.getPublicKey(ephemeralSecretKey, true)
  const point = secp256k1.getSharedSecret(ephemeralSecretKey, recipientPublicKey, true)
  const { key, nonce, okm } = deriveKeyNonce(point.subarray(1), ephemeralPublicKey, recipientPublicKey)
  const out = new Uint8Array(ECIES_OVERHEAD + plaintext.length)
  out.set(ephemeralPublicKey, 0)
  xchacha20poly1305(key, nonce, ad).encrypt(plaintext, out.subarray(33))
  ephemeralSecretKey.fill(0)
  point.fill(0)
  okm.fill(0)
  return out
}

/**
 * Decrypts a message made by {@link eciesEncrypt}.
 *
 * @param recipientSecretKey - the recipient's 32-byte secp256k1 secret key.
 * @param ciphertext - `ephemeralPublicKey(33) ‖ ciphertext ‖ tag(16)`.
 * @param aad - the associated data used when encrypting, if any.
 * @throws {DecryptionError} for a wrong key or aad, an altered or truncated message, or an invalid
 *   ephemeral key — one opaque error for all.
 * @throws {InvalidSecretKeyError} if `recipientSecretKey` is not a valid scalar.
 */
export function eciesDecrypt(
  recipientSecretKey: Uint8Array,
  ciphertext: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  assertLength(recipientSecretKey, 32, 'recipientSecretKey')
  if (!secp256k1.utils.isValidSecretKey(recipientSecretKey)) {
    throw new InvalidSecretKeyError({ argument: 'recipientSecretKey' })
  }
  assertBytes(ciphertext, 'ciphertext')
  const ad = optionalBytes(aad, 'aad')
  if (ciphertext.length < ECIES_OVERHEAD) throw new DecryptionError()
  const ephemeralPublicKey = ciphertext.subarray(0, 33)
  if (!isValidCompressedPublicKey(ephemeralPublicKey)) throw new DecryptionError()
  const recipientPublicKey = secp256k1.getPublicKey(recipientSecretKey, true)
  const point = secp256k1.getSharedSecret(recipientSecretKey, ephemeralPublicKey, true)
  const { key, nonce, okm } = deriveKeyNonce(point.subarray(1), ephemeralPublicKey, recipientPublicKey)
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(ciphertext.subarray(33))
  } catch {
    throw new DecryptionError()
  } finally {
    point.fill(0)
    okm.fill(0)
  }
}
