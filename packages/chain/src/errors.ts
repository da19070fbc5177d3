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

import {
  auditAnchorsAbi,
  consentRegistryAbi,
  datasetRegistryAbi,
  keyRegistryAbi,
  proxyRegistryAbi,
} from '@medvault/contracts'
import {
  type Abi,
  type Address,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  type DecodeErrorResultReturnType,
  decodeErrorResult,
  type Hash,
  type Hex,
  BaseError as ViemBaseError,
} from 'viem'
import { decodePurpose } from './encoding.ts'

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
  /**
   * Set when a state-changing action was aborted after its transaction was sent: a sent transaction cannot be
   * recalled, so it may still be mined; follow it by this hash.
   */
  readonly hash: Hash | undefined

  constructor(parameters: { cause?: unknown; hash?: Hash | undefined } = {}) {
    super(
      parameters.hash === undefined
        ? 'The operation was aborted.'
        : `The operation was aborted after its transaction ${parameters.hash} was sent; it may still be mined.`,
      { cause: parameters.cause },
    )
    this.hash = parameters.hash
  }
}

// ---------------------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------------------

export type AccountRequiredErrorType = AccountRequiredError & { name: 'AccountRequiredError' }

/** A state-changing action got no account: neither `account` nor the client's own. */
export class AccountRequiredError extends BaseError {
  override name = 'AccountRequiredError' as const

  constructor(action: string) {
    super(`${action} needs an account to send from.`, {
      metaMessages: ['Pass `account`, or create the wallet client with `account`.'],
    })
  }
}

export type TransactionRevertedErrorType = TransactionRevertedError & { name: 'TransactionRevertedError' }

/**
 * A transaction passed its simulation but reverted when mined (the state changed in between, e.g. another
 * transaction took the same record id first). Simulate again to learn the reason.
 */
export class TransactionRevertedError extends BaseError {
  override name = 'TransactionRevertedError' as const
  readonly transactionHash: Hex

  constructor(functionName: string, transactionHash: Hex) {
    super(`The ${functionName} transaction reverted when it was mined.`, {
      metaMessages: [`Transaction: ${transactionHash}`],
    })
    this.transactionHash = transactionHash
  }
}

// ---------------------------------------------------------------------------------------------------------
// Deployment
// ---------------------------------------------------------------------------------------------------------

export type DeploymentFailedErrorType = DeploymentFailedError & { name: 'DeploymentFailedError' }

/** A contract creation reverted, or its receipt names another address than expected. */
export class DeploymentFailedError extends BaseError {
  override name = 'DeploymentFailedError' as const
  readonly contract: string
  readonly transactionHash: Hex

  constructor(contract: string, transactionHash: Hex) {
    super(`Deploying ${contract} failed.`, {
      metaMessages: [`Transaction: ${transactionHash}`],
      details:
        'The creation reverted (out of gas, or the chain rejects the bytecode: it needs the Cancun EVM).',
    })
    this.contract = contract
    this.transactionHash = transactionHash
  }
}

// ---------------------------------------------------------------------------------------------------------
// Event follower
// ---------------------------------------------------------------------------------------------------------

export type ChainReorgErrorType = ChainReorgError & { name: 'ChainReorgError' }

/** The block a follower's checkpoint points at is no longer on the chain: a reorg deeper than `confirmations`. */
export class ChainReorgError extends BaseError {
  override name = 'ChainReorgError' as const
  readonly blockNumber: bigint

  constructor(blockNumber: bigint) {
    super(`Block ${blockNumber} of the checkpoint is no longer on the chain (a reorganisation).`, {
      metaMessages: [
        'Events delivered from the abandoned blocks may not exist any more.',
        'Raise `confirmations`, rewind the checkpoint below the fork and reprocess.',
      ],
    })
    this.blockNumber = blockNumber
  }
}

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

// ---------------------------------------------------------------------------------------------------------
// Contract reverts: one class per custom error of the medvault contracts
// ---------------------------------------------------------------------------------------------------------

export type ContractErrorParameters<args> = {
  /** The custom error's arguments, by their Solidity names. */
  args: args
  /** viem's decoded `ContractFunctionRevertedError`. */
  cause?: unknown
  /** The contract that reverted. */
  contractAddress?: Address | undefined
  /** The function that was called. */
  functionName?: string | undefined
}

/**
 * A medvault contract reverted with one of its custom errors. Every custom error has a subclass named after it
 * (`GrantRevoked` → {@link GrantRevokedError}); `errorName` and the named `args` are also on this base class,
 * and `cause` is viem's `ContractFunctionRevertedError`.
 */
export class ContractError<
  errorName extends string = string,
  args extends Record<string, unknown> = Record<string, unknown>,
> extends BaseError {
  override name: string = 'ContractError'
  /** The Solidity custom error's name, e.g. `GrantRevoked`. */
  readonly errorName: errorName
  readonly args: args
  readonly contractAddress: Address | undefined
  readonly functionName: string | undefined

  constructor(
    shortMessage: string,
    parameters: ContractErrorParameters<args> & { errorName: errorName; hint?: string },
  ) {
    const { errorName, args, cause, contractAddress, functionName, hint } = parameters
    super(shortMessage, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: [
        ...(hint === undefined ? [] : [hint, '']),
        `Error: ${errorName}(${Object.entries(args)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join(', ')})`,
        ...(functionName === undefined ? [] : [`Function: ${functionName}`]),
        ...(contractAddress === undefined ? [] : [`Contract: ${contractAddress}`]),
      ],
    })
    this.errorName = errorName
    this.args = args
    this.contractAddress = contractAddress
    this.functionName = functionName
  }
}

export type UnknownContractErrorType = UnknownContractError & { name: 'UnknownContractError' }

/** A custom error that no medvault class maps (e.g. from a newer contract version). */
export class UnknownContractError extends ContractError {
  override name = 'UnknownContractError' as const

  constructor(errorName: string, parameters: ContractErrorParameters<Record<string, unknown>>) {
    super(`The contract reverted with ${errorName}.`, { ...parameters, errorName })
  }
}

const permissionNames = ['records', 'grant', 'revoke'] as const
function permissionName(mask: number): string {
  const names = permissionNames.filter((_, bit) => (mask & (1 << bit)) !== 0)
  return names.length === 0 ? String(mask) : names.join('+')
}

function purposeName(code: number): string {
  return String(decodePurpose(code))
}

export type InvalidPublicKeyErrorType = InvalidPublicKeyError & { name: 'InvalidPublicKeyError' }

