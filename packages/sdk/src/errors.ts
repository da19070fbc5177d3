/**
 * Errors thrown by `@medvault/sdk`.
 *
 * Each is a viem-style `BaseError` (short message, meta lines, `walk()` over causes) with a literal `name`
 * to switch on, and says what was wrong and what to do. Messages carry public values only (record and grant
 * ids, addresses, proxy endpoints without credentials, CIDs of ciphertext, times): never a key, a signature,
 * a capsule, plaintext or metadata. A lower-level error (a contract revert, a storage or crypto error) is kept
 * as `cause`.
 *
 * @module
 */
import { BaseError } from '@medvault/crypto/errors'
import type { CID } from 'multiformats/cid'
import type { Address, Hash, Hex } from 'viem'

export { BaseError, type BaseErrorParameters } from '@medvault/crypto/errors'
export {
  type BreakGlassRefusal,
  BreakGlassRefusedError,
  type BreakGlassRefusedErrorType,
  EmergencyAccessClosedError,
  type EmergencyAccessClosedErrorType,
} from './break-glass-errors.ts'
export {
  DatasetIntegrityError,
  type DatasetIntegrityErrorType,
  DatasetNotRegisteredError,
  type DatasetNotRegisteredErrorType,
  EmptyDatasetError,
  type EmptyDatasetErrorType,
  NotDatasetRecipientError,
  type NotDatasetRecipientErrorType,
  NotStewardError,
  type NotStewardErrorType,
} from './datasets-errors.ts'

export type InvalidOptionErrorType = InvalidOptionError & { name: 'InvalidOptionError' }

/** An argument or option has the wrong type or value; nothing was stored or sent. */
export class InvalidOptionError extends BaseError {
  override name = 'InvalidOptionError' as const
  /** The option's name, e.g. `expiresIn` or `threshold`. */
  readonly option: string

  constructor({ option, expected, cause }: { option: string; expected: string; cause?: unknown }) {
    super(`Invalid option \`${option}\`: expected ${expected}.`, cause === undefined ? {} : { cause })
    this.option = option
  }
}

export type RecordNotFoundErrorType = RecordNotFoundError & { name: 'RecordNotFoundError' }

/** No record with this id is registered on this chain. */
export class RecordNotFoundError extends BaseError {
  override name = 'RecordNotFoundError' as const
  readonly recordId: Hex

  constructor({ recordId, cause }: { recordId: Hex; cause?: unknown }) {
    super(`Record ${recordId} is not registered on this chain.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: [
        'Check the id, and that the vault talks to the chain and contracts the record was put on.',
      ],
    })
    this.recordId = recordId
  }
}

export type NotRecordOwnerErrorType = NotRecordOwnerError & { name: 'NotRecordOwnerError' }

/** Only a record's owner may add versions, rotate its key or grant access to it. */
export class NotRecordOwnerError extends BaseError {
  override name = 'NotRecordOwnerError' as const
  readonly recordId: Hex
  readonly owner: Address
  readonly account: Address

  constructor({ recordId, owner, account }: { recordId: Hex; owner: Address; account: Address }) {
    super(`Record ${recordId} is owned by ${owner}, not by ${account}.`, {
      metaMessages: ['Only the owner can update, rotate or grant it; a grantee can only read it.'],
    })
    this.recordId = recordId
    this.owner = owner
    this.account = account
  }
}

export type NoGrantErrorType = NoGrantError & { name: 'NoGrantError' }

/** The reader holds no grant that covers this record (for this purpose). */
export class NoGrantError extends BaseError {
  override name = 'NoGrantError' as const
  readonly recordId: Hex
  readonly account: Address
  readonly purpose: string | undefined

  constructor({ recordId, account, purpose }: { recordId: Hex; account: Address; purpose?: string }) {
    super(
      `${account} holds no grant covering record ${recordId}${purpose === undefined ? '' : ` for ${purpose}`}.`,
      { metaMessages: ["Ask the record's owner for a grant (vault.grants.create({ to: yourAddress, … }))."] },
    )
    this.recordId = recordId
    this.account = account
    this.purpose = purpose
  }
}

export type GrantNotFoundErrorType = GrantNotFoundError & { name: 'GrantNotFoundError' }

/** No grant with this id is registered on this chain. */
export class GrantNotFoundError extends BaseError {
  override name = 'GrantNotFoundError' as const
  readonly grantId: Hex

  constructor({ grantId, cause }: { grantId: Hex; cause?: unknown }) {
    super(`Grant ${grantId} is not registered on this chain.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: [
        'Check the id, and that the vault talks to the chain and contracts the grant was made on.',
      ],
    })
    this.grantId = grantId
  }
}

