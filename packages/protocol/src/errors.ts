/**
 * Errors thrown by `@medvault/protocol`.
 *
 * Subclasses of `@medvault/crypto`'s viem-style `BaseError` (short message, details, meta lines, `walk()`
 * over causes), each with a literal `name` to switch on. Every decoder and parser throws only these.
 *
 * Rule for every subclass: a message names the format, the field and what was expected — never the value
 * that was found. Field values may be capsules, sealed keys, metadata or signatures; only public values that
 * identify a party or a deployment (an address, a chain id, a timestamp) are ever shown.
 *
 * @module
 */
import { BaseError } from '@medvault/crypto/errors'

export { BaseError, type BaseErrorParameters } from '@medvault/crypto/errors'

/** The formats of this package, as named in messages and in `error.format`. */
export type FormatName =
  | 'record envelope'
  | 'kfrag bundle'
  | 'access request'
  | 'access request body'
  | 'access response body'
  | 'access receipt'
  | 'receipts query'
  | 'receipts response body'

export type UnsupportedFormatVersionErrorType = UnsupportedFormatVersionError & {
  name: 'UnsupportedFormatVersionError'
}

/** A `v` this build does not know: decoders refuse every version they were not written for. */
export class UnsupportedFormatVersionError extends BaseError {
  override name = 'UnsupportedFormatVersionError' as const
  readonly format: FormatName
  readonly version: unknown

  constructor({ format, version, supported }: { format: FormatName; version: unknown; supported: number[] }) {
    const shown =
      typeof version === 'number' && Number.isSafeInteger(version) ? String(version) : 'unreadable'
    super(`Unsupported ${format} version ${shown}.`, {
      metaMessages: [`Supported: ${supported.join(', ')}. A newer @medvault/protocol may read it.`],
    })
    this.format = format
    this.version = typeof version === 'number' ? version : undefined
  }
}

export type MalformedEncodingErrorType = MalformedEncodingError & { name: 'MalformedEncodingError' }

/**
 * The bytes or text are not the encoding at all: not DAG-CBOR (or not in its one canonical form), not JSON,
 * not an object where one is needed. The decoder's own message is kept as `cause` only when it cannot
 * carry input bytes.
 */
export class MalformedEncodingError extends BaseError {
  override name = 'MalformedEncodingError' as const
  readonly format: FormatName

  constructor({ format, reason }: { format: FormatName; reason: string }) {
    super(`Malformed ${format}: ${reason}.`)
    this.format = format
  }
}

export type MissingFieldErrorType = MissingFieldError & { name: 'MissingFieldError' }

/** A required field is absent. */
export class MissingFieldError extends BaseError {
  override name = 'MissingFieldError' as const
  readonly format: FormatName
  readonly field: string

  constructor({ format, field }: { format: FormatName; field: string }) {
    super(`Invalid ${format}: the field \`${field}\` is missing.`)
    this.format = format
    this.field = field
  }
}

export type UnexpectedFieldErrorType = UnexpectedFieldError & { name: 'UnexpectedFieldError' }

/** A field this version of the format does not define. Unknown fields are refused, never ignored. */
export class UnexpectedFieldError extends BaseError {
  override name = 'UnexpectedFieldError' as const
  readonly format: FormatName
  readonly field: string

  constructor({ format, field }: { format: FormatName; field: string }) {
    super(`Invalid ${format}: unexpected field \`${printableField(field)}\`.`, {
      metaMessages: ['A format version defines its fields exactly; another field means another version.'],
    })
    this.format = format
    this.field = printableField(field)
  }
}

export type InvalidFieldErrorType = InvalidFieldError & { name: 'InvalidFieldError' }

/** A field of the wrong type, length or range. Names the field and what was expected, never its value. */
export class InvalidFieldError extends BaseError {
  override name = 'InvalidFieldError' as const
  readonly format: FormatName
  readonly field: string

  constructor({ format, field, expected }: { format: FormatName; field: string; expected: string }) {
    super(`Invalid ${format}: \`${field}\` must be ${expected}.`)
    this.format = format
    this.field = field
  }
}

export type TooLargeErrorType = TooLargeError & { name: 'TooLargeError' }

/** An input longer than the format allows, refused before it is parsed. */
export class TooLargeError extends BaseError {
  override name = 'TooLargeError' as const
  readonly format: FormatName
  readonly limit: number
  readonly size: number

  constructor({ format, limit, size }: { format: FormatName; limit: number; size: number }) {
    super(`The ${format} is too large: ${size} bytes, at most ${limit} allowed.`)
    this.format = format
    this.limit = limit
    this.size = size
  }
}

export type ScopeNotInEnvelopeErrorType = ScopeNotInEnvelopeError & { name: 'ScopeNotInEnvelopeError' }

/** The record has no capsule at this scope level (an untagged record has no `tag` capsule). */
export class ScopeNotInEnvelopeError extends BaseError {
  override name = 'ScopeNotInEnvelopeError' as const
  readonly level: string