/** The contract reverted with `InvalidPublicKey(length, prefix)`. */
export class InvalidPublicKeyError extends ContractError<
  'InvalidPublicKey',
  { length: bigint; prefix: Hex }
> {
  override name = 'InvalidPublicKeyError' as const

  constructor(parameters: ContractErrorParameters<{ length: bigint; prefix: Hex }>) {
    const a = parameters.args
    super(`The public key is not a 33-byte compressed secp256k1 point (got ${a.length} bytes).`, {
      ...parameters,
      errorName: 'InvalidPublicKey',
    })
  }
}

export type InvalidPublishedKeyErrorType = InvalidPublishedKeyError & { name: 'InvalidPublishedKeyError' }

/** The contract reverted with `InvalidPublishedKey(parameter, length, prefix)`. */
export class InvalidPublishedKeyError extends ContractError<
  'InvalidPublishedKey',
  { parameter: string; length: bigint; prefix: Hex }
> {
  override name = 'InvalidPublishedKeyError' as const

  constructor(parameters: ContractErrorParameters<{ parameter: string; length: bigint; prefix: Hex }>) {
    const a = parameters.args
    super(
      `The ${a.parameter} is not a 33-byte compressed secp256k1 point (got ${a.length} bytes, prefix ${a.prefix}).`,
      { ...parameters, errorName: 'InvalidPublishedKey' },
    )
  }
}

export type KeyNotPublishedErrorType = KeyNotPublishedError & { name: 'KeyNotPublishedError' }

/** The contract reverted with `KeyNotPublished(account)`. */
export class KeyNotPublishedError extends ContractError<'KeyNotPublished', { account: Address }> {
  override name = 'KeyNotPublishedError' as const

  constructor(parameters: ContractErrorParameters<{ account: Address }>) {
    const a = parameters.args
    super(`${a.account} has not published its public keys.`, {
      ...parameters,
      errorName: 'KeyNotPublished',
      hint: `Ask the account holder to publish them (publishKeys) before granting to it.`,
    })
  }
}

export type InvalidRecordIdErrorType = InvalidRecordIdError & { name: 'InvalidRecordIdError' }

/** The contract reverted with `InvalidRecordId(recordId)`. */
export class InvalidRecordIdError extends ContractError<'InvalidRecordId', { recordId: Hex }> {
  override name = 'InvalidRecordIdError' as const

  constructor(parameters: ContractErrorParameters<{ recordId: Hex }>) {
    super(`The record id must not be zero.`, { ...parameters, errorName: 'InvalidRecordId' })
  }
}

export type RecordAlreadyRegisteredErrorType = RecordAlreadyRegisteredError & {
  name: 'RecordAlreadyRegisteredError'
}

/** The contract reverted with `RecordAlreadyRegistered(recordId, owner)`. */
export class RecordAlreadyRegisteredError extends ContractError<
  'RecordAlreadyRegistered',
  { recordId: Hex; owner: Address }
> {
  override name = 'RecordAlreadyRegisteredError' as const

  constructor(parameters: ContractErrorParameters<{ recordId: Hex; owner: Address }>) {
    const a = parameters.args
    super(`Record ${a.recordId} is already registered (owner ${a.owner}).`, {
      ...parameters,
      errorName: 'RecordAlreadyRegistered',
    })
  }
}

export type RecordNotFoundErrorType = RecordNotFoundError & { name: 'RecordNotFoundError' }

/** The contract reverted with `RecordNotFound(recordId)`. */
export class RecordNotFoundError extends ContractError<'RecordNotFound', { recordId: Hex }> {
  override name = 'RecordNotFoundError' as const

  constructor(parameters: ContractErrorParameters<{ recordId: Hex }>) {
    const a = parameters.args
    super(`No record ${a.recordId} is registered.`, { ...parameters, errorName: 'RecordNotFound' })
  }
}

export type InvalidCidLengthErrorType = InvalidCidLengthError & { name: 'InvalidCidLengthError' }

/** The contract reverted with `InvalidCidLength(length, maxLength)`. */
export class InvalidCidLengthError extends ContractError<
  'InvalidCidLength',
  { length: bigint; maxLength: bigint }
> {
  override name = 'InvalidCidLengthError' as const

  constructor(parameters: ContractErrorParameters<{ length: bigint; maxLength: bigint }>) {
    const a = parameters.args
    super(`The CID must be 1 to ${a.maxLength} bytes (got ${a.length}).`, {
      ...parameters,
      errorName: 'InvalidCidLength',
    })
  }
}

export type EmptyBatchErrorType = EmptyBatchError & { name: 'EmptyBatchError' }

/** The contract reverted with `EmptyBatch()`. */
export class EmptyBatchError extends ContractError<'EmptyBatch', Record<string, never>> {
  override name = 'EmptyBatchError' as const

  constructor(parameters: ContractErrorParameters<Record<string, never>>) {
    super(`A batch must hold at least one item.`, { ...parameters, errorName: 'EmptyBatch' })
  }
}

export type UnauthorizedErrorType = UnauthorizedError & { name: 'UnauthorizedError' }

/** The contract reverted with `Unauthorized(caller, owner, permission)`. */
export class UnauthorizedError extends ContractError<
  'Unauthorized',
  { caller: Address; owner: Address; permission: number }
> {
  override name = 'UnauthorizedError' as const

  constructor(parameters: ContractErrorParameters<{ caller: Address; owner: Address; permission: number }>) {
    const a = parameters.args
    super(`${a.caller} may not act for ${a.owner}.`, {
      ...parameters,
      errorName: 'Unauthorized',
      hint: `It is neither the owner nor a live delegate with permission ${permissionName(a.permission)}.`,
    })
  }
}

export type ZeroAddressErrorType = ZeroAddressError & { name: 'ZeroAddressError' }

/** The contract reverted with `ZeroAddress(parameter)`. */
export class ZeroAddressError extends ContractError<'ZeroAddress', { parameter: string }> {
  override name = 'ZeroAddressError' as const

  constructor(parameters: ContractErrorParameters<{ parameter: string }>) {
    const a = parameters.args
    super(`The ${a.parameter} address must not be the zero address.`, {
      ...parameters,
      errorName: 'ZeroAddress',
    })
  }
}

export type SelfDelegationErrorType = SelfDelegationError & { name: 'SelfDelegationError' }

