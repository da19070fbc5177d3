/**
 * Errors thrown by `@medvault/crypto/umbral`.
 *
 * Every class extends the package's {@link BaseError} and has a literal `name`. Messages never carry a
 * key, a scalar, a plaintext or any value derived from a secret; where the reference implementation
 * (`@nucypher/umbral-pre`) has a message for the same failure, ours says the same thing so that code
 * matching on it keeps working.
 *
 * Any failure to authenticate a ciphertext is the package's one opaque {@link DecryptionError}.
 *
 * @module
 */
import { BaseError, DecryptionError } from '../base-error.ts'

export { BaseError, DecryptionError }

/** What was being parsed when a byte string was refused. */
export type UmbralObjectType =
  | 'SecretKey'
  | 'PublicKey'
  | 'Signature'
  | 'RecoverableSignature'
  | 'Capsule'
  | 'KeyFrag'
  | 'CapsuleFrag'
  | 'ReencryptionEvidence'
  | 'SecretKeyFactory'

export type UmbralDeserializationErrorType = UmbralDeserializationError & {
  name: 'UmbralDeserializationError'
}

/**
 * A byte string is not a valid encoding of the object asked for: wrong length, a MessagePack shape
 * other than the one `umbral-pre` writes, a point not on the curve, a scalar out of range.
 */
export class UmbralDeserializationError extends BaseError {
  override name = 'UmbralDeserializationError' as const
  readonly objectType: UmbralObjectType

  constructor(objectType: UmbralObjectType, reason: string, parameters: { cause?: unknown } = {}) {
    super(`Cannot deserialize ${objectType}: ${reason}.`, parameters)
    this.objectType = objectType
  }
}

export type InvalidCapsuleErrorType = InvalidCapsuleError & { name: 'InvalidCapsuleError' }

/** A capsule whose points and scalar do not satisfy `s·G = V + h·E` (it was tampered with or corrupted). */
export class InvalidCapsuleError extends BaseError {
  override name = 'InvalidCapsuleError' as const

  constructor() {
    super('Capsule self-verification failed.', {
      metaMessages: ['The capsule was corrupted or tampered with; it cannot be opened or re-encrypted.'],
    })
  }
}

/** Why {@link KeyFragVerificationError} was thrown; the same variants as the Rust `KeyFragVerificationError`. */
export type KeyFragVerificationFailure =
  | 'IncorrectCommitment'
  | 'DelegatingKeyNotProvided'
  | 'ReceivingKeyNotProvided'
  | 'IncorrectSignature'

const KFRAG_MESSAGES: Record<KeyFragVerificationFailure, string> = {
  IncorrectCommitment: 'Invalid kfrag commitment',
  DelegatingKeyNotProvided:
    'A signature of a delegating key was included in this kfrag but the key is not provided',
  ReceivingKeyNotProvided:
    'A signature of a receiving key was included in this kfrag, but the key is not provided',
  IncorrectSignature: 'Failed to verify the kfrag signature',
}

export type KeyFragVerificationErrorType = KeyFragVerificationError & { name: 'KeyFragVerificationError' }

/**
 * A key fragment failed verification: it was not made by the holder of the verifying key for these
 * delegating/receiving keys, or it was altered.
 */
export class KeyFragVerificationError extends BaseError {
  override name = 'KeyFragVerificationError' as const
  readonly reason: KeyFragVerificationFailure

  constructor(reason: KeyFragVerificationFailure) {
    super(`${KFRAG_MESSAGES[reason]}.`, { details: reason })
    this.reason = reason
  }
}

/** Why {@link CapsuleFragVerificationError} was thrown; the Rust `CapsuleFragVerificationError` variants. */
export type CapsuleFragVerificationFailure = 'IncorrectKeyFragSignature' | 'IncorrectReencryption'

export type CapsuleFragVerificationErrorType = CapsuleFragVerificationError & {
  name: 'CapsuleFragVerificationError'
}

/**
 * A capsule fragment failed verification: its kfrag signature does not match the given keys, or its
 * proof of correct re-encryption does not hold for this capsule.
 */
export class CapsuleFragVerificationError extends BaseError {
  override name = 'CapsuleFragVerificationError' as const
  readonly reason: CapsuleFragVerificationFailure

  constructor(reason: CapsuleFragVerificationFailure) {
    super(
      reason === 'IncorrectKeyFragSignature'
        ? 'Invalid CapsuleFrag signature.'
        : 'Failed to verify reencryption proof.',
      { details: reason },
    )
    this.reason = reason
  }
}

export type NotEnoughCapsuleFragsErrorType = NotEnoughCapsuleFragsError & {
  name: 'NotEnoughCapsuleFragsError'
}

/**
 * The capsule frags given to `decryptReencrypted` do not open the capsule. With verified frags this
 * means fewer than `threshold` of them (the scheme cannot tell "too few" from "wrong receiving or
 * delegating key": both make the final consistency check fail).
 */
export class NotEnoughCapsuleFragsError extends BaseError {
  override name = 'NotEnoughCapsuleFragsError' as const
  readonly received: number

  constructor(received: number) {
    super(
      received === 0
        ? 'Empty CapsuleFrag sequence.'
        : 'The capsule frags do not open the capsule: fewer than `threshold` were given, or the receiving or delegating key is wrong.',
      { metaMessages: [`Capsule frags given: ${received}.`] },
    )
    this.received = received
  }
}

export type MismatchedCapsuleFragsErrorType = MismatchedCapsuleFragsError & {
  name: 'MismatchedCapsuleFragsError'
}

/** The capsule frags come from key fragments of different `generateKFrags` calls. */
export class MismatchedCapsuleFragsError extends BaseError {
  override name = 'MismatchedCapsuleFragsError' as const

  constructor() {
    super('CapsuleFrags are not pairwise consistent.', {
      metaMessages: ['All frags must come from key fragments of one `generateKFrags` call.'],
    })
  }
}

export type DuplicateCapsuleFragsErrorType = DuplicateCapsuleFragsError & {
  name: 'DuplicateCapsuleFragsError'
}

/** The same capsule frag (the same key fragment) was given twice. */
export class DuplicateCapsuleFragsError extends BaseError {
  override name = 'DuplicateCapsuleFragsError' as const

  constructor() {
    super('Some of the CapsuleFrags are repeated.', {
      metaMessages: ['Pass each proxy’s capsule frag once; a repeated frag does not count twice.'],
    })
  }
}

export type UmbralBackendUnavailableErrorType = UmbralBackendUnavailableError & {
  name: 'UmbralBackendUnavailableError'
}

/** `setBackend('wasm')` was asked for where the libsecp256k1 WebAssembly module could not be loaded. */
export class UmbralBackendUnavailableError extends BaseError {
  override name = 'UmbralBackendUnavailableError' as const

  constructor(backend: string, parameters: { cause?: unknown } = {}) {
    super(`The "${backend}" group backend is not available in this environment.`, {
      ...parameters,
      metaMessages: [
        'WebAssembly is missing or forbidden here (e.g. a content security policy without wasm-unsafe-eval); use the portable "noble" backend.',
      ],
    })
  }
}
