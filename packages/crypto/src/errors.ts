/**
 * Errors thrown by `@medvault/crypto`.
 *
 * Modelled on viem's `BaseError`: a short message for people, optional details and meta lines, a literal
 * `name` per subclass so callers can switch on it, and `walk()` over the `cause` chain.
 *
 * Rule for every subclass: no key, plaintext, nonce or secret-derived value ever reaches a message,
 * a detail or a meta line. Authentication failures of any kind are reported as one opaque
 * {@link DecryptionError} so an attacker learns nothing about which check failed.
 *
 * @module
 */

import { BaseError } from './base-error.ts'

export {
  BaseError,
  type BaseErrorParameters,
  DecryptionError,
  type DecryptionErrorType,
} from './base-error.ts'
// The Umbral errors, so that `@medvault/crypto/errors` is the one place to import any error from.
export {
  CapsuleFragVerificationError,
  type CapsuleFragVerificationErrorType,
  type CapsuleFragVerificationFailure,
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
} from './umbral/errors.ts'

export type InvalidBytesErrorType = InvalidBytesError & { name: 'InvalidBytesError' }

/** An argument that must be a `Uint8Array` was something else. */
export class InvalidBytesError extends BaseError {
  override name = 'InvalidBytesError' as const

  constructor({ argument }: { argument: string }) {
    super(`Expected \`${argument}\` to be a Uint8Array.`, {
      metaMessages: ['Pass raw bytes (a Uint8Array or a Node.js Buffer), not a string or an array.'],
    })
  }
}

export type InvalidArgumentErrorType = InvalidArgumentError & { name: 'InvalidArgumentError' }

/** Any other argument of the wrong type or shape. Names the argument and what was expected, never its value. */
export class InvalidArgumentError extends BaseError {
  override name = 'InvalidArgumentError' as const

  constructor({ argument, expected }: { argument: string; expected: string }) {
    super(`Expected \`${argument}\` to be ${expected}.`)
  }
}

export type InvalidKeyLengthErrorType = InvalidKeyLengthError & { name: 'InvalidKeyLengthError' }

/** A key (or another fixed-size value) has the wrong number of bytes. Only the lengths are reported. */
export class InvalidKeyLengthError extends BaseError {
  override name = 'InvalidKeyLengthError' as const
  readonly expected: number
  readonly received: number

  constructor({ argument, expected, received }: { argument: string; expected: number; received: number }) {
    super(`Expected \`${argument}\` to be ${expected} bytes long, got ${received} bytes.`)
    this.expected = expected
    this.received = received
  }
}

export type InvalidSegmentSizeErrorType = InvalidSegmentSizeError & { name: 'InvalidSegmentSizeError' }

/** A streaming segment size outside the supported range. */
export class InvalidSegmentSizeError extends BaseError {
  override name = 'InvalidSegmentSizeError' as const

  constructor({ segmentSize, min, max }: { segmentSize: number; min: number; max: number }) {
    super(`Invalid segment size ${segmentSize}: expected an integer from ${min} to ${max} bytes.`)
  }
}

export type InvalidConcurrencyErrorType = InvalidConcurrencyError & { name: 'InvalidConcurrencyError' }

/** A `concurrency` option that is not an integer from 1 to the maximum. */
export class InvalidConcurrencyError extends BaseError {
  override name = 'InvalidConcurrencyError' as const

  constructor({ concurrency, max }: { concurrency: number; max: number }) {
    super(`Invalid concurrency ${concurrency}: expected an integer from 1 to ${max}.`)
  }
}

export type InvalidHeaderErrorType = InvalidHeaderError & { name: 'InvalidHeaderError' }

/**
 * The bytes do not start with a medvault stream header (wrong magic, too short, or a field out of range).
 * A header that parses but was tampered with is caught later, as a {@link DecryptionError}.
 */
export class InvalidHeaderError extends BaseError {
  override name = 'InvalidHeaderError' as const

  constructor({ reason }: { reason: string }) {
    super('Invalid stream header: this is not a medvault encrypted stream.', { details: reason })
  }
}

export type UnsupportedVersionErrorType = UnsupportedVersionError & { name: 'UnsupportedVersionError' }