/** The contract reverted with `SelfDelegation(patient)`. */
export class SelfDelegationError extends ContractError<'SelfDelegation', { patient: Address }> {
  override name = 'SelfDelegationError' as const

  constructor(parameters: ContractErrorParameters<{ patient: Address }>) {
    super(`An account cannot appoint itself as its own delegate.`, {
      ...parameters,
      errorName: 'SelfDelegation',
    })
  }
}

export type InvalidPermissionsErrorType = InvalidPermissionsError & { name: 'InvalidPermissionsError' }

/** The contract reverted with `InvalidPermissions(permissions)`. */
export class InvalidPermissionsError extends ContractError<'InvalidPermissions', { permissions: number }> {
  override name = 'InvalidPermissionsError' as const

  constructor(parameters: ContractErrorParameters<{ permissions: number }>) {
    const a = parameters.args
    super(
      `Delegate permissions must be a non-zero mask of 1 (records), 2 (grant) and 4 (revoke); got ${a.permissions}.`,
      { ...parameters, errorName: 'InvalidPermissions' },
    )
  }
}

export type ExpiryNotInFutureErrorType = ExpiryNotInFutureError & { name: 'ExpiryNotInFutureError' }

/** The contract reverted with `ExpiryNotInFuture(timestamp, currentTime)`. */
export class ExpiryNotInFutureError extends ContractError<
  'ExpiryNotInFuture',
  { timestamp: bigint; currentTime: bigint }
> {
  override name = 'ExpiryNotInFutureError' as const

  constructor(parameters: ContractErrorParameters<{ timestamp: bigint; currentTime: bigint }>) {
    const a = parameters.args
    super(`The time ${a.timestamp} must lie in the future (chain time ${a.currentTime}).`, {
      ...parameters,
      errorName: 'ExpiryNotInFuture',
    })
  }
}

export type DelegationNotFoundErrorType = DelegationNotFoundError & { name: 'DelegationNotFoundError' }

/** The contract reverted with `DelegationNotFound(patient, delegate)`. */
export class DelegationNotFoundError extends ContractError<
  'DelegationNotFound',
  { patient: Address; delegate: Address }
> {
  override name = 'DelegationNotFoundError' as const

  constructor(parameters: ContractErrorParameters<{ patient: Address; delegate: Address }>) {
    const a = parameters.args
    super(`${a.patient} has no delegation to ${a.delegate}.`, {
      ...parameters,
      errorName: 'DelegationNotFound',
    })
  }
}

export type GrantOutlivesDelegationErrorType = GrantOutlivesDelegationError & {
  name: 'GrantOutlivesDelegationError'
}

/** The contract reverted with `GrantOutlivesDelegation(delegate, expiry, delegationExpiry)`. */
export class GrantOutlivesDelegationError extends ContractError<
  'GrantOutlivesDelegation',
  { delegate: Address; expiry: number; delegationExpiry: number }
> {
  override name = 'GrantOutlivesDelegationError' as const

  constructor(
    parameters: ContractErrorParameters<{ delegate: Address; expiry: number; delegationExpiry: number }>,
  ) {
    const a = parameters.args
    super(
      `A delegate's grant may not expire (${a.expiry}) after its delegation does (${a.delegationExpiry}).`,
      { ...parameters, errorName: 'GrantOutlivesDelegation' },
    )
  }
}

export type GrantNotFoundErrorType = GrantNotFoundError & { name: 'GrantNotFoundError' }

/** The contract reverted with `GrantNotFound(grantId)`. */
export class GrantNotFoundError extends ContractError<'GrantNotFound', { grantId: Hex }> {
  override name = 'GrantNotFoundError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex }>) {
    const a = parameters.args
    super(`No grant ${a.grantId} exists.`, { ...parameters, errorName: 'GrantNotFound' })
  }
}

export type GrantAlreadyExistsErrorType = GrantAlreadyExistsError & { name: 'GrantAlreadyExistsError' }

/** The contract reverted with `GrantAlreadyExists(grantId)`. */
export class GrantAlreadyExistsError extends ContractError<'GrantAlreadyExists', { grantId: Hex }> {
  override name = 'GrantAlreadyExistsError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex }>) {
    const a = parameters.args
    super(`Grant ${a.grantId} already exists.`, {
      ...parameters,
      errorName: 'GrantAlreadyExists',
      hint: `Use another salt.`,
    })
  }
}

export type GrantIdCancelledErrorType = GrantIdCancelledError & { name: 'GrantIdCancelledError' }

/** The contract reverted with `GrantIdCancelled(grantId)`: the grant id's salt was cancelled. */
export class GrantIdCancelledError extends ContractError<'GrantIdCancelled', { grantId: Hex }> {
  override name = 'GrantIdCancelledError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex }>) {
    const a = parameters.args
    super(`Grant id ${a.grantId} was cancelled: no grant can have it.`, {
      ...parameters,
      errorName: 'GrantIdCancelled',
      hint: `Sign the grant again with another salt.`,
    })
  }
}

export type GrantRevokedErrorType = GrantRevokedError & { name: 'GrantRevokedError' }

/** The contract reverted with `GrantRevoked(grantId)`. */
export class GrantRevokedError extends ContractError<'GrantRevoked', { grantId: Hex }> {
  override name = 'GrantRevokedError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex }>) {
    const a = parameters.args
    super(`Grant ${a.grantId} has been revoked.`, { ...parameters, errorName: 'GrantRevoked' })
  }
}

export type GrantExpiredErrorType = GrantExpiredError & { name: 'GrantExpiredError' }

/** The contract reverted with `GrantExpired(grantId, expiredAt)`. */
export class GrantExpiredError extends ContractError<'GrantExpired', { grantId: Hex; expiredAt: number }> {
  override name = 'GrantExpiredError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; expiredAt: number }>) {
    const a = parameters.args
    super(`Grant ${a.grantId} expired at ${a.expiredAt}.`, { ...parameters, errorName: 'GrantExpired' })
  }
}

export type GrantNotYetValidErrorType = GrantNotYetValidError & { name: 'GrantNotYetValidError' }

/** The contract reverted with `GrantNotYetValid(grantId, notBefore)`. */
export class GrantNotYetValidError extends ContractError<
  'GrantNotYetValid',
  { grantId: Hex; notBefore: number }
> {
  override name = 'GrantNotYetValidError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; notBefore: number }>) {
    const a = parameters.args
    super(`Grant ${a.grantId} is not valid before ${a.notBefore}.`, {
      ...parameters,
      errorName: 'GrantNotYetValid',
    })
  }
}

