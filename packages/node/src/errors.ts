/**
 * Errors of `@medvault/node`.
 *
 * Every refusal of the re-encryption proxy is a {@link ProxyRefusalError} subclass with a literal `name`, a
 * stable machine-readable `code` and the HTTP `status` it is answered with (`{ error: { code, message } }`).
 * The code table is {@link proxyErrorStatus}; clients (the SDK) switch on the code.
 *
 * Rule for every subclass: a message names ids, addresses and times (public on chain anyway), never a
 * capsule, kfrag, cfrag, key, signature or any request bytes.
 *
 * @module
 */
import { BaseError } from '@medvault/crypto/errors'
import type { Address, Hex } from 'viem'

export { BaseError, type BaseErrorParameters } from '@medvault/crypto/errors'

/** Every error code the proxy answers with, and its HTTP status. */
export const proxyErrorStatus = {
  /** The body is not an access request v1 (bad JSON, a missing, extra or malformed field). */
  malformed_request: 400,
  /** The body is larger than the proxy's limit. */
  body_too_large: 413,
  /** The body is not `application/json`. */
  unsupported_media_type: 415,
  /** No route for this method and path. */
  not_found: 404,
  /** The signature cannot be recovered under this proxy's EIP-712 domain. */
  bad_signature: 401,
  /** The request names another proxy: it was signed for that proxy only. */
  wrong_proxy: 421,
  /** `issuedAt` is older than the freshness window. */
  stale_request: 401,
  /** `issuedAt` is further ahead than the allowed clock skew. */
  future_request: 401,
  /** This exact request was answered (or is being answered) already. */
  replayed: 409,
  /** No grant with this id is known on chain. */
  unknown_grant: 404,
  /** The grant was revoked. */
  grant_revoked: 403,
  /** The grant has expired (chain time). */
  grant_expired: 403,
  /** The grant is not valid yet (chain time). */
  grant_not_yet_valid: 403,
  /** The request was signed by someone other than the grant's grantee. */
  not_grantee: 403,
  /** The record is not covered by the grant's scope. */
  record_out_of_scope: 403,
  /** The request's purpose of use is not the grant's. */
  purpose_mismatch: 403,
  /** The chain refuses the access for another reason (e.g. a break-glass grant with no open window). */
  access_denied: 403,
  /** This proxy is not a member of the grant's proxy set. */
  not_in_proxy_set: 403,
  /** No record with this id is registered on chain. */
  unknown_record: 404,
  /** The request's capsule hash is not that of the record's current, chain-registered envelope. */
  capsule_mismatch: 409,
  /** The chain-registered envelope cannot be read as a record envelope (or lacks the grant's level). */
  invalid_envelope: 422,
  /** The grant's kfrag bundle does not match the chain, or this proxy's kfrag does not open or verify. */
  invalid_bundle: 422,
  /** The chain or the content store did not answer; try again or ask another proxy. */
  unavailable: 503,
  /** The chain has a grant, record or version the proxy's index has not read (it indexes only confirmed blocks). */
  index_behind: 503,
  /** The proxy is stopping. */
  shutting_down: 503,
  /** A receipts query signed by someone other than the grantor it names. */
  not_grantor: 403,
  /** Too many requests from this address or IP; `Retry-After` says when to ask again. */
  rate_limited: 429,
  /** Anything else; details are in the proxy's own log, never in the answer. */
  internal: 500,
} as const

/** A code the proxy answers with. */
export type ProxyErrorCode = keyof typeof proxyErrorStatus

/** Base of every refusal: carries the answer's `code` and HTTP `status`. */
export class ProxyRefusalError extends BaseError {
  override name: string = 'ProxyRefusalError'
  readonly code: ProxyErrorCode
  readonly status: number

  constructor(
    code: ProxyErrorCode,
    shortMessage: string,
    parameters: { cause?: unknown; metaMessages?: string[] } = {},
  ) {
    super(shortMessage, parameters)
    this.code = code
    this.status = proxyErrorStatus[code]
  }
}

export type MalformedAccessRequestErrorType = MalformedAccessRequestError & {
  name: 'MalformedAccessRequestError'
}

/** The body is not a well-formed access request v1. `reason` comes from `@medvault/protocol`'s strict parser. */
export class MalformedAccessRequestError extends ProxyRefusalError {
  override name = 'MalformedAccessRequestError' as const

  constructor({ reason, cause }: { reason: string; cause?: unknown }) {
    super('malformed_request', `Malformed access request: ${reason}`, { cause })
  }
}