export type GrantRevokedErrorType = GrantRevokedError & { name: 'GrantRevokedError' }

/** The grant that covered the record was revoked: proxies refuse it from the block after the revocation. */
export class GrantRevokedError extends BaseError {
  override name = 'GrantRevokedError' as const
  readonly grantId: Hex
  readonly recordId: Hex | undefined

  constructor({ grantId, recordId, cause }: { grantId: Hex; recordId?: Hex; cause?: unknown }) {
    super(`Grant ${grantId} was revoked${recordId === undefined ? '' : ` (record ${recordId})`}.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: ["Access needs a new grant from the record's owner."],
    })
    this.grantId = grantId
    this.recordId = recordId
  }
}

export type GrantExpiredErrorType = GrantExpiredError & { name: 'GrantExpiredError' }

/** The grant's validity ended (chain time reached its expiry). */
export class GrantExpiredError extends BaseError {
  override name = 'GrantExpiredError' as const
  readonly grantId: Hex
  /** Unix seconds. */
  readonly expiredAt: number

  constructor({ grantId, expiredAt, cause }: { grantId: Hex; expiredAt: number; cause?: unknown }) {
    super(`Grant ${grantId} expired at ${new Date(expiredAt * 1000).toISOString()}.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: ["Access needs a new grant from the record's owner."],
    })
    this.grantId = grantId
    this.expiredAt = expiredAt
  }
}

export type GrantNotYetValidErrorType = GrantNotYetValidError & { name: 'GrantNotYetValidError' }

/** The grant holds from a later time (`notBefore`). */
export class GrantNotYetValidError extends BaseError {
  override name = 'GrantNotYetValidError' as const
  readonly grantId: Hex
  /** Unix seconds. */
  readonly notBefore: number