export type GranteeMismatchErrorType = GranteeMismatchError & { name: 'GranteeMismatchError' }

/** The contract reverted with `GranteeMismatch(grantId, grantee)`. */
export class GranteeMismatchError extends ContractError<
  'GranteeMismatch',
  { grantId: Hex; grantee: Address }
> {
  override name = 'GranteeMismatchError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; grantee: Address }>) {
    const a = parameters.args
    super(`Grant ${a.grantId} names another grantee than ${a.grantee}.`, {
      ...parameters,
      errorName: 'GranteeMismatch',
    })
  }
}

export type PurposeMismatchErrorType = PurposeMismatchError & { name: 'PurposeMismatchError' }

/** The contract reverted with `PurposeMismatch(grantId, purpose)`. */
export class PurposeMismatchError extends ContractError<
  'PurposeMismatch',
  { grantId: Hex; purpose: number }
> {
  override name = 'PurposeMismatchError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; purpose: number }>) {
    const a = parameters.args
    super(`Grant ${a.grantId} does not allow purpose ${purposeName(a.purpose)}.`, {
      ...parameters,
      errorName: 'PurposeMismatch',
    })
  }
}

export type RecordOutOfScopeErrorType = RecordOutOfScopeError & { name: 'RecordOutOfScopeError' }

/** The contract reverted with `RecordOutOfScope(grantId, recordId)`. */
export class RecordOutOfScopeError extends ContractError<
  'RecordOutOfScope',
  { grantId: Hex; recordId: Hex }
> {
  override name = 'RecordOutOfScopeError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; recordId: Hex }>) {
    const a = parameters.args
    super(`Record ${a.recordId} is not covered by grant ${a.grantId}.`, {
      ...parameters,
      errorName: 'RecordOutOfScope',
    })
  }
}

export type InvalidPurposeErrorType = InvalidPurposeError & { name: 'InvalidPurposeError' }

/** The contract reverted with `InvalidPurpose(purpose)`. */
export class InvalidPurposeError extends ContractError<'InvalidPurpose', { purpose: number }> {
  override name = 'InvalidPurposeError' as const

  constructor(parameters: ContractErrorParameters<{ purpose: number }>) {
    const a = parameters.args
    super(`${a.purpose} is not a purpose-of-use code (1..32).`, {
      ...parameters,
      errorName: 'InvalidPurpose',
    })
  }
}

export type InvalidValidityErrorType = InvalidValidityError & { name: 'InvalidValidityError' }

/** The contract reverted with `InvalidValidity(notBefore, expiry)`. */
export class InvalidValidityError extends ContractError<
  'InvalidValidity',
  { notBefore: number; expiry: number }
> {
  override name = 'InvalidValidityError' as const

  constructor(parameters: ContractErrorParameters<{ notBefore: number; expiry: number }>) {
    const a = parameters.args
    super(`The expiry (${a.expiry}) must be after notBefore (${a.notBefore}) and in the future.`, {
      ...parameters,
      errorName: 'InvalidValidity',
    })
  }
}

export type InvalidThresholdErrorType = InvalidThresholdError & { name: 'InvalidThresholdError' }

/** The contract reverted with `InvalidThreshold(threshold, proxies)`. */
export class InvalidThresholdError extends ContractError<
  'InvalidThreshold',
  { threshold: number; proxies: bigint }
> {
  override name = 'InvalidThresholdError' as const

  constructor(parameters: ContractErrorParameters<{ threshold: number; proxies: bigint }>) {
    const a = parameters.args
    super(`The threshold must be 1 to the proxy set size ${a.proxies} (got ${a.threshold}).`, {
      ...parameters,
      errorName: 'InvalidThreshold',
    })
  }
}

export type UnknownProxySetErrorType = UnknownProxySetError & { name: 'UnknownProxySetError' }

/** The contract reverted with `UnknownProxySet(proxySetId)`. */
export class UnknownProxySetError extends ContractError<'UnknownProxySet', { proxySetId: number }> {
  override name = 'UnknownProxySetError' as const

  constructor(parameters: ContractErrorParameters<{ proxySetId: number }>) {
    const a = parameters.args
    super(`Proxy set ${a.proxySetId} does not exist.`, { ...parameters, errorName: 'UnknownProxySet' })
  }
}

export type InvalidScopeErrorType = InvalidScopeError & { name: 'InvalidScopeError' }

/** The contract reverted with `InvalidScope(scopeKind, scopeTarget)`. */
export class InvalidScopeError extends ContractError<
  'InvalidScope',
  { scopeKind: number; scopeTarget: Hex }
> {
  override name = 'InvalidScopeError' as const

  constructor(parameters: ContractErrorParameters<{ scopeKind: number; scopeTarget: Hex }>) {
    const a = parameters.args
    super(`The grant scope (kind ${a.scopeKind}) does not fit its target.`, {
      ...parameters,
      errorName: 'InvalidScope',
    })
  }
}

export type InvalidRecordSetSizeErrorType = InvalidRecordSetSizeError & { name: 'InvalidRecordSetSizeError' }

/** The contract reverted with `InvalidRecordSetSize(size, maxSize)`. */
export class InvalidRecordSetSizeError extends ContractError<
  'InvalidRecordSetSize',
  { size: bigint; maxSize: bigint }
> {
  override name = 'InvalidRecordSetSizeError' as const

  constructor(parameters: ContractErrorParameters<{ size: bigint; maxSize: bigint }>) {
    const a = parameters.args
    super(`A record-set scope must list 1 to ${a.maxSize} records (got ${a.size}).`, {
      ...parameters,
      errorName: 'InvalidRecordSetSize',
    })
  }
}

export type NotRecordOwnerErrorType = NotRecordOwnerError & { name: 'NotRecordOwnerError' }

/** The contract reverted with `NotRecordOwner(recordId, owner, grantor)`. */
export class NotRecordOwnerError extends ContractError<
  'NotRecordOwner',
  { recordId: Hex; owner: Address; grantor: Address }
> {
  override name = 'NotRecordOwnerError' as const

  constructor(parameters: ContractErrorParameters<{ recordId: Hex; owner: Address; grantor: Address }>) {
    const a = parameters.args
    super(`Record ${a.recordId} is owned by ${a.owner}, not by ${a.grantor}.`, {
      ...parameters,
      errorName: 'NotRecordOwner',
    })
  }
}

export type SignatureExpiredErrorType = SignatureExpiredError & { name: 'SignatureExpiredError' }

