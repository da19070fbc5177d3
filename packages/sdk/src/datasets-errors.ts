/**
 * Errors of `vault.datasets`. Messages carry public values only (CIDs, block numbers, addresses, file names,
 * counts): never a resource, a key or a consent that was not published.
 *
 * @module
 */
import { BaseError } from '@medvault/crypto/errors'
import type { Address, Hash } from 'viem'

export type EmptyDatasetErrorType = EmptyDatasetError & { name: 'EmptyDatasetError' }

/** No record was under active consent for this purpose at the snapshot block: nothing to build. */
export class EmptyDatasetError extends BaseError {
  override name = 'EmptyDatasetError' as const
  readonly purpose: string
  readonly block: bigint

  constructor({ purpose, block, grants }: { purpose: string; block: bigint; grants: number }) {
    super(`No record is under active ${purpose} consent to this steward at block ${block}.`, {
      metaMessages: [
        `${grants} active ${purpose} grant(s) to this account at that block; none covered a readable FHIR record.`,
        'Patients consent with vault.grants.create({ to: steward, tag, purpose }); a dataset needs at least one record.',
      ],
    })
    this.purpose = purpose
    this.block = block
  }
}

export type DatasetNotRegisteredErrorType = DatasetNotRegisteredError & { name: 'DatasetNotRegisteredError' }

/** No dataset with this CID is registered in the DatasetRegistry: its provenance cannot be checked. */
export class DatasetNotRegisteredError extends BaseError {
  override name = 'DatasetNotRegisteredError' as const
  readonly cid: string

  constructor({ cid, cause }: { cid: string; cause?: unknown }) {
    super(`Dataset ${cid} is not registered on this chain.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: [
        'Only datasets a data steward registered can be fetched: check the CID and the chain, or ask the steward to publish it.',
      ],
    })
    this.cid = cid
  }
}

export type DatasetIntegrityErrorType = DatasetIntegrityError & { name: 'DatasetIntegrityError' }

/**
 * A dataset does not match its registration or its own manifest (a file, a count, a hash, the snapshot
 * block): it was altered, or is not what was registered. Nothing of it should be used.
 */
export class DatasetIntegrityError extends BaseError {
  override name = 'DatasetIntegrityError' as const
  readonly cid: string
  readonly reason: string

  constructor({ cid, reason, cause }: { cid: string; reason: string; cause?: unknown }) {
    super(`Dataset ${cid} failed verification: ${reason}.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: ['Discard what was read of it; fetch it again from another source or ask its steward.'],
    })
    this.cid = cid
    this.reason = reason
  }
}

export type NotDatasetRecipientErrorType = NotDatasetRecipientError & { name: 'NotDatasetRecipientError' }

/** The dataset is encrypted, and not to this account. */
export class NotDatasetRecipientError extends BaseError {
  override name = 'NotDatasetRecipientError' as const
  readonly cid: string
  readonly account: Address

  constructor({ cid, account, cause }: { cid: string; account: Address; cause?: unknown }) {
    super(`Dataset ${cid} is encrypted to other accounts than ${account}.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: ["Fetch it with the research platform's account the steward built it for."],
    })
    this.cid = cid
    this.account = account
  }
}

export type NotStewardErrorType = NotStewardError & { name: 'NotStewardError' }

/** Only approved data stewards may register datasets. */
export class NotStewardError extends BaseError {
  override name = 'NotStewardError' as const
  readonly account: Address

  constructor({ account, cause }: { account: Address; cause?: unknown }) {
    super(`${account} is not an approved data steward of the DatasetRegistry.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: ["The registry's admin approves stewards (setSteward in @medvault/chain)."],
    })
    this.account = account
  }
}

export type DatasetRegistrationUnknownErrorType = DatasetRegistrationUnknownError & {
  name: 'DatasetRegistrationUnknownError'
}

/**
 * A build's registration may have been sent (its answer or receipt did not come, or `signal` aborted the wait
 * after the send): the dataset may be registered, so its directory was kept pinned.
 */
export class DatasetRegistrationUnknownError extends BaseError {
  override name = 'DatasetRegistrationUnknownError' as const
  /** The dataset's directory CID: still pinned. */
  readonly cid: string
  /** The registration transaction's hash, when known. */
  readonly hash: Hash | undefined

  constructor({ cid, hash, cause }: { cid: string; hash: Hash | undefined; cause: unknown }) {
    super(
      `Dataset ${cid} may be registered${hash === undefined ? '' : ` (transaction ${hash})`}, but no answer said whether it was.`,
      {
        cause,
        metaMessages: [
          'Its directory stays pinned. Check later with datasets.fetch(cid); if it never is registered, publish it',
          'again with datasets.publish (the build holds the key), or unpin the CID.',
        ],
      },
    )
    this.cid = cid
    this.hash = hash
  }
}