  constructor({ grantId, notBefore, cause }: { grantId: Hex; notBefore: number; cause?: unknown }) {
    super(`Grant ${grantId} holds only from ${new Date(notBefore * 1000).toISOString()}.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: ['Try again from that time.'],
    })
    this.grantId = grantId
    this.notBefore = notBefore
  }
}

/** Why one proxy did not contribute a verified re-encryption. */
export interface ProxyFailure {
  /** The proxy operator's address. */
  proxy: Address
  /** Its endpoint as registered on chain (without credentials); undefined when none is registered. */
  endpoint: string | undefined
  /**
   * What went wrong: the proxy's own error code (`grant_revoked`, `stale_request`, …), or `unreachable`,
   * `timeout`, `bad_response` (not a valid answer), `bad_cfrag` (its re-encryption fails its proof: a faulty
   * or lying proxy), `bad_receipt`, `retired`, `no_endpoint`.
   */
  code: string
  /** HTTP status, when the proxy answered. */
  status?: number
}

export type ProxyErrorType = ProxyError & { name: 'ProxyError' }

/** One proxy's failure, as a cause of {@link NotEnoughProxiesError}. */
export class ProxyError extends BaseError {
  override name = 'ProxyError' as const
  readonly proxy: Address
  readonly endpoint: string | undefined
  readonly code: string
  readonly status: number | undefined

  constructor(failure: ProxyFailure, options: { cause?: unknown } = {}) {
    super(
      `Proxy ${failure.proxy}${failure.endpoint === undefined ? '' : ` (${failure.endpoint})`} failed: ${failure.code}${
        failure.status === undefined ? '' : ` (HTTP ${failure.status})`
      }.`,
      options.cause === undefined ? {} : { cause: options.cause },
    )
    this.proxy = failure.proxy
    this.endpoint = failure.endpoint
    this.code = failure.code
    this.status = failure.status
  }
}

export type NotEnoughProxiesErrorType = NotEnoughProxiesError & { name: 'NotEnoughProxiesError' }

/**
 * Fewer than the grant's threshold of proxies returned a verified re-encryption. `failures` says why each
 * other proxy failed; `cause` is an `AggregateError` of their {@link ProxyError}s.
 */
export class NotEnoughProxiesError extends BaseError {
  override name = 'NotEnoughProxiesError' as const
  readonly needed: number
  readonly verified: number
  readonly failures: readonly ProxyFailure[]

  constructor({
    needed,
    verified,
    errors,
  }: { needed: number; verified: number; errors: readonly ProxyError[] }) {
    const failures = errors.map((e) => ({
      proxy: e.proxy,
      endpoint: e.endpoint,
      code: e.code,
      ...(e.status === undefined ? {} : { status: e.status }),
    }))
    super(`Only ${verified} of the ${needed} proxies needed returned a verified re-encryption.`, {
      cause: new AggregateError(errors, 'proxy failures'),
      metaMessages: [
        ...failures.map(
          (f) =>
            `- ${f.proxy}${f.endpoint === undefined ? '' : ` ${f.endpoint}`}: ${f.code}${f.status === undefined ? '' : ` (HTTP ${f.status})`}`,
        ),
        'Retry later; if proxies stay down, ask the owner to grant again through another proxy set.',
      ],
    })
    this.needed = needed
    this.verified = verified
    this.failures = failures
  }
}

export type IntegrityErrorType = IntegrityError & { name: 'IntegrityError' }

/** What failed an integrity check. */
export type IntegrityTarget = 'envelope' | 'content' | 'metadata' | 'data key' | 'kfrag bundle'

/**
 * Stored data is not what the chain registered or does not authenticate: a block that does not match its
 * CID, an envelope that does not parse, content whose AEAD fails, is truncated or has the wrong length, a
 * data key that does not open, a kfrag bundle that does not match its grant. Nothing of it was returned as
 * valid (a stream stops with this error before its end).
 */
export class IntegrityError extends BaseError {
  override name = 'IntegrityError' as const
  readonly target: IntegrityTarget
  readonly recordId: Hex | undefined

  constructor({
    target,
    recordId,
    reason,
    cause,
  }: {
    target: IntegrityTarget
    recordId?: Hex
    reason: string
    cause?: unknown
  }) {
    super(
      `Integrity check failed for the ${target}${recordId === undefined ? '' : ` of record ${recordId}`}: ${reason}.`,
      {
        ...(cause === undefined ? {} : { cause }),
        metaMessages: [
          'The data was altered or damaged in storage or in transit. Discard what was read; fetching from another',
          'peer or gateway, or asking the owner to put the record again, may help.',
        ],
      },
    )
    this.target = target
    this.recordId = recordId
  }
}

export type KeyNotPublishedErrorType = KeyNotPublishedError & { name: 'KeyNotPublishedError' }

/** The account has not published its medvault public keys, so nothing can be granted to it yet. */
export class KeyNotPublishedError extends BaseError {
  override name = 'KeyNotPublishedError' as const
  readonly account: Address

  constructor({ account, cause }: { account: Address; cause?: unknown }) {
    super(`${account} has not published its medvault keys.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: ['They publish them by opening a vault once (any write, or vault.publishKeys()).'],
    })
    this.account = account
  }
}