/** The contract reverted with `SignatureExpired(deadline, currentTime)`. */
export class SignatureExpiredError extends ContractError<
  'SignatureExpired',
  { deadline: bigint; currentTime: bigint }
> {
  override name = 'SignatureExpiredError' as const

  constructor(parameters: ContractErrorParameters<{ deadline: bigint; currentTime: bigint }>) {
    const a = parameters.args
    super(`The signature's deadline ${a.deadline} has passed (chain time ${a.currentTime}).`, {
      ...parameters,
      errorName: 'SignatureExpired',
      hint: `Sign again with a later deadline.`,
    })
  }
}

export type InvalidNonceErrorType = InvalidNonceError & { name: 'InvalidNonceError' }

/** The contract reverted with `InvalidNonce(signer, expected, provided)`. */
export class InvalidNonceError extends ContractError<
  'InvalidNonce',
  { signer: Address; expected: bigint; provided: bigint }
> {
  override name = 'InvalidNonceError' as const

  constructor(parameters: ContractErrorParameters<{ signer: Address; expected: bigint; provided: bigint }>) {
    const a = parameters.args
    super(
      `Nonce ${a.provided} is not ${a.signer}'s next nonce (${a.expected}): the signature was already used or is out of order.`,
      { ...parameters, errorName: 'InvalidNonce' },
    )
  }
}

export type InvalidSignatureErrorType = InvalidSignatureError & { name: 'InvalidSignatureError' }

/** The contract reverted with `InvalidSignature(signer)`. */
export class InvalidSignatureError extends ContractError<'InvalidSignature', { signer: Address }> {
  override name = 'InvalidSignatureError' as const

  constructor(parameters: ContractErrorParameters<{ signer: Address }>) {
    const a = parameters.args
    super(`The signature is not ${a.signer}'s signature of this message.`, {
      ...parameters,
      errorName: 'InvalidSignature',
    })
  }
}

export type NotBreakGlassGrantErrorType = NotBreakGlassGrantError & { name: 'NotBreakGlassGrantError' }

/** The contract reverted with `NotBreakGlassGrant(grantId)`. */
export class NotBreakGlassGrantError extends ContractError<'NotBreakGlassGrant', { grantId: Hex }> {
  override name = 'NotBreakGlassGrantError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex }>) {
    const a = parameters.args
    super(`Grant ${a.grantId} is not a break-glass grant.`, {
      ...parameters,
      errorName: 'NotBreakGlassGrant',
    })
  }
}

export type NotGranteeErrorType = NotGranteeError & { name: 'NotGranteeError' }

/** The contract reverted with `NotGrantee(grantId, caller)`. */
export class NotGranteeError extends ContractError<'NotGrantee', { grantId: Hex; caller: Address }> {
  override name = 'NotGranteeError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; caller: Address }>) {
    const a = parameters.args
    super(`${a.caller} is not the grantee of grant ${a.grantId}.`, { ...parameters, errorName: 'NotGrantee' })
  }
}

export type EmergencyAccessNotActiveErrorType = EmergencyAccessNotActiveError & {
  name: 'EmergencyAccessNotActiveError'
}

/** The contract reverted with `EmergencyAccessNotActive(grantId, recordId)`. */
export class EmergencyAccessNotActiveError extends ContractError<
  'EmergencyAccessNotActive',
  { grantId: Hex; recordId: Hex }
> {
  override name = 'EmergencyAccessNotActiveError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; recordId: Hex }>) {
    const a = parameters.args
    super(`No emergency access to record ${a.recordId} is running under grant ${a.grantId}.`, {
      ...parameters,
      errorName: 'EmergencyAccessNotActive',
    })
  }
}

export type EmergencyAccessHaltedErrorType = EmergencyAccessHaltedError & {
  name: 'EmergencyAccessHaltedError'
}

/** The contract reverted with `EmergencyAccessHalted(grantId, recordId)`. */
export class EmergencyAccessHaltedError extends ContractError<
  'EmergencyAccessHalted',
  { grantId: Hex; recordId: Hex }
> {
  override name = 'EmergencyAccessHaltedError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; recordId: Hex }>) {
    const a = parameters.args
    super(`The patient halted emergency access to record ${a.recordId} under grant ${a.grantId}.`, {
      ...parameters,
      errorName: 'EmergencyAccessHalted',
      hint: 'Only a new authorisation by the patient or a grant delegate (reauthorizeBreakGlass) lifts the halt.',
    })
  }
}

export type EmergencyAccessNotHaltedErrorType = EmergencyAccessNotHaltedError & {
  name: 'EmergencyAccessNotHaltedError'
}

/** The contract reverted with `EmergencyAccessNotHalted(grantId, recordId)`. */
export class EmergencyAccessNotHaltedError extends ContractError<
  'EmergencyAccessNotHalted',
  { grantId: Hex; recordId: Hex }
> {
  override name = 'EmergencyAccessNotHaltedError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; recordId: Hex }>) {
    const a = parameters.args
    super(`Emergency access to record ${a.recordId} under grant ${a.grantId} is not halted.`, {
      ...parameters,
      errorName: 'EmergencyAccessNotHalted',
    })
  }
}

export type EmergencyAccessAlreadyActiveErrorType = EmergencyAccessAlreadyActiveError & {
  name: 'EmergencyAccessAlreadyActiveError'
}

/** The contract reverted with `EmergencyAccessAlreadyActive(grantId, recordId, endsAt)`. */
export class EmergencyAccessAlreadyActiveError extends ContractError<
  'EmergencyAccessAlreadyActive',
  { grantId: Hex; recordId: Hex; endsAt: number }
> {
  override name = 'EmergencyAccessAlreadyActiveError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; recordId: Hex; endsAt: number }>) {
    const a = parameters.args
    super(
      `An emergency access to record ${a.recordId} under grant ${a.grantId} is already running (until ${a.endsAt}).`,
      {
        ...parameters,
        errorName: 'EmergencyAccessAlreadyActive',
        hint: 'One window runs at a time per record: end it (endEmergencyAccess) or let it lapse first.',
      },
    )
  }
}

export type BreakGlassWindowsExhaustedErrorType = BreakGlassWindowsExhaustedError & {
  name: 'BreakGlassWindowsExhaustedError'
}

/** The contract reverted with `BreakGlassWindowsExhausted(grantId, maxWindows)`. */
export class BreakGlassWindowsExhaustedError extends ContractError<
  'BreakGlassWindowsExhausted',
  { grantId: Hex; maxWindows: number }
