/**
 * Errors thrown by `@medvault/contracts`.
 *
 * Modelled on viem's `BaseError`: a short message for people, optional details and meta lines, a literal
 * `name` per subclass so callers can switch on it, and `walk()` over the `cause` chain. Reverts of the
 * contracts themselves are decoded by `@medvault/chain`; this package only validates encodings.
 *
 * @module
 */

export type BaseErrorParameters = {
  cause?: unknown
  details?: string
  metaMessages?: string[]
}

export class BaseError extends Error {
  override name: string = 'MedvaultContractsError'
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

export type UnknownPurposeErrorType = UnknownPurposeError & { name: 'UnknownPurposeError' }

/** A purpose-of-use code or name that the contracts do not assign. */
export class UnknownPurposeError extends BaseError {
  override name = 'UnknownPurposeError' as const

  constructor(purpose: string | number) {
    super(`Unknown purpose of use: ${JSON.stringify(String(purpose).slice(0, 32))}.`, {
      metaMessages: [
        'Use one of the HL7 v3 PurposeOfUse codes in `purposeOfUse` (e.g. TREAT, ETREAT, HRESCH).',
      ],
    })
  }
}

export type InvalidTagErrorType = InvalidTagError & { name: 'InvalidTagError' }

/** A record tag that is not 8 bytes of hex. */
export class InvalidTagError extends BaseError {
  override name = 'InvalidTagError' as const

  constructor(length: number) {
    super(`A record tag is 8 bytes (0x + 16 hex digits); got a value of ${length} characters.`)
  }
}
