/**
 * One-shot authenticated encryption for small buffers (record metadata, wrapped keys, kfrag bundles).
 *
 * Format of a sealed message (all lengths in bytes):
 *
 * ```
 * offset  length  field
 * 0       24      nonce       random, from crypto.getRandomValues
 * 24      n       ciphertext  XChaCha20 keystream XOR plaintext (n = plaintext length)
 * 24+n    16      tag         Poly1305 tag over aad and ciphertext
 * ```
 *
 * XChaCha20-Poly1305 is chosen because its 192-bit nonce can be drawn at random for every message
 * without a practical collision risk, so one key can seal any number of messages with no counter to keep.
 *
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { assertBytes, assertLength, optionalBytes, randomBytes } from './bytes.ts'
import { DecryptionError } from './errors.ts'

/** Length of a {@link seal} key: 32 bytes. */
export const SEAL_KEY_LENGTH = 32
/** Length of the random nonce that starts a sealed message: 24 bytes. */
export const SEAL_NONCE_LENGTH = 24
/** Length of the Poly1305 tag that ends a sealed message: 16 bytes. */
export const SEAL_TAG_LENGTH = 16
/** A sealed message is this many bytes longer than its plaintext (nonce + tag): 40. */
export const SEAL_OVERHEAD = SEAL_NONCE_LENGTH + SEAL_TAG_LENGTH

/**
 * Encrypts and authenticates a small buffer with XChaCha20-Poly1305 under a fresh random nonce.
 *
 * Holds the whole message in memory; for record content use {@link encryptStream}.
 *
 * @param key - 32-byte secret key (for example a record's data key).
 * @param plaintext - bytes to encrypt.
 * @param aad - optional associated data: authenticated, not encrypted, not included in the output; the
 *   same bytes must be passed to {@link open}.
 * @returns `nonce(24) ‖ ciphertext ‖ tag(16)`, `plaintext.length + 40` bytes.
 * @throws {InvalidKeyLengthError} if `key` is not 32 bytes.
 * @throws {InvalidBytesError} if an argument is not a Uint8Array.
 * @example
 * ```ts
 * const key = crypto.getRandomValues(new Uint8Array(32))
 * const sealed = seal(key, new TextEncoder().encode('hello'))
 * open(key, sealed) // Uint8Array of 'hello'
 * ```
 */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  assertLength(key, SEAL_KEY_LENGTH, 'key')
  assertBytes(plaintext, 'plaintext')
  const ad = optionalBytes(aad, 'aad')
  const out = new Uint8Array(SEAL_OVERHEAD + plaintext.length)
  const nonce = randomBytes(SEAL_NONCE_LENGTH)
  out.set(nonce, 0)
  // encrypt() into a subarray of `out` avoids a second copy of the ciphertext.
  xchacha20poly1305(key, nonce, ad).encrypt(plaintext, out.subarray(SEAL_NONCE_LENGTH))
  return out
}

/**
 * Checks and decrypts a message made by {@link seal}.
 *
 * @param key - the 32-byte key it was sealed with.
 * @param sealed - `nonce(24) ‖ ciphertext ‖ tag(16)`.
 * @param aad - the associated data it was sealed with, if any.
 * @returns the plaintext.
 * @throws {DecryptionError} if the message is too short, was altered, or the key or aad differ; the error
 *   never says which.
 * @throws {InvalidKeyLengthError} if `key` is not 32 bytes.
 */
export function open(key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array {
  assertLength(key, SEAL_KEY_LENGTH, 'key')
  assertBytes(sealed, 'sealed')
  const ad = optionalBytes(aad, 'aad')
  if (sealed.length < SEAL_OVERHEAD) throw new DecryptionError()
  const nonce = sealed.subarray(0, SEAL_NONCE_LENGTH)
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(sealed.subarray(SEAL_NONCE_LENGTH))
  } catch {
    // No `cause`: the one error must not hint at which check failed.
    throw new DecryptionError()
  }
}