> {
  override name = 'BreakGlassWindowsExhaustedError' as const

  constructor(parameters: ContractErrorParameters<{ grantId: Hex; maxWindows: number }>) {
    const a = parameters.args
    super(`Grant ${a.grantId} has opened all ${a.maxWindows} emergency-access windows it may.`, {
      ...parameters,
      errorName: 'BreakGlassWindowsExhausted',
      hint: 'The patient must authorise a new break-glass grant (authorizeBreakGlass).',
    })
  }
}

export type InvalidBreakGlassDurationErrorType = InvalidBreakGlassDurationError & {
  name: 'InvalidBreakGlassDurationError'
}

/** The contract reverted with `InvalidBreakGlassDuration(duration, maxDuration)`. */
export class InvalidBreakGlassDurationError extends ContractError<
  'InvalidBreakGlassDuration',
  { duration: number; maxDuration: number }
> {
  override name = 'InvalidBreakGlassDurationError' as const

  constructor(parameters: ContractErrorParameters<{ duration: number; maxDuration: number }>) {
    const a = parameters.args
    super(`The break-glass time box must be 1 to ${a.maxDuration} seconds (got ${a.duration}).`, {
      ...parameters,
      errorName: 'InvalidBreakGlassDuration',
    })
  }
}

export type ProxyAlreadyRegisteredErrorType = ProxyAlreadyRegisteredError & {
  name: 'ProxyAlreadyRegisteredError'
}

/** The contract reverted with `ProxyAlreadyRegistered(operator)`. */
export class ProxyAlreadyRegisteredError extends ContractError<
  'ProxyAlreadyRegistered',
  { operator: Address }
> {
  override name = 'ProxyAlreadyRegisteredError' as const

  constructor(parameters: ContractErrorParameters<{ operator: Address }>) {
    const a = parameters.args
    super(`${a.operator} already has a proxy (active or retired).`, {
      ...parameters,
      errorName: 'ProxyAlreadyRegistered',
    })
  }
}

export type ProxyNotActiveErrorType = ProxyNotActiveError & { name: 'ProxyNotActiveError' }

/** The contract reverted with `ProxyNotActive(operator)`. */
export class ProxyNotActiveError extends ContractError<'ProxyNotActive', { operator: Address }> {
  override name = 'ProxyNotActiveError' as const

  constructor(parameters: ContractErrorParameters<{ operator: Address }>) {
    const a = parameters.args
    super(`${a.operator} has no active proxy.`, { ...parameters, errorName: 'ProxyNotActive' })
  }
}

export type InvalidEndpointLengthErrorType = InvalidEndpointLengthError & {
  name: 'InvalidEndpointLengthError'
}

/** The contract reverted with `InvalidEndpointLength(length, maxLength)`. */
export class InvalidEndpointLengthError extends ContractError<
  'InvalidEndpointLength',
  { length: bigint; maxLength: bigint }
> {
  override name = 'InvalidEndpointLengthError' as const

  constructor(parameters: ContractErrorParameters<{ length: bigint; maxLength: bigint }>) {
    const a = parameters.args
    super(`The endpoint URL must be 1 to ${a.maxLength} bytes (got ${a.length}).`, {
      ...parameters,
      errorName: 'InvalidEndpointLength',
    })
  }
}

export type InvalidProxySetSizeErrorType = InvalidProxySetSizeError & { name: 'InvalidProxySetSizeError' }

/** The contract reverted with `InvalidProxySetSize(size, maxSize)`. */
export class InvalidProxySetSizeError extends ContractError<
  'InvalidProxySetSize',
  { size: bigint; maxSize: bigint }
> {
  override name = 'InvalidProxySetSizeError' as const

  constructor(parameters: ContractErrorParameters<{ size: bigint; maxSize: bigint }>) {
    const a = parameters.args
    super(`A proxy set must have 1 to ${a.maxSize} members (got ${a.size}).`, {
      ...parameters,
      errorName: 'InvalidProxySetSize',
    })
  }
}

export type DuplicateProxyErrorType = DuplicateProxyError & { name: 'DuplicateProxyError' }

/** The contract reverted with `DuplicateProxy(operator)`. */
export class DuplicateProxyError extends ContractError<'DuplicateProxy', { operator: Address }> {
  override name = 'DuplicateProxyError' as const

  constructor(parameters: ContractErrorParameters<{ operator: Address }>) {
    const a = parameters.args
    super(`${a.operator} appears twice in the proxy set.`, { ...parameters, errorName: 'DuplicateProxy' })
  }
}

export type ProxySetNotFoundErrorType = ProxySetNotFoundError & { name: 'ProxySetNotFoundError' }

/** The contract reverted with `ProxySetNotFound(setId)`. */
export class ProxySetNotFoundError extends ContractError<'ProxySetNotFound', { setId: number }> {
  override name = 'ProxySetNotFoundError' as const

  constructor(parameters: ContractErrorParameters<{ setId: number }>) {
    const a = parameters.args
    super(`Proxy set ${a.setId} does not exist.`, { ...parameters, errorName: 'ProxySetNotFound' })
  }
}

export type NotActiveProxyErrorType = NotActiveProxyError & { name: 'NotActiveProxyError' }

/** The contract reverted with `NotActiveProxy(caller)`. */
export class NotActiveProxyError extends ContractError<'NotActiveProxy', { caller: Address }> {
  override name = 'NotActiveProxyError' as const

  constructor(parameters: ContractErrorParameters<{ caller: Address }>) {
    const a = parameters.args
    super(`${a.caller} is not an active proxy operator.`, { ...parameters, errorName: 'NotActiveProxy' })
  }
}

export type InvalidRootErrorType = InvalidRootError & { name: 'InvalidRootError' }

/** The contract reverted with `InvalidRoot(root)`. */
export class InvalidRootError extends ContractError<'InvalidRoot', { root: Hex }> {
  override name = 'InvalidRootError' as const

  constructor(parameters: ContractErrorParameters<{ root: Hex }>) {
    super(`The Merkle root must not be zero.`, { ...parameters, errorName: 'InvalidRoot' })
  }
}

export type RootAlreadyAnchoredErrorType = RootAlreadyAnchoredError & { name: 'RootAlreadyAnchoredError' }

/** The contract reverted with `RootAlreadyAnchored(root, proxy)`. */
export class RootAlreadyAnchoredError extends ContractError<
  'RootAlreadyAnchored',
  { root: Hex; proxy: Address }