export type MalformedReceiptsQueryErrorType = MalformedReceiptsQueryError & {
  name: 'MalformedReceiptsQueryError'
}

/** The URL parameters are not a well-formed receipts query. `reason` comes from `@medvault/protocol`. */
export class MalformedReceiptsQueryError extends ProxyRefusalError {
  override name = 'MalformedReceiptsQueryError' as const

  constructor({ reason, cause }: { reason: string; cause?: unknown }) {
    super('malformed_request', `Malformed receipts query: ${reason}`, { cause })
  }
}

export type NotGrantorErrorType = NotGrantorError & { name: 'NotGrantorError' }

/** A receipts query whose signer is not the grantor it names: receipts go to their grantor only. */
export class NotGrantorError extends ProxyRefusalError {
  override name = 'NotGrantorError' as const

  constructor({ grantor, cause }: { grantor: Address; cause?: unknown }) {
    super('not_grantor', `The receipts query was not signed by the grantor it names (${grantor}).`, {
      cause,
      metaMessages: ['Only a grantor reads the receipts of its grants.'],
    })
  }
}

export type RateLimitedErrorType = RateLimitedError & { name: 'RateLimitedError' }

/** The requester (or its IP address) used up its request budget; answered 429 with `Retry-After`. */
export class RateLimitedError extends ProxyRefusalError {
  override name = 'RateLimitedError' as const
  readonly retryAfterSeconds: number

  constructor({ by, retryAfterSeconds }: { by: 'ip' | 'requester'; retryAfterSeconds: number }) {
    super(
      'rate_limited',
      `Too many requests from this ${by === 'ip' ? 'IP address' : 'requester'}; try again in ${retryAfterSeconds} s.`,
    )
    this.retryAfterSeconds = retryAfterSeconds
  }
}

export type RequestBodyTooLargeErrorType = RequestBodyTooLargeError & { name: 'RequestBodyTooLargeError' }

/** The body exceeds the proxy's `bodyLimit`. */
export class RequestBodyTooLargeError extends ProxyRefusalError {
  override name = 'RequestBodyTooLargeError' as const

  constructor({ limit }: { limit: number }) {
    super('body_too_large', `The request body exceeds ${limit} bytes.`)
  }
}

export type UnsupportedMediaTypeErrorType = UnsupportedMediaTypeError & { name: 'UnsupportedMediaTypeError' }

/** The body is not JSON. */
export class UnsupportedMediaTypeError extends ProxyRefusalError {
  override name = 'UnsupportedMediaTypeError' as const

  constructor() {
    super('unsupported_media_type', 'The request body must be application/json.')
  }
}

export type RouteNotFoundErrorType = RouteNotFoundError & { name: 'RouteNotFoundError' }

/** No such route. */
export class RouteNotFoundError extends ProxyRefusalError {
  override name = 'RouteNotFoundError' as const

  constructor() {
    super('not_found', 'No such route: use POST /v1/reencrypt, GET /v1/receipts or GET /v1/health.')
  }
}

export type BadSignatureErrorType = BadSignatureError & { name: 'BadSignatureError' }

/** The signature does not recover to an address under this proxy's domain. */
export class BadSignatureError extends ProxyRefusalError {
  override name = 'BadSignatureError' as const

  constructor({ cause }: { cause?: unknown } = {}) {
    super('bad_signature', 'The access request signature cannot be recovered.', { cause })
  }
}

export type WrongProxyErrorType = WrongProxyError & { name: 'WrongProxyError' }

/** The request names another proxy (the proxy address is part of what the grantee signed). */
export class WrongProxyError extends ProxyRefusalError {
  override name = 'WrongProxyError' as const
  readonly expected: Address
  readonly received: Address

  constructor({ expected, received, cause }: { expected: Address; received: Address; cause?: unknown }) {
    super(
      'wrong_proxy',
      `The access request is addressed to proxy ${received}, not to this proxy (${expected}).`,
      {
        cause,
        metaMessages: ['Sign one request per proxy, each naming that proxy.'],
      },
    )
    this.expected = expected
    this.received = received
  }
}

export type StaleAccessRequestErrorType = StaleAccessRequestError & { name: 'StaleAccessRequestError' }

/** `issuedAt` is older than the freshness window. */
export class StaleAccessRequestError extends ProxyRefusalError {
  override name = 'StaleAccessRequestError' as const

  constructor({ issuedAt, now, windowSeconds }: { issuedAt: number; now: number; windowSeconds: number }) {
    super(
      'stale_request',
      `The access request is stale: issued at ${issuedAt}, ${now - issuedAt} s ago (at most ${windowSeconds} s).`,
      { metaMessages: ['Sign a new request with a current issuedAt and a fresh nonce.'] },
    )
  }
}