export type KeyMismatchErrorType = KeyMismatchError & { name: 'KeyMismatchError' }

/**
 * The keys this vault derived are not the ones its account published (or that a grant was made for): the
 * account's keys were derived another way (its private key versus a wallet signature) or for another
 * deployment.
 */
export class KeyMismatchError extends BaseError {
  override name = 'KeyMismatchError' as const
  readonly account: Address

  constructor({ account, what }: { account: Address; what: string }) {
    super(`The keys derived for ${account} do not match ${what}.`, {
      metaMessages: [
        'Keys from a raw private key and keys from a wallet signature differ: open the vault the same way',
        'as when the keys were published (or publish again with vault.publishKeys({ replace: true }), which',
        'makes earlier grants to this account unreadable).',
      ],
    })
    this.account = account
  }
}

export type RelayErrorType = RelayError & { name: 'RelayError' }

/**
 * The relayer given to `grants.create({ relay })` failed: it did not submit the signed grant, or its transaction
 * reverted, or its receipt was lost, or it reported the signature unusable (expired, salt cancelled) or the grant
 * id already taken and the vault's own node does not confirm it. The grant may or may not be registered.
 */
/** What the vault's own node showed of a relayer's refusal it could not confirm (see {@link RelayError}). */
export type RelayUnconfirmed = { reported: string; checkError?: unknown; otherTerms?: true }

export class RelayError extends BaseError {
  override name = 'RelayError' as const
  readonly grantId: Hex
  /** The grant's kfrag bundle, kept pinned: the relayer may still submit the signed grant until its deadline. */
  readonly bundleCid: CID | undefined
  /**
   * Set when the relayer's wallet client reported that the signature can never register the grant, or that the
   * grant id is already taken (the error's name, which is also `cause`), and the vault's own node did not confirm
   * the signed grant registered nor the signature unusable: it showed the deadline not yet passed or the salt not
   * cancelled, or no grant under the id (`checkError` undefined), or the check failed (`checkError`).
   * `otherTerms` when the id holds a grant whose terms are not those signed (someone allowed to create this
   * grantor's grants registered other terms under the same salt). `reported` is `'success'` when the relay
   * reported the grant registered and the vault's node shows other terms under its id.
   */
  readonly unconfirmed: RelayUnconfirmed | undefined

  constructor({
    grantId,
    bundleCid,
    cause,
    unconfirmed,
  }: {
    grantId: Hex
    bundleCid?: CID | undefined
    cause: unknown
    unconfirmed?: RelayUnconfirmed | undefined
  }) {
    super(
      unconfirmed === undefined
        ? `The relayer failed; grant ${grantId} may not have been registered.`
        : `The relayer reported ${unconfirmed.reported} for grant ${grantId}, but the vault's chain does not confirm it; the grant may still be registered.`,
      {
        cause,
        metaMessages: [
          ...(unconfirmed === undefined
            ? []
            : [
                unconfirmed.otherTerms === true
                  ? "The vault's node shows a grant under this id with other terms than those signed."
                  : unconfirmed.checkError !== undefined
                    ? "The check on the vault's node failed (see checkError)."
                    : unconfirmed.reported === 'GrantAlreadyExistsError'
                      ? "The vault's node shows no grant under this id: the relayer's node may be lying, or be ahead of the vault's."
                      : "The vault's node shows the deadline not passed or the salt not cancelled: the relayer's node may be lying, or be ahead of the vault's.",
              ]),
          'The signed grant is valid until its deadline and can be submitted again (its salt makes it single-use).',
          ...(bundleCid === undefined
            ? []
            : [
                'Its kfrag bundle stays pinned (bundleCid) for that: unpin it once the deadline has passed unused.',
              ]),
        ],
      },
    )
    this.grantId = grantId
    this.bundleCid = bundleCid
    this.unconfirmed = unconfirmed
  }
}