> {
  override name = 'RootAlreadyAnchoredError' as const

  constructor(parameters: ContractErrorParameters<{ root: Hex; proxy: Address }>) {
    const a = parameters.args
    super(`Root ${a.root} is already anchored (by ${a.proxy}).`, {
      ...parameters,
      errorName: 'RootAlreadyAnchored',
    })
  }
}

export type InvalidReceiptCountErrorType = InvalidReceiptCountError & { name: 'InvalidReceiptCountError' }

/** The contract reverted with `InvalidReceiptCount(count)`. */
export class InvalidReceiptCountError extends ContractError<'InvalidReceiptCount', { count: number }> {
  override name = 'InvalidReceiptCountError' as const

  constructor(parameters: ContractErrorParameters<{ count: number }>) {
    super(`The receipt count must not be zero.`, { ...parameters, errorName: 'InvalidReceiptCount' })
  }
}

export type InvalidTimeRangeErrorType = InvalidTimeRangeError & { name: 'InvalidTimeRangeError' }

/** The contract reverted with `InvalidTimeRange(fromTime, toTime, currentTime)`. */
export class InvalidTimeRangeError extends ContractError<
  'InvalidTimeRange',
  { fromTime: number; toTime: number; currentTime: bigint }
> {
  override name = 'InvalidTimeRangeError' as const

  constructor(
    parameters: ContractErrorParameters<{ fromTime: number; toTime: number; currentTime: bigint }>,
  ) {
    const a = parameters.args
    super(
      `The receipt time range ${a.fromTime}..${a.toTime} is reversed or ends in the future (chain time ${a.currentTime}).`,
      { ...parameters, errorName: 'InvalidTimeRange' },
    )
  }
}

export type AnchorNotFoundErrorType = AnchorNotFoundError & { name: 'AnchorNotFoundError' }

/** The contract reverted with `AnchorNotFound(proxy, root)`. */
export class AnchorNotFoundError extends ContractError<'AnchorNotFound', { proxy: Address; root: Hex }> {
  override name = 'AnchorNotFoundError' as const

  constructor(parameters: ContractErrorParameters<{ proxy: Address; root: Hex }>) {
    const a = parameters.args
    super(`Proxy ${a.proxy} never anchored root ${a.root}.`, { ...parameters, errorName: 'AnchorNotFound' })
  }
}

export type NotAdminErrorType = NotAdminError & { name: 'NotAdminError' }

/** The contract reverted with `NotAdmin(caller)`. */
export class NotAdminError extends ContractError<'NotAdmin', { caller: Address }> {
  override name = 'NotAdminError' as const

  constructor(parameters: ContractErrorParameters<{ caller: Address }>) {
    const a = parameters.args
    super(`${a.caller} is not the dataset registry's admin.`, { ...parameters, errorName: 'NotAdmin' })
  }
}

export type NotStewardErrorType = NotStewardError & { name: 'NotStewardError' }

/** The contract reverted with `NotSteward(caller)`. */
export class NotStewardError extends ContractError<'NotSteward', { caller: Address }> {
  override name = 'NotStewardError' as const

  constructor(parameters: ContractErrorParameters<{ caller: Address }>) {
    const a = parameters.args
    super(`${a.caller} is not an approved data steward.`, { ...parameters, errorName: 'NotSteward' })
  }
}

export type DatasetAlreadyRegisteredErrorType = DatasetAlreadyRegisteredError & {
  name: 'DatasetAlreadyRegisteredError'
}

/** The contract reverted with `DatasetAlreadyRegistered(datasetId)`. */
export class DatasetAlreadyRegisteredError extends ContractError<
  'DatasetAlreadyRegistered',
  { datasetId: Hex }
> {
  override name = 'DatasetAlreadyRegisteredError' as const

  constructor(parameters: ContractErrorParameters<{ datasetId: Hex }>) {
    const a = parameters.args
    super(`Dataset ${a.datasetId} is already registered.`, {
      ...parameters,
      errorName: 'DatasetAlreadyRegistered',
    })
  }
}

export type DatasetNotFoundErrorType = DatasetNotFoundError & { name: 'DatasetNotFoundError' }

/** The contract reverted with `DatasetNotFound(datasetId)`. */
export class DatasetNotFoundError extends ContractError<'DatasetNotFound', { datasetId: Hex }> {
  override name = 'DatasetNotFoundError' as const

  constructor(parameters: ContractErrorParameters<{ datasetId: Hex }>) {
    const a = parameters.args
    super(`No dataset ${a.datasetId} is registered.`, { ...parameters, errorName: 'DatasetNotFound' })
  }
}

export type InvalidLicenceLengthErrorType = InvalidLicenceLengthError & { name: 'InvalidLicenceLengthError' }

/** The contract reverted with `InvalidLicenceLength(length, maxLength)`. */
export class InvalidLicenceLengthError extends ContractError<
  'InvalidLicenceLength',
  { length: bigint; maxLength: bigint }
> {
  override name = 'InvalidLicenceLengthError' as const

  constructor(parameters: ContractErrorParameters<{ length: bigint; maxLength: bigint }>) {
    const a = parameters.args
    super(`The licence must be 1 to ${a.maxLength} bytes (got ${a.length}).`, {
      ...parameters,
      errorName: 'InvalidLicenceLength',
    })
  }
}

export type ZeroHashErrorType = ZeroHashError & { name: 'ZeroHashError' }

/** The contract reverted with `ZeroHash(parameter)`. */
export class ZeroHashError extends ContractError<'ZeroHash', { parameter: string }> {
  override name = 'ZeroHashError' as const

  constructor(parameters: ContractErrorParameters<{ parameter: string }>) {
    const a = parameters.args
    super(`The ${a.parameter} hash must not be zero.`, { ...parameters, errorName: 'ZeroHash' })
  }
}

export type SnapshotBlockNotInPastErrorType = SnapshotBlockNotInPastError & {
  name: 'SnapshotBlockNotInPastError'
}

/** The contract reverted with `SnapshotBlockNotInPast(snapshotBlock, currentBlock)`. */
export class SnapshotBlockNotInPastError extends ContractError<
  'SnapshotBlockNotInPast',
  { snapshotBlock: bigint; currentBlock: bigint }