  constructor({ level }: { level: string }) {
    super(`The record envelope has no capsule for the \`${level}\` scope level.`, {
      metaMessages: [
        'A tag grant covers only tagged records; the record may have been registered without a tag.',
      ],
    })
    this.level = level
  }
}

export type ScopeNotInBundleErrorType = ScopeNotInBundleError & { name: 'ScopeNotInBundleError' }

/** The kfrag bundle holds no entry that covers the record asked for. */
export class ScopeNotInBundleError extends BaseError {
  override name = 'ScopeNotInBundleError' as const
  readonly recordId: string

  constructor({ recordId }: { recordId: string }) {
    super(`The kfrag bundle has no entry for record ${recordId}.`)
    this.recordId = recordId
  }
}

export type ProxyNotInBundleErrorType = ProxyNotInBundleError & { name: 'ProxyNotInBundleError' }

/** The kfrag bundle's proxy list does not include this proxy. */
export class ProxyNotInBundleError extends BaseError {
  override name = 'ProxyNotInBundleError' as const
  readonly proxy: string

  constructor({ proxy }: { proxy: string }) {
    super(`Proxy ${proxy} is not in the kfrag bundle's proxy list.`)
    this.proxy = proxy
  }
}

export type ProxyMismatchErrorType = ProxyMismatchError & { name: 'ProxyMismatchError' }

/** A request or receipt names another proxy than the one checking it (addresses are public). */
export class ProxyMismatchError extends BaseError {
  override name = 'ProxyMismatchError' as const
  readonly expected: string
  readonly received: string

  constructor({ what, expected, received }: { what: FormatName; expected: string; received: string }) {
    super(`The ${what} is addressed to proxy ${received}, not to ${expected}.`, {
      metaMessages: ['Sign one request per proxy, each naming that proxy.'],
    })
    this.expected = expected
    this.received = received
  }
}

export type SignatureRecoveryErrorType = SignatureRecoveryError & { name: 'SignatureRecoveryError' }

/** No signer can be recovered from the signature (not a valid secp256k1 signature of anything). */
export class SignatureRecoveryError extends BaseError {
  override name = 'SignatureRecoveryError' as const

  constructor({ what, cause }: { what: FormatName; cause?: unknown }) {
    super(`The ${what} signature is not a valid secp256k1 signature.`, cause === undefined ? {} : { cause })
  }
}

export type UnexpectedSignerErrorType = UnexpectedSignerError & { name: 'UnexpectedSignerError' }

/**
 * The signature is valid but was made by another account than the expected one — or for another chain id,
 * ConsentRegistry or field value: those cannot be told apart, since any change moves the recovered address.
 */
export class UnexpectedSignerError extends BaseError {
  override name = 'UnexpectedSignerError' as const
  readonly expected: string
  readonly recovered: string

  constructor({ what, expected, recovered }: { what: FormatName; expected: string; recovered: string }) {
    super(`The ${what} was not signed by ${expected}.`, {
      metaMessages: [
        `It recovers to ${recovered}: another signer, or a signature made for another chain id, ConsentRegistry or field value.`,
      ],
    })
    this.expected = expected
    this.recovered = recovered
  }
}

export type StaleRequestErrorType = StaleRequestError & { name: 'StaleRequestError' }

/** The request was issued longer ago than the freshness window allows. */
export class StaleRequestError extends BaseError {
  override name = 'StaleRequestError' as const
  readonly issuedAt: number
  readonly now: number

  constructor({ issuedAt, now, windowSeconds }: { issuedAt: number; now: number; windowSeconds: number }) {
    super(
      `The access request is stale: issued at ${issuedAt}, ${now - issuedAt} s ago (at most ${windowSeconds} s).`,
      {
        metaMessages: ['Sign a new request with a current `issuedAt` and a fresh nonce.'],
      },
    )
    this.issuedAt = issuedAt
    this.now = now
  }
}

export type FutureRequestErrorType = FutureRequestError & { name: 'FutureRequestError' }

/** The request is dated further in the future than the allowed clock skew. */
export class FutureRequestError extends BaseError {
  override name = 'FutureRequestError' as const
  readonly issuedAt: number
  readonly now: number

  constructor({ issuedAt, now, maxSkewSeconds }: { issuedAt: number; now: number; maxSkewSeconds: number }) {
    super(
      `The access request is future-dated: issued at ${issuedAt}, ${issuedAt - now} s ahead (at most ${maxSkewSeconds} s).`,
      { metaMessages: ["Check the requester's clock."] },
    )
    this.issuedAt = issuedAt
    this.now = now
  }
}

/** Field names come from decoded input: show at most a short, printable prefix. */
function printableField(field: string): string {
  const cut = field.length > 32 ? `${field.slice(0, 32)}…` : field
  return cut.replace(/[^\x20-\x7e…]/g, '?')
}
