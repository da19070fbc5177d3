/**
 * Errors of the medvault-node daemon: the Pinning Service API's refusals, the trustless gateway's, the
 * configuration, the keystore and the node's own files.
 *
 * Rule for every class: a message names settings, files, CIDs and request ids, never a token, a
 * passphrase, a key or content bytes.
 *
 * @module
 */
import { BaseError } from '@medvault/crypto/errors'

/**
 * A refusal of the Pinning Service API, answered as the spec's `Failure`:
 * `{ error: { reason, details } }` with `status`.
 */
export class PinningApiError extends BaseError {
  override name: string = 'PinningApiError'
  /** The spec's machine-readable `Failure.error.reason` (`BAD_REQUEST`, `UNAUTHORIZED`, …). */
  readonly reason: string
  readonly status: number

  constructor(status: number, reason: string, shortMessage: string, parameters: { cause?: unknown } = {}) {
    super(shortMessage, parameters)
    this.status = status
    this.reason = reason
  }
}

export type PinningBadRequestErrorType = PinningBadRequestError & { name: 'PinningBadRequestError' }

/** The request does not follow the spec (a body, path or query parameter); `details` says which part. */
export class PinningBadRequestError extends PinningApiError {
  override name = 'PinningBadRequestError' as const

  constructor(message: string, parameters: { cause?: unknown } = {}) {
    super(400, 'BAD_REQUEST', message, parameters)
  }
}

export type PinningUnauthorizedErrorType = PinningUnauthorizedError & { name: 'PinningUnauthorizedError' }

/** The access token is missing, unknown or revoked. Never says which, and never repeats the token. */
export class PinningUnauthorizedError extends PinningApiError {
  override name = 'PinningUnauthorizedError' as const

  constructor() {
    super(
      401,
      'UNAUTHORIZED',
      'Access token is missing, invalid or revoked: send `Authorization: Bearer <token>`.',
    )
  }
}

export type PinNotFoundErrorType = PinNotFoundError & { name: 'PinNotFoundError' }

/** No pin request with this id for this token. */
export class PinNotFoundError extends PinningApiError {
  override name = 'PinNotFoundError' as const

  constructor({ requestid }: { requestid: string }) {
    super(404, 'NOT_FOUND', `No pin request with id ${JSON.stringify(requestid.slice(0, 64))}.`)
  }
}

export type PinningRouteNotFoundErrorType = PinningRouteNotFoundError & { name: 'PinningRouteNotFoundError' }

/** No such route on this node. */
export class PinningRouteNotFoundError extends PinningApiError {
  override name = 'PinningRouteNotFoundError' as const

  constructor() {
    super(404, 'NOT_FOUND', 'No such route on this node.')
  }
}

export type PinningBodyTooLargeErrorType = PinningBodyTooLargeError & { name: 'PinningBodyTooLargeError' }

/** The body is larger than the node accepts. */
export class PinningBodyTooLargeError extends PinningApiError {
  override name = 'PinningBodyTooLargeError' as const

