/**
 * Errors thrown by `@medvault/chain`.
 *
 * Modelled on viem's `BaseError`: a short message for people, optional details and meta lines, a literal
 * `name` per subclass so callers can switch on it, and `walk()` over the `cause` chain.
 *
 * No private key, signature, plaintext or patient data ever reaches a message, a detail or a meta line.
 * RPC URLs are stripped of credentials before they are shown.
 *
 * @module
 */

export type BaseErrorParameters = {
  cause?: unknown
  details?: string
  metaMessages?: string[]
}

export class BaseError extends Error {
  override name: string = 'MedvaultChainError'
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

// ---------------------------------------------------------------------------------------------------------
// Devnet (anvil)
// ---------------------------------------------------------------------------------------------------------

export type AnvilNotFoundErrorType = AnvilNotFoundError & { name: 'AnvilNotFoundError' }

/** The anvil binary for this platform could not be found in the installed `@foundry-rs/anvil` packages. */
export class AnvilNotFoundError extends BaseError {
  override name = 'AnvilNotFoundError' as const

  constructor(parameters: { platform: string; arch: string; cause?: unknown }) {
    super(`No anvil binary for ${parameters.platform}-${parameters.arch}.`, {
      ...(parameters.cause === undefined ? {} : { cause: parameters.cause }),
      metaMessages: [
        'Install `@foundry-rs/anvil` with its optional per-platform package (do not omit optional dependencies),',
        'or pass `binary` (or set MEDVAULT_ANVIL_BINARY) to the path of an anvil executable.',
      ],
    })
  }
}

export type AnvilStartErrorType = AnvilStartError & { name: 'AnvilStartError' }

/** anvil exited, or never answered JSON-RPC, while starting. */
export class AnvilStartError extends BaseError {
  override name = 'AnvilStartError' as const

  constructor(reason: string, parameters: { cause?: unknown; details?: string } = {}) {
    super(`anvil did not start: ${reason}`, parameters)
  }
}

export type AbortErrorType = AbortError & { name: 'AbortError' }

/** The operation was cancelled through its `signal`. */
export class AbortError extends BaseError {
  override name = 'AbortError' as const

  constructor(parameters: { cause?: unknown } = {}) {
    super('The operation was aborted.', parameters)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Event follower
// ---------------------------------------------------------------------------------------------------------

export type CheckpointCorruptErrorType = CheckpointCorruptError & { name: 'CheckpointCorruptError' }

/** A checkpoint file exists but does not hold a checkpoint; it is left untouched for inspection. */
export class CheckpointCorruptError extends BaseError {
  override name = 'CheckpointCorruptError' as const

  constructor(file: string, parameters: { cause?: unknown } = {}) {
    super(`The checkpoint file "${file}" is not a valid checkpoint.`, {
      ...parameters,
      metaMessages: ['Restore it from a backup, or delete it to follow again from `fromBlock`.'],
    })
  }
}