export type FutureAccessRequestErrorType = FutureAccessRequestError & { name: 'FutureAccessRequestError' }

/** `issuedAt` is further ahead of the proxy's clock than the allowed skew. */
export class FutureAccessRequestError extends ProxyRefusalError {
  override name = 'FutureAccessRequestError' as const

  constructor({ issuedAt, now, maxSkewSeconds }: { issuedAt: number; now: number; maxSkewSeconds: number }) {
    super(
      'future_request',
      `The access request is dated ${issuedAt - now} s ahead of this proxy's clock (at most ${maxSkewSeconds} s).`,
      { metaMessages: ["Check the signer's clock."] },
    )
  }
}

export type ReplayedAccessRequestErrorType = ReplayedAccessRequestError & {
  name: 'ReplayedAccessRequestError'
}

/** The same request (same EIP-712 digest) came before within the freshness window. */
export class ReplayedAccessRequestError extends ProxyRefusalError {
  override name = 'ReplayedAccessRequestError' as const

  constructor({ requestHash }: { requestHash: Hex }) {
    super('replayed', `The access request ${requestHash} was received before.`, {
      metaMessages: ['Sign a new request with a fresh nonce.'],
    })
  }
}

export type UnknownGrantErrorType = UnknownGrantError & { name: 'UnknownGrantError' }

/** No grant with this id is registered on chain (as far as the proxy's index and the chain say). */
export class UnknownGrantError extends ProxyRefusalError {
  override name = 'UnknownGrantError' as const
  readonly grantId: Hex

  constructor({ grantId, cause }: { grantId: Hex; cause?: unknown }) {
    super('unknown_grant', `No grant ${grantId} is registered on chain.`, { cause })
    this.grantId = grantId
  }
}

export type GrantRevokedRefusalErrorType = GrantRevokedRefusalError & { name: 'GrantRevokedRefusalError' }

/** The grant was revoked. */
export class GrantRevokedRefusalError extends ProxyRefusalError {
  override name = 'GrantRevokedRefusalError' as const
  readonly grantId: Hex

  constructor({ grantId, cause }: { grantId: Hex; cause?: unknown }) {
    super('grant_revoked', `Grant ${grantId} was revoked.`, { cause })
    this.grantId = grantId
  }
}

export type GrantExpiredRefusalErrorType = GrantExpiredRefusalError & { name: 'GrantExpiredRefusalError' }

/** The grant has expired by chain time. */
export class GrantExpiredRefusalError extends ProxyRefusalError {
  override name = 'GrantExpiredRefusalError' as const
  readonly grantId: Hex

  constructor({ grantId, cause }: { grantId: Hex; cause?: unknown }) {
    super('grant_expired', `Grant ${grantId} has expired.`, { cause })
    this.grantId = grantId
  }
}

export type GrantNotYetValidRefusalErrorType = GrantNotYetValidRefusalError & {
  name: 'GrantNotYetValidRefusalError'
}

/** The grant's `notBefore` is still ahead (chain time). */
export class GrantNotYetValidRefusalError extends ProxyRefusalError {
  override name = 'GrantNotYetValidRefusalError' as const

  constructor({ grantId, cause }: { grantId: Hex; cause?: unknown }) {
    super('grant_not_yet_valid', `Grant ${grantId} is not valid yet.`, { cause })
  }
}

export type NotGranteeErrorType = NotGranteeError & { name: 'NotGranteeError' }

/**
 * The request was signed by someone other than the grantee. A request altered after signing lands here too:
 * its signature recovers to an unrelated address.
 */
export class NotGranteeError extends ProxyRefusalError {
  override name = 'NotGranteeError' as const
  readonly signer: Address

  constructor({ grantId, signer, cause }: { grantId: Hex; signer: Address; cause?: unknown }) {
    super('not_grantee', `The access request's signer ${signer} is not the grantee of grant ${grantId}.`, {
      cause,
      metaMessages: ['A request altered after signing recovers to another signer too.'],
    })
    this.signer = signer
  }
}

export type RecordOutOfScopeRefusalErrorType = RecordOutOfScopeRefusalError & {
  name: 'RecordOutOfScopeRefusalError'
}

/** The grant's scope does not cover the record. */
export class RecordOutOfScopeRefusalError extends ProxyRefusalError {
  override name = 'RecordOutOfScopeRefusalError' as const

