/**
 * The data encapsulation mechanism of umbral-pre: the capsule's shared point (33-byte compressed) goes
 * through HKDF-SHA256 (no salt, empty info) to a 32-byte XChaCha20-Poly1305 key. The ciphertext is
 * `nonce (24 random bytes) ‖ ciphertext ‖ tag (16)`, with the capsule's simple bytes as associated data.
 *
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { DecryptionError } from './errors.ts'

const NONCE_SIZE = 24

function demKey(keySeed: Uint8Array): Uint8Array {
  return hkdf(sha256, keySeed, undefined, undefined, 32)
}

export function demEncrypt(keySeed: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const key = demKey(keySeed)
  const nonce = randomBytes(NONCE_SIZE)
  const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
  key.fill(0)
  const out = new Uint8Array(NONCE_SIZE + sealed.length)
  out.set(nonce)
  out.set(sealed, NONCE_SIZE)
  return out
}

/** @throws {DecryptionError} for a short, altered or wrongly keyed ciphertext — one opaque error for all. */
export function demDecrypt(keySeed: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (ciphertext.length < NONCE_SIZE + 16) throw new DecryptionError()
  const key = demKey(keySeed)
  try {
    return xchacha20poly1305(key, ciphertext.subarray(0, NONCE_SIZE), aad).decrypt(
      ciphertext.subarray(NONCE_SIZE),
    )
  } catch {
    throw new DecryptionError()
  } finally {
    key.fill(0)
  }
}