export type GrantOutcomeUnknownErrorType = GrantOutcomeUnknownError & { name: 'GrantOutcomeUnknownError' }

/**
 * A grant whose transaction may have been sent (its answer or receipt did not come, or the caller's signal
 * aborted the wait after the send), or whose signed terms went to a relayer that failed: the grant may exist
 * or still come to exist, so its kfrag bundle was kept pinned (a grant whose bundle is gone opens nothing).
 */
export class GrantOutcomeUnknownError extends BaseError {
  override name = 'GrantOutcomeUnknownError' as const
  readonly grantId: Hex
  /** The kfrag bundle the grant names: still pinned. */
  readonly bundleCid: CID
  /** The transaction's hash, when known. */
  readonly hash: Hash | undefined

  constructor({
    grantId,
    bundleCid,
    hash,
    cause,
  }: { grantId: Hex; bundleCid: CID; hash: Hash | undefined; cause: unknown }) {
    super(
      `Grant ${grantId} may have been created${hash === undefined ? '' : ` (transaction ${hash})`}, but no answer said whether it was.`,
      {
        cause,
        metaMessages: [
          'Its kfrag bundle stays pinned (bundleCid). Check later with vault.grants.list({ given: true }); if the',
          'grant never appears, create it again and unpin bundleCid.',
        ],
      },
    )
    this.grantId = grantId
    this.bundleCid = bundleCid
    this.hash = hash
  }
}

export type RegistrationUnknownErrorType = RegistrationUnknownError & { name: 'RegistrationUnknownError' }

/** A record version whose registration may or may not have been mined, and what was stored for it. */
export interface UnconfirmedRecordVersion {
  /** The record's id. */
  id: Hex
  /** The version's envelope CID: what the chain registers. */
  cid: CID
  /** The CID of the encrypted content the envelope links to. */
  contentCid: CID
}

/**
 * A put, update, rotate or split Bundle put failed after its registration may have been sent: the send's answer
 * or the receipt did not come (a time-out, a dropped connection, an abort while waiting). The record may be
 * registered, now or once the transaction is mined, so nothing was unpinned: its envelope and content stay
 * stored and the chain never points at data that was deleted.
 *
 * Check later with `vault.records.info(id)`: registered, it shows this version's `cid`; `RecordNotFoundError`
 * (a put) or an earlier `cid` (an update or rotate) means the transaction did not land (put or update again).
 * With `hash`, waiting for that transaction's receipt tells the same.
 */
export class RegistrationUnknownError extends BaseError {
  override name = 'RegistrationUnknownError' as const
  /** The transaction's hash, when the node answered the send with it. */
  readonly hash: Hash | undefined
  /** The (first) record whose registration is in doubt. */
  readonly recordId: Hex
  /** Every record version the transaction registers (several for a split Bundle), with what was stored. */
  readonly records: readonly UnconfirmedRecordVersion[]

  constructor({
    records,
    hash,
    cause,
  }: {
    records: readonly UnconfirmedRecordVersion[]
    hash: Hash | undefined
    cause: unknown
  }) {
    const first = records[0]?.id ?? '0x'
    const subject =
      records.length === 1
        ? `Record ${first} may be registered`
        : `${records.length} records (the first ${first}) may be registered`
    super(
      `${subject}: its registration${hash === undefined ? '' : ` (transaction ${hash})`} may have been sent, but no answer said whether it was mined.`,
      {
        cause,
        metaMessages: [
          'Nothing was unpinned: its envelope and content stay stored.',
          `Check later with vault.records.info(id)${hash === undefined ? '' : ' or wait for the transaction'}: once it is registered, info`,
          "shows this version's cid. If it never is, put or update again (and unpin `records[].cid` and `contentCid`).",
        ],
      },
    )
    this.hash = hash
    this.recordId = first
    this.records = records
  }
}
