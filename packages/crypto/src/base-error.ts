/**
 * The package's `BaseError` and the opaque `DecryptionError`, in a module of their own so that both
 * `./errors.ts` and `./umbral/errors.ts` can build on them and `./errors.ts` can re-export the Umbral
 * errors without an import cycle. Import them from `@medvault/crypto/errors`.
 *
 * @module
 */

export type BaseErrorParameters = {
  cause?: unknown
  details?: string
  metaMessages?: string[]
}

export class BaseError extends Error {
  override name: string = 'MedvaultCryptoError'
  readonly shortMessage: string
  readonly details: string | undefined
  readonly metaMessages: string[] | undefined

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const { cause, details, metaMessages } = parameters
    const message = [
      shortMessage,
      ...(metaMessages !== undefined && metaMessages.length > 0 ? ['', ...metaMessages] : []),
      ...(details !== undefined ? ['', `Details: ${details}`] : []),
    ].join('\n')
    super(message, cause === undefined ? undefined : { cause })
    this.shortMessage = shortMessage
    this.details = details
    this.metaMessages = metaMessages
  }

  /** Walks the `cause` chain and returns the deepest error, or the first one `fn` accepts. */
  walk(fn?: (err: unknown) => boolean): unknown {
    return walk(this, fn)
  }
}

function walk(err: unknown, fn?: (err: unknown) => boolean): unknown {
  if (fn?.(err) === true) return err
  if (err !== null && typeof err === 'object' && 'cause' in err && err.cause !== undefined) {
    return walk(err.cause, fn)
  }
  return fn === undefined ? err : null
}

export type DecryptionErrorType = DecryptionError & { name: 'DecryptionError' }

/**
 * The one error for every authentication failure: a wrong key, a flipped bit, a truncated, reordered or
 * extended stream, a forged tag. Deliberately says nothing about which check failed.
 */
export class DecryptionError extends BaseError {
  override name = 'DecryptionError' as const

  constructor(parameters: { cause?: unknown } = {}) {
    super('Decryption failed: the ciphertext is not authentic under this key.', parameters)
  }
}