  constructor({ limit }: { limit: number }) {
    super(413, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${limit} bytes.`)
  }
}

export type PinningUnsupportedMediaTypeErrorType = PinningUnsupportedMediaTypeError & {
  name: 'PinningUnsupportedMediaTypeError'
}

/** The body is not `application/json`. */
export class PinningUnsupportedMediaTypeError extends PinningApiError {
  override name = 'PinningUnsupportedMediaTypeError' as const

  constructor() {
    super(415, 'UNSUPPORTED_MEDIA_TYPE', 'The request body must be application/json.')
  }
}

export type TooManyPendingPinsErrorType = TooManyPendingPinsError & { name: 'TooManyPendingPinsError' }

/** This token already has as many queued or pinning requests as the node allows. */
export class TooManyPendingPinsError extends PinningApiError {
  override name = 'TooManyPendingPinsError' as const

  constructor({ limit }: { limit: number }) {
    super(
      429,
      'TOO_MANY_PENDING_PINS',
      `This token already has ${limit} pin requests queued or pinning; wait for them to finish, or remove some.`,
    )
  }
}

export type PinningUnavailableErrorType = PinningUnavailableError & { name: 'PinningUnavailableError' }

/** The node is stopping or its store is not open. */
export class PinningUnavailableError extends PinningApiError {
  override name = 'PinningUnavailableError' as const

  constructor() {
    super(503, 'UNAVAILABLE', 'The node is not serving pins right now (starting or stopping); try again.')
  }
}

export type PinningInternalErrorType = PinningInternalError & { name: 'PinningInternalError' }

/** Anything unexpected: details are in the node's log only. */
export class PinningInternalError extends PinningApiError {
  override name = 'PinningInternalError' as const

  constructor(parameters: { cause?: unknown } = {}) {
    super(
      500,
      'INTERNAL_SERVER_ERROR',
      'Unexpected error; the node operator can find it in the log.',
      parameters,
    )
  }
}

/** A refusal of the trustless gateway, answered as `text/plain` with `status`. */
export class GatewayError extends BaseError {
  override name: string = 'GatewayError'
  readonly status: number

  constructor(status: number, shortMessage: string, parameters: { cause?: unknown } = {}) {
    super(shortMessage, parameters)
    this.status = status
  }
}

export type GatewayBadRequestErrorType = GatewayBadRequestError & { name: 'GatewayBadRequestError' }

/** A malformed gateway request: an invalid CID, an unsupported parameter. */
export class GatewayBadRequestError extends GatewayError {
  override name = 'GatewayBadRequestError' as const

  constructor(message: string, parameters: { cause?: unknown } = {}) {
    super(400, message, parameters)
  }
}

export type GatewayNotAcceptableErrorType = GatewayNotAcceptableError & { name: 'GatewayNotAcceptableError' }

/** Neither a raw block nor a CAR was asked for: this gateway serves only verifiable responses. */
export class GatewayNotAcceptableError extends GatewayError {
  override name = 'GatewayNotAcceptableError' as const

  constructor() {
    super(
      406,
      'This is a trustless gateway: ask for application/vnd.ipld.raw or application/vnd.ipld.car (Accept header, or ?format=raw|car).',
    )
  }
}

export type GatewayNotFoundErrorType = GatewayNotFoundError & { name: 'GatewayNotFoundError' }

/** This node does not hold the block (or the whole DAG, for a CAR). It never fetches for a gateway request. */
export class GatewayNotFoundError extends GatewayError {
  override name = 'GatewayNotFoundError' as const

  constructor({ cid, whole }: { cid: string; whole: boolean }) {
    super(404, `This node does not hold ${whole ? 'every block of the DAG of' : 'the block'} ${cid}.`)
  }
}

export type GatewayRateLimitedErrorType = GatewayRateLimitedError & { name: 'GatewayRateLimitedError' }

/**
 * What a gateway client ran out of: its request budget (`requests`), its whole-DAG CAR exports at once
 * (`client-car-exports`), or the node's (`node-car-exports`, shared by every client).
 */
export type GatewayLimit = 'requests' | 'client-car-exports' | 'node-car-exports'

/**
 * A client IP address used up its gateway request budget, or a whole-DAG CAR export would be over the per-client
 * or node-wide number at once (`limit`): 429, with `Retry-After` in whole seconds.
 */
export class GatewayRateLimitedError extends GatewayError {
  override name = 'GatewayRateLimitedError' as const
  readonly retryAfterSeconds: number
  readonly limit: GatewayLimit

  constructor({
    retryAfterSeconds,
    limit = 'requests',
  }: { retryAfterSeconds: number; limit?: GatewayLimit }) {
    super(
      429,
      limit === 'requests'
        ? `Too many requests from this IP address; try again in ${retryAfterSeconds} s.`
        : limit === 'client-car-exports'
          ? `Too many whole-DAG CAR exports at once from this IP address; let one finish, or try again in ${retryAfterSeconds} s.`
          : `This gateway is serving as many whole-DAG CAR exports as it allows; try again in ${retryAfterSeconds} s.`,
    )
    this.retryAfterSeconds = retryAfterSeconds
    this.limit = limit
  }
}

export type InvalidNodeConfigErrorType = InvalidNodeConfigError & { name: 'InvalidNodeConfigError' }

/** The configuration (file, environment and flags) has problems: one line per problem in `problems`. */
export class InvalidNodeConfigError extends BaseError {
  override name = 'InvalidNodeConfigError' as const
  readonly problems: readonly string[]

  constructor({ problems }: { problems: string[] }) {
    super(`The node configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}.`, {
      metaMessages: problems,
    })
    this.problems = problems
  }
}

export type KeystoreErrorType = KeystoreError & { name: 'KeystoreError' }

/** The operator keystore cannot be opened: a wrong passphrase, or a file that is not a keystore. */
export class KeystoreError extends BaseError {
  override name = 'KeystoreError' as const
  readonly reason: 'wrong_passphrase' | 'malformed' | 'missing' | 'exists'

  constructor({ reason, file }: { reason: KeystoreError['reason']; file: string }) {
    const what = {
      wrong_passphrase: `The passphrase does not open the keystore ${file}.`,
      malformed: `${file} is not a keystore medvault-node reads (Web3 Secret Storage v3 with scrypt, or a medvault-keystore/1 identity file).`,
      missing: `No keystore at ${file}: run \`medvault-node init --repo DIR\` first.`,
      exists: `A keystore already exists at ${file}; refusing to overwrite it.`,
    }[reason]
    super(what)
    this.reason = reason
  }
}

export type NodeStateCorruptErrorType = NodeStateCorruptError & { name: 'NodeStateCorruptError' }

/** A state file of the node (pins, tokens) cannot be read. Names the file and line, never their content. */
export class NodeStateCorruptError extends BaseError {
  override name = 'NodeStateCorruptError' as const

  constructor({ file, line, cause }: { file: string; line?: number; cause?: unknown }) {
    super(`The node state file ${file} is corrupt${line === undefined ? '' : ` at line ${line}`}.`, { cause })
  }
}

export type TokenNameErrorType = TokenNameError & { name: 'TokenNameError' }

/** A token name that is malformed, already taken, or unknown. */
export class TokenNameError extends BaseError {
  override name = 'TokenNameError' as const

  constructor({ name, reason }: { name: string; reason: 'malformed' | 'exists' | 'unknown' }) {
    const shown = JSON.stringify(name.slice(0, 64))
    super(
      {
        malformed: `Token name ${shown} is not valid: use 1 to 64 letters, digits, '.', '_' or '-'.`,
        exists: `A live token named ${shown} exists already: revoke it first to replace it.`,
        unknown: `No live token named ${shown}.`,
      }[reason],
    )
  }
}

export type RecordOwnerUnknownErrorType = RecordOwnerUnknownError & { name: 'RecordOwnerUnknownError' }

/**
 * The chain follower read a new version of a record whose owner the chain node says is nobody: the node is
 * behind the block that registered it (one backend of a load-balanced endpoint). The block range is read
 * again after a pause; the version is never charged to the zero address.
 */
export class RecordOwnerUnknownError extends BaseError {
  override name = 'RecordOwnerUnknownError' as const
  readonly recordId: string

  constructor({ recordId }: { recordId: string }) {
    super(
      `The chain node says record ${recordId} has no owner, though a version of it is on chain: the node is behind the block that registered it. The block range is read again.`,
    )
    this.recordId = recordId
  }
}