  constructor({ grantId, recordId, cause }: { grantId: Hex; recordId: Hex; cause?: unknown }) {
    super('record_out_of_scope', `Grant ${grantId} does not cover record ${recordId}.`, { cause })
  }
}

export type PurposeMismatchRefusalErrorType = PurposeMismatchRefusalError & {
  name: 'PurposeMismatchRefusalError'
}

/** The request's purpose of use is not the grant's. */
export class PurposeMismatchRefusalError extends ProxyRefusalError {
  override name = 'PurposeMismatchRefusalError' as const

  constructor({ grantId, purpose, cause }: { grantId: Hex; purpose: number; cause?: unknown }) {
    super('purpose_mismatch', `Grant ${grantId} was not given for purpose ${purpose}.`, { cause })
  }
}

export type AccessDeniedErrorType = AccessDeniedError & { name: 'AccessDeniedError' }

/** The chain refuses the access for a reason with no code of its own (its `errorName` is in `reason`). */
export class AccessDeniedError extends ProxyRefusalError {
  override name = 'AccessDeniedError' as const

  constructor({ grantId, reason, cause }: { grantId: Hex; reason: string; cause?: unknown }) {
    super('access_denied', `The chain refuses access under grant ${grantId}: ${reason}.`, { cause })
  }
}

export type NotInProxySetErrorType = NotInProxySetError & { name: 'NotInProxySetError' }

/** This proxy is not a member of the grant's proxy set: it holds no kfrag for it. */
export class NotInProxySetError extends ProxyRefusalError {
  override name = 'NotInProxySetError' as const

  constructor({ grantId, proxy }: { grantId: Hex; proxy: Address }) {
    super('not_in_proxy_set', `Proxy ${proxy} is not in the proxy set of grant ${grantId}.`)
  }
}

export type UnknownRecordErrorType = UnknownRecordError & { name: 'UnknownRecordError' }

/** No record with this id is registered on chain. */
export class UnknownRecordError extends ProxyRefusalError {
  override name = 'UnknownRecordError' as const

  constructor({ recordId }: { recordId: Hex }) {
    super('unknown_record', `No record ${recordId} is registered on chain.`)
  }
}

export type CapsuleMismatchErrorType = CapsuleMismatchError & { name: 'CapsuleMismatchError' }

/**
 * The request's `capsuleHash` is not the hash of the capsule this proxy would re-encrypt: the capsule of the
 * grant's scope level in the record's current chain-registered envelope. The proxy never re-encrypts a
 * capsule the requester supplies.
 */
export class CapsuleMismatchError extends ProxyRefusalError {
  override name = 'CapsuleMismatchError' as const

  constructor({ recordId }: { recordId: Hex }) {
    super(
      'capsule_mismatch',
      `The capsule hash does not match the current registered envelope of record ${recordId}.`,
      { metaMessages: ["Read the record's current envelope from the chain and sign a new request."] },
    )
  }
}

export type InvalidEnvelopeErrorType = InvalidEnvelopeError & { name: 'InvalidEnvelopeError' }

/** The chain-registered envelope is not a readable record envelope, or lacks the grant's capsule level. */
export class InvalidEnvelopeError extends ProxyRefusalError {
  override name = 'InvalidEnvelopeError' as const

  constructor({ recordId, cause }: { recordId: Hex; cause?: unknown }) {
    super('invalid_envelope', `The registered envelope of record ${recordId} cannot be used.`, { cause })
  }
}

export type InvalidKfragBundleErrorType = InvalidKfragBundleError & { name: 'InvalidKfragBundleError' }

/**
 * The grant's kfrag bundle does not match the grant on chain (grant id, parties, threshold, proxy set, scope
 * level, published keys), or this proxy's kfrag does not open (ECIES, slot-bound AAD) or does not verify.
 */
export class InvalidKfragBundleError extends ProxyRefusalError {
  override name = 'InvalidKfragBundleError' as const

  constructor({ grantId, reason, cause }: { grantId: Hex; reason: string; cause?: unknown }) {
    super('invalid_bundle', `The kfrag bundle of grant ${grantId} cannot be used: ${reason}.`, { cause })
  }
}

export type UpstreamUnavailableErrorType = UpstreamUnavailableError & { name: 'UpstreamUnavailableError' }

/** The chain or the content store failed or timed out. */
export class UpstreamUnavailableError extends ProxyRefusalError {
  override name = 'UpstreamUnavailableError' as const

  constructor({ what, cause }: { what: 'chain' | 'storage'; cause?: unknown }) {
    super('unavailable', `The ${what} did not answer; try again or ask another proxy.`, { cause })
  }
}

