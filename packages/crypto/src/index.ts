/**
 * @packageDocumentation
 *
 * medvault's cryptographic core: record encryption (a one-shot AEAD for small buffers and a segmented
 * streaming AEAD for content of any size), deterministic key derivation from an Ethereum account or
 * wallet signature, category tags, and ECIES to a secp256k1 key. Pure TypeScript over @noble, no I/O,
 * the same bytes in Node and in browsers. Umbral threshold proxy re-encryption lives on the
 * `@medvault/crypto/umbral` subpath.
 *
 * @example
 * ```ts
 * import { decryptStream, deriveKeysFromPrivateKey, encryptStream, open, seal } from '@medvault/crypto'
 *
 * const dek = crypto.getRandomValues(new Uint8Array(32))
 * const sealed = seal(dek, new TextEncoder().encode('{"resourceType":"Observation"}'))
 * open(dek, sealed)
 *
 * async function* file() { yield new Uint8Array(1_000_000) }
 * const ciphertext = encryptStream(dek, file())
 * for await (const plaintext of decryptStream(dek, ciphertext)) console.log(plaintext.length)
 * ```
 */

export {
  ECIES_OVERHEAD,
  eciesDecrypt,
  eciesEncrypt,
} from './ecies.ts'
export {
  BackendUnavailableError,
  type BackendUnavailableErrorType,
  BaseError,
  type BaseErrorParameters,
  DecryptionError,
  type DecryptionErrorType,
  InvalidArgumentError,
  type InvalidArgumentErrorType,
  InvalidBytesError,
  type InvalidBytesErrorType,
  InvalidConcurrencyError,
  type InvalidConcurrencyErrorType,
  InvalidHeaderError,
  type InvalidHeaderErrorType,
  InvalidKeyLengthError,
  type InvalidKeyLengthErrorType,
  InvalidPublicKeyError,
  type InvalidPublicKeyErrorType,
  InvalidSecretKeyError,
  type InvalidSecretKeyErrorType,
  InvalidSegmentSizeError,
  type InvalidSegmentSizeErrorType,
  InvalidSignatureError,
  type InvalidSignatureErrorType,
  SignerMismatchError,
  type SignerMismatchErrorType,
  StreamTooLongError,
  type StreamTooLongErrorType,
  UnsupportedVersionError,
  type UnsupportedVersionErrorType,
} from './errors.ts'
export {
  bytesToScalar,
  type DelegationScope,
  type DerivedKeys,
  deriveDelegatingKey,
  deriveKeysFromPrivateKey,
  deriveKeysFromRoot,
  deriveKeysFromSignature,
  getPublicKey,
  KEY_DERIVATION_DOMAIN_NAME,
  KEY_DERIVATION_DOMAIN_VERSION,
  KEY_DERIVATION_LABELS,
  KEY_DERIVATION_PURPOSE,
  KEY_DERIVATION_ROOT_SALT,
  KEY_DERIVATION_SALT,
  type KeyDerivationDomain,
  type KeyDerivationSignerParameters,
  type KeyDerivationTypedData,
  keyDerivationDigest,
  keyDerivationTypedData,
  type PublishedKeys,
  publicKeys,
  recoverKeyDerivationSigner,
  tagFor,
} from './keys.ts'
export {
  open,
  SEAL_KEY_LENGTH,
  SEAL_NONCE_LENGTH,
  SEAL_OVERHEAD,
  SEAL_TAG_LENGTH,
  seal,
} from './seal.ts'
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_SEGMENT_SIZE,
  type DecryptStreamOptions,
  decryptStream,
  type EncryptStreamOptions,
  encryptedStreamLength,
  encryptStream,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  parseStreamHeader,
  STREAM_ALGORITHM_AES256GCM_HKDF_SHA256,
  STREAM_HEADER_LENGTH,
  STREAM_KEY_LENGTH,
  STREAM_MAGIC,
  STREAM_SALT_LENGTH,
  STREAM_TAG_LENGTH,
  STREAM_VERSION,
  type StreamHeader,
  type StreamOptions,
  type StreamProgressEvent,
  type StreamSource,
} from './stream.ts'
export { isWebCryptoAvailable, type StreamBackend } from './stream-backend.ts'