/** A format version (or algorithm id) this build does not know. */
export class UnsupportedVersionError extends BaseError {
  override name = 'UnsupportedVersionError' as const
  readonly version: number

  constructor({ what, version, supported }: { what: string; version: number; supported: number[] }) {
    super(`Unsupported ${what} ${version}.`, {
      metaMessages: [`Supported: ${supported.join(', ')}. A newer @medvault/crypto may read it.`],
    })
    this.version = version
  }
}

export type StreamTooLongErrorType = StreamTooLongError & { name: 'StreamTooLongError' }

/** The stream would need more segments than the 32-bit segment counter can number. */
export class StreamTooLongError extends BaseError {
  override name = 'StreamTooLongError' as const

  constructor({ maxSegments }: { maxSegments: number }) {
    super(`The stream is too long: at most ${maxSegments} segments are allowed.`, {
      metaMessages: ['Use a larger segment size.'],
    })
  }
}

export type InvalidSecretKeyErrorType = InvalidSecretKeyError & { name: 'InvalidSecretKeyError' }

/** 32 bytes that are not a valid secp256k1 secret key (zero, or not below the group order). */
export class InvalidSecretKeyError extends BaseError {
  override name = 'InvalidSecretKeyError' as const

  constructor({ argument }: { argument: string }) {
    super(`\`${argument}\` is not a valid secp256k1 secret key.`, {
      metaMessages: ['A secret key is a big-endian integer from 1 to n-1 (n: the secp256k1 group order).'],
    })
  }
}

export type InvalidPublicKeyErrorType = InvalidPublicKeyError & { name: 'InvalidPublicKeyError' }

/** Bytes that are not a compressed secp256k1 point on the curve. */
export class InvalidPublicKeyError extends BaseError {
  override name = 'InvalidPublicKeyError' as const

  constructor({ argument }: { argument: string }) {
    super(`\`${argument}\` is not a valid compressed secp256k1 public key.`, {
      metaMessages: [
        'Expected 33 bytes: 0x02 or 0x03, then the 32-byte x coordinate of a point on the curve.',
      ],
    })
  }
}

export type InvalidSignatureErrorType = InvalidSignatureError & { name: 'InvalidSignatureError' }

/** A wallet signature that does not have the shape of a 65-byte secp256k1 ECDSA signature `r ‖ s ‖ v`. */
export class InvalidSignatureError extends BaseError {
  override name = 'InvalidSignatureError' as const

  constructor({ reason }: { reason: string }) {
    super('Invalid wallet signature: expected 65 bytes r ‖ s ‖ v.', { details: reason })
  }
}

export type SignerMismatchErrorType = SignerMismatchError & { name: 'SignerMismatchError' }

/**
 * A key-derivation signature that was not made by the expected account for this chain id and KeyRegistry:
 * signed by another account, or for another deployment (the two cannot be told apart from the signature).
 * Names the deployment, which is public, never the signature.
 */
export class SignerMismatchError extends BaseError {
  override name = 'SignerMismatchError' as const
  readonly chainId: number
  readonly keyRegistry: `0x${string}`

  constructor({ chainId, keyRegistry }: { chainId: number; keyRegistry: `0x${string}` }) {
    super('The key-derivation signature was not made by the expected account for this deployment.', {
      metaMessages: [
        `Expected a signature of keyDerivationTypedData({ chainId: ${chainId}, keyRegistry: ${keyRegistry} }) by \`account\`.`,
        'Ask the same account to sign the typed data for this chain id and KeyRegistry.',
      ],
    })
    this.chainId = chainId
    this.keyRegistry = keyRegistry
  }
}

export type BackendUnavailableErrorType = BackendUnavailableError & { name: 'BackendUnavailableError' }

/** The requested cipher backend cannot run here (for example WebCrypto without `crypto.subtle`). */
export class BackendUnavailableError extends BaseError {
  override name = 'BackendUnavailableError' as const

  constructor({ backend }: { backend: string }) {
    super(`The \`${backend}\` cipher backend is not available in this runtime.`, {
      metaMessages: ["Use `backend: 'auto'` (the default) to fall back to the portable implementation."],
    })
  }
}