export type IndexBehindErrorType = IndexBehindError & { name: 'IndexBehindError' }

/**
 * The chain holds a grant, a record or a record version the proxy's index has not read yet (the index reads
 * only blocks `confirmations` deep): the proxy cannot decide yet, so it answers nothing and the client asks
 * again or another proxy.
 */
export class IndexBehindError extends ProxyRefusalError {
  override name = 'IndexBehindError' as const

  constructor(what: { recordId: Hex } | { grantId: Hex }) {
    super(
      'index_behind',
      'grantId' in what
        ? `Grant ${what.grantId} is on chain but not indexed yet; try again shortly.`
        : `The current version of record ${what.recordId} is not indexed yet; try again shortly.`,
    )
  }
}

export type ProxyShuttingDownErrorType = ProxyShuttingDownError & { name: 'ProxyShuttingDownError' }

/** The proxy is stopping. */
export class ProxyShuttingDownError extends ProxyRefusalError {
  override name = 'ProxyShuttingDownError' as const

  constructor() {
    super('shutting_down', 'The proxy is stopping; ask another proxy.')
  }
}

export type InternalProxyErrorType = InternalProxyError & { name: 'InternalProxyError' }

/** An unexpected failure; the answer says nothing more. */
export class InternalProxyError extends ProxyRefusalError {
  override name = 'InternalProxyError' as const

  constructor({ cause }: { cause?: unknown } = {}) {
    super('internal', 'The proxy failed to answer.', { cause })
  }
}

// ------------------------------------------------------------------ not answered over HTTP

export type InvalidProxyInitErrorType = InvalidProxyInitError & { name: 'InvalidProxyInitError' }

/** A `createProxy` setting is missing or wrong. Names the setting, never its value. */
export class InvalidProxyInitError extends BaseError {
  override name = 'InvalidProxyInitError' as const

  constructor({ setting, expected }: { setting: string; expected: string }) {
    super(`Invalid proxy setting \`${setting}\`: expected ${expected}.`)
  }
}

export type AnchorLogCorruptErrorType = AnchorLogCorruptError & { name: 'AnchorLogCorruptError' }

/** A line of the anchor file (other than a torn last line) is not a batch or anchor of this proxy's receipts. */
export class AnchorLogCorruptError extends BaseError {
  override name = 'AnchorLogCorruptError' as const

  constructor({ file, line, cause }: { file: string; line: number; cause?: unknown }) {
    super(`Line ${line} of ${file} is not an anchor batch; the file was changed or damaged.`, {
      cause,
      metaMessages: ['Restore it from a backup; the anchors themselves are on chain.'],
    })
  }
}

export type ReceiptLogCorruptErrorType = ReceiptLogCorruptError & { name: 'ReceiptLogCorruptError' }

/** A line of the receipt log (other than a torn last line) is not a signed receipt. */
export class ReceiptLogCorruptError extends BaseError {
  override name = 'ReceiptLogCorruptError' as const

  constructor({ file, line, cause }: { file: string; line: number; cause?: unknown }) {
    super(`The receipt log ${file} is corrupt at line ${line}.`, { cause })
  }
}

export type GrantIndexCorruptErrorType = GrantIndexCorruptError & { name: 'GrantIndexCorruptError' }

/** A line of the grant index log (other than a torn last line) cannot be read. */
export class GrantIndexCorruptError extends BaseError {
  override name = 'GrantIndexCorruptError' as const

  constructor({ file, line, cause }: { file: string; line: number; cause?: unknown }) {
    super(`The grant index log ${file} is corrupt at line ${line}.`, {
      cause,
      metaMessages: ['Delete the index directory to rebuild the index from the deployment block.'],
    })
  }
}

export type WorkerPoolClosedErrorType = WorkerPoolClosedError & { name: 'WorkerPoolClosedError' }

/** A job was sent to a re-encryption worker pool that is closed. */
export class WorkerPoolClosedError extends BaseError {
  override name = 'WorkerPoolClosedError' as const

  constructor() {
    super('The re-encryption worker pool is closed.')
  }
}

export type ReencryptionWorkerErrorType = ReencryptionWorkerError & { name: 'ReencryptionWorkerError' }

/** A re-encryption worker thread exited or failed outside a job's own checks. */
export class ReencryptionWorkerError extends BaseError {
  override name = 'ReencryptionWorkerError' as const

  constructor({ reason }: { reason: string }) {
    super(`A re-encryption worker failed: ${reason}.`)
  }
}
