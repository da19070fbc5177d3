/**
 * @packageDocumentation
 *
 * Umbral threshold proxy re-encryption on secp256k1 — an MIT-licensed, pure-TypeScript, byte-compatible
 * replacement for the `@nucypher/umbral-pre` 0.10 npm package (same API, camelCase; capsules, kfrags,
 * cfrags, keys and signatures interoperate in both directions).
 *
 * Group arithmetic runs on libsecp256k1 (compiled to WebAssembly, embedded; constant-time multiplications)
 * wherever WebAssembly runs and on @noble/curves everywhere else; {@link setBackend} picks one explicitly.
 *
 * @example
 * ```ts
 * import { SecretKey, Signer, encrypt, generateKFrags, reencrypt, decryptReencrypted } from '@medvault/crypto/umbral'
 *
 * const alice = SecretKey.random()
 * const signer = new Signer(SecretKey.random())
 * const bob = SecretKey.random()
 *
 * const [capsule, ciphertext] = encrypt(alice.publicKey(), new TextEncoder().encode('peace at dawn'))
 * const kfrags = generateKFrags(alice, bob.publicKey(), signer, 2, 3, true, true)
 * const cfrags = [reencrypt(capsule, kfrags[0]!), reencrypt(capsule, kfrags[1]!)]
 * const plaintext = decryptReencrypted(bob, alice.publicKey(), capsule, cfrags, ciphertext)
 * ```
 */
import { loadWasmBackend } from './backend.ts'

export {
  availableBackends,
  type BackendName,
  backendName,
  loadWasmBackend,
  setBackend,
} from './backend.ts'
export { Capsule } from './capsule.ts'
export { CapsuleFrag, VerifiedCapsuleFrag } from './capsule-frag.ts'
export {
  BaseError,
  CapsuleFragVerificationError,
  type CapsuleFragVerificationErrorType,
  type CapsuleFragVerificationFailure,
  DecryptionError,
  DuplicateCapsuleFragsError,
  type DuplicateCapsuleFragsErrorType,
  InvalidCapsuleError,
  type InvalidCapsuleErrorType,
  KeyFragVerificationError,
  type KeyFragVerificationErrorType,
  type KeyFragVerificationFailure,
  MismatchedCapsuleFragsError,
  type MismatchedCapsuleFragsErrorType,
  NotEnoughCapsuleFragsError,
  type NotEnoughCapsuleFragsErrorType,
  UmbralBackendUnavailableError,
  type UmbralBackendUnavailableErrorType,
  UmbralDeserializationError,
  type UmbralDeserializationErrorType,
  type UmbralObjectType,
} from './errors.ts'
export { ReencryptionEvidence } from './evidence.ts'
export { KeyFrag, VerifiedKeyFrag } from './key-frag.ts'
export { PublicKey, RecoverableSignature, SecretKey, SecretKeyFactory, Signature, Signer } from './keys.ts'
export { CurvePoint, Parameters } from './params.ts'
export { decryptOriginal, decryptReencrypted, encrypt, generateKFrags, reencrypt } from './pre.ts'

// Where WebAssembly runs, make libsecp256k1 the default before any caller runs; elsewhere this settles
// to `false` at once and the noble backend is used.
await loadWasmBackend()