> {
  override name = 'SnapshotBlockNotInPastError' as const

  constructor(parameters: ContractErrorParameters<{ snapshotBlock: bigint; currentBlock: bigint }>) {
    const a = parameters.args
    super(
      `The consent snapshot block ${a.snapshotBlock} must be before the current block ${a.currentBlock}.`,
      { ...parameters, errorName: 'SnapshotBlockNotInPast' },
    )
  }
}

/** Every medvault custom error name and the class a revert with it becomes. */
export const contractErrors = {
  InvalidPublicKey: InvalidPublicKeyError,
  InvalidPublishedKey: InvalidPublishedKeyError,
  KeyNotPublished: KeyNotPublishedError,
  InvalidRecordId: InvalidRecordIdError,
  RecordAlreadyRegistered: RecordAlreadyRegisteredError,
  RecordNotFound: RecordNotFoundError,
  InvalidCidLength: InvalidCidLengthError,
  EmptyBatch: EmptyBatchError,
  Unauthorized: UnauthorizedError,
  ZeroAddress: ZeroAddressError,
  SelfDelegation: SelfDelegationError,
  InvalidPermissions: InvalidPermissionsError,
  ExpiryNotInFuture: ExpiryNotInFutureError,
  DelegationNotFound: DelegationNotFoundError,
  GrantOutlivesDelegation: GrantOutlivesDelegationError,
  GrantNotFound: GrantNotFoundError,
  GrantAlreadyExists: GrantAlreadyExistsError,
  GrantIdCancelled: GrantIdCancelledError,
  GrantRevoked: GrantRevokedError,
  GrantExpired: GrantExpiredError,
  GrantNotYetValid: GrantNotYetValidError,
  GranteeMismatch: GranteeMismatchError,
  PurposeMismatch: PurposeMismatchError,
  RecordOutOfScope: RecordOutOfScopeError,
  InvalidPurpose: InvalidPurposeError,
  InvalidValidity: InvalidValidityError,
  InvalidThreshold: InvalidThresholdError,
  UnknownProxySet: UnknownProxySetError,
  InvalidScope: InvalidScopeError,
  InvalidRecordSetSize: InvalidRecordSetSizeError,
  NotRecordOwner: NotRecordOwnerError,
  SignatureExpired: SignatureExpiredError,
  InvalidNonce: InvalidNonceError,
  InvalidSignature: InvalidSignatureError,
  NotBreakGlassGrant: NotBreakGlassGrantError,
  NotGrantee: NotGranteeError,
  EmergencyAccessNotActive: EmergencyAccessNotActiveError,
  EmergencyAccessHalted: EmergencyAccessHaltedError,
  EmergencyAccessNotHalted: EmergencyAccessNotHaltedError,
  EmergencyAccessAlreadyActive: EmergencyAccessAlreadyActiveError,
  BreakGlassWindowsExhausted: BreakGlassWindowsExhaustedError,
  InvalidBreakGlassDuration: InvalidBreakGlassDurationError,
  ProxyAlreadyRegistered: ProxyAlreadyRegisteredError,
  ProxyNotActive: ProxyNotActiveError,
  InvalidEndpointLength: InvalidEndpointLengthError,
  InvalidProxySetSize: InvalidProxySetSizeError,
  DuplicateProxy: DuplicateProxyError,
  ProxySetNotFound: ProxySetNotFoundError,
  NotActiveProxy: NotActiveProxyError,
  InvalidRoot: InvalidRootError,
  RootAlreadyAnchored: RootAlreadyAnchoredError,
  InvalidReceiptCount: InvalidReceiptCountError,
  InvalidTimeRange: InvalidTimeRangeError,
  AnchorNotFound: AnchorNotFoundError,
  NotAdmin: NotAdminError,
  NotSteward: NotStewardError,
  DatasetAlreadyRegistered: DatasetAlreadyRegisteredError,
  DatasetNotFound: DatasetNotFoundError,
  InvalidLicenceLength: InvalidLicenceLengthError,
  ZeroHash: ZeroHashError,
  SnapshotBlockNotInPast: SnapshotBlockNotInPastError,
} as const

/** The name of a medvault contract custom error, e.g. `'GrantRevoked'`. */
export type ContractErrorName = keyof typeof contractErrors

/** Any medvault domain error a contract call can turn into. */
export type MedvaultContractErrorType =
  | InstanceType<(typeof contractErrors)[ContractErrorName]>
  | UnknownContractError

/** Every custom error of every medvault contract. */
const medvaultErrorsAbi = [
  consentRegistryAbi,
  keyRegistryAbi,
  proxyRegistryAbi,
  auditAnchorsAbi,
  datasetRegistryAbi,
]
  .flat()
  .filter((item) => item.type === 'error') as Abi

/** Decodes revert data that viem could not decode with the ABI it was given (e.g. a call into another contract). */
function decodeMedvaultError(raw: Hex | undefined): DecodeErrorResultReturnType | undefined {
  if (raw === undefined || raw.length < 10) return undefined
  try {
    return decodeErrorResult({ abi: medvaultErrorsAbi, data: raw })
  } catch {
    return undefined
  }
}

/**
 * Turns viem's error for a reverted call into the medvault error of its custom error, keeping viem's
 * `ContractFunctionRevertedError` as `cause`. Anything else (a network failure, insufficient funds, a revert
 * without a custom error) is returned unchanged.
 */
export function toMedvaultError(error: unknown): unknown {
  if (!(error instanceof ViemBaseError)) return error
  const reverted = error.walk(
    (e) => e instanceof ContractFunctionRevertedError,
  ) as ContractFunctionRevertedError | null
  if (reverted === null) return error
  const data = reverted.data ?? decodeMedvaultError(reverted.raw)
  if (data === undefined || data.errorName === 'Error' || data.errorName === 'Panic') return error
  const inputs = 'inputs' in data.abiItem ? data.abiItem.inputs : []
  const args = Object.fromEntries(inputs.map((input, i) => [input.name || String(i), data.args?.[i]]))
  const execution = error.walk(
    (e) => e instanceof ContractFunctionExecutionError,
  ) as ContractFunctionExecutionError | null
  const parameters: ContractErrorParameters<Record<string, unknown>> = {
    args,
    cause: reverted,
    contractAddress: execution?.contractAddress,
    functionName: execution?.functionName,
  }
  const known = (contractErrors as Record<string, unknown>)[data.errorName] as
    | (new (
        p: ContractErrorParameters<Record<string, unknown>>,
      ) => ContractError)
    | undefined
  return known === undefined ? new UnknownContractError(data.errorName, parameters) : new known(parameters)
}
