/**
 * The AES-256-GCM backends behind the segmented stream. Both produce byte-identical output; they differ
 * only in speed and in where they run.
 *
 * - `webcrypto`: `globalThis.crypto.subtle` — native (AES-NI / ARMv8 crypto extensions) in Node 22+ and
 *   in every browser's secure context. The CryptoKey is imported once per stream and is non-extractable.
 * - `noble`: `@noble/ciphers` pure-JS `gcm`, for runtimes without `crypto.subtle` (an `http:` page, some
 *   embedded JS engines). Several times slower, and its table-based AES may leak timing through CPU caches
 *   to code sharing the machine — a fallback, not a choice.
 *
 * No `node:` import anywhere: the package loads unchanged in a browser.
 *
 * @module
 */
import { gcm } from '@noble/ciphers/aes.js'
import { BackendUnavailableError, DecryptionError } from './errors.ts'

/** Which AES-GCM implementation a stream uses. `auto`: WebCrypto where present, else noble. */
export type StreamBackend = 'auto' | 'webcrypto' | 'noble'

/** A per-stream AES-256-GCM key bound to one implementation. */
export interface SegmentCipher {
  readonly backend: 'webcrypto' | 'noble'
  /** Returns `ciphertext ‖ tag(16)`. The input is copied (or consumed) before this returns. */
  encrypt(nonce: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>
  /** Rejects with {@link DecryptionError} on any authentication failure. */
  decrypt(nonce: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>
}

function subtle(): SubtleCrypto | undefined {
  const c = (globalThis as { crypto?: Crypto }).crypto
  return c !== undefined && typeof c.subtle === 'object' && c.subtle !== null ? c.subtle : undefined
}

/** Whether the native WebCrypto backend can run here. */
export function isWebCryptoAvailable(): boolean {
  return subtle() !== undefined
}

/**
 * Binds a 32-byte AES key to a backend. `key` is copied; the caller may wipe its copy afterwards.
 */
export async function createSegmentCipher(key: Uint8Array, backend: StreamBackend): Promise<SegmentCipher> {
  const s = subtle()
  if (backend === 'webcrypto' || (backend === 'auto' && s !== undefined)) {
    if (s === undefined) throw new BackendUnavailableError({ backend })
    return webCryptoCipher(
      s,
      await s.importKey('raw', new Uint8Array(key), 'AES-GCM', false, ['encrypt', 'decrypt']),
    )
  }
  return nobleCipher(new Uint8Array(key))
}

function webCryptoCipher(s: SubtleCrypto, cryptoKey: CryptoKey): SegmentCipher {
  return {
    backend: 'webcrypto',
    // WebCrypto copies `iv` and `data` synchronously when called (the spec's "get a copy of the bytes"),
    // so callers may reuse their buffers as soon as this returns its promise.
    async encrypt(nonce, plaintext) {
      return new Uint8Array(
        await s.encrypt({ name: 'AES-GCM', iv: nonce as BufferSource }, cryptoKey, plaintext as BufferSource),
      )
    },
    async decrypt(nonce, ciphertext) {
      try {
        return new Uint8Array(
          await s.decrypt(
            { name: 'AES-GCM', iv: nonce as BufferSource },
            cryptoKey,
            ciphertext as BufferSource,
          ),
        )
      } catch {
        throw new DecryptionError()
      }
    },
  }
}

function nobleCipher(key: Uint8Array): SegmentCipher {
  return {
    backend: 'noble',
    // Synchronous underneath; wrapped in promises so the stream code is the same for both backends.
    async encrypt(nonce, plaintext) {
      return gcm(key, nonce).encrypt(plaintext)
    },
    async decrypt(nonce, ciphertext) {
      try {
        return gcm(key, nonce).decrypt(ciphertext)
      } catch {
        throw new DecryptionError()
      }
    },
  }
}
