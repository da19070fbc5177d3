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
  type AbiParameterToPrimitiveType,
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

/**
 * The anvil binary for this platform could not be found. `@foundry-rs/anvil` is an optional peer dependency
 * (only the devnet runs it, and it weighs 43 MB), so an app that never starts a devnet does not install it.
 */
export class AnvilNotFoundError extends BaseError {
  override name = 'AnvilNotFoundError' as const

  constructor(parameters: { platform: string; arch: string; cause?: unknown }) {
    super(
      `No anvil binary for ${parameters.platform}-${parameters.arch}: the devnet (createDevnet, startAnvil, createLocalNetwork) runs Foundry's anvil from the optional peer dependency \`@foundry-rs/anvil\`.`,
      {
        ...(parameters.cause === undefined ? {} : { cause: parameters.cause }),
        metaMessages: [
          'Install it in your project: `npm install --save-dev @foundry-rs/anvil` (keep optional dependencies:',
          'the binary is in its per-platform optional package), or pass `binary` (or set MEDVAULT_ANVIL_BINARY)',
          'to the path of an anvil executable.',
        ],
      },
    )
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

export type TransactionOutcomeUnknownErrorType = TransactionOutcomeUnknownError & {
  name: 'TransactionOutcomeUnknownError'
}

/**
 * A state-changing action failed after its transaction was handed to the client to send: the send failed (its
 * answer did not come in time, the connection dropped, a node or gateway in between answered with an error), or
 * the wait for the receipt failed or timed out (`stage` says which). The transaction may be in the pool and may
 * be, or later be, mined: its effect must be assumed neither absent nor present. `hash` is set when it is known
 * (the node answered the send, or the transaction was signed before it was sent); without it the transaction,
 * if it went out, can be found only by its effect (or the account's nonce).
 *
 * Failures before anything is sent throw their own error instead (the simulation's domain error, `AbortError`
 * without `hash`, the error of `beforeSend`); so does a revert decoded at the send's own gas estimation, and a
 * mined revert (`TransactionRevertedError`). An abort after the send throws `AbortError` with `hash`, which
 * means the same as this error.
 */
export class TransactionOutcomeUnknownError extends BaseError {
  override name = 'TransactionOutcomeUnknownError' as const
  readonly functionName: string
  /** The transaction's hash, when known. */
  readonly hash: Hash | undefined
  /** What failed: the send (no answer, or an error that does not show nothing went out) or the receipt wait. */
  readonly stage: 'send' | 'receipt'

  constructor(parameters: {
    functionName: string
    hash: Hash | undefined
    stage: 'send' | 'receipt'
    cause: unknown
  }) {
    const { functionName, hash, stage } = parameters
    const named = hash === undefined ? '' : ` ${hash}`
    super(
      stage === 'receipt'
        ? `The ${functionName} transaction${named} was sent, but its receipt did not come: it may still be mined.`
        : `The ${functionName} transaction${named} may have been sent: its send failed, but not in a way that shows nothing went out, so it may still be mined.`,
      {
        cause: parameters.cause,
        metaMessages: [
          hash === undefined
            ? "Check for its effect on chain (or the account's pending nonce) before sending it again."
            : 'Wait for its receipt (waitForTransactionReceipt) or check for its effect before sending it again.',
        ],
      },
    )
    this.functionName = functionName
    this.hash = hash
    this.stage = stage
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

export type LogRangeTooLargeErrorType = LogRangeTooLargeError & { name: 'LogRangeTooLargeError' }

/**
 * The node refused the logs of a range that is not split further: a single block (too many results), or a range
 * of at most `minBlockRange` blocks (by default 2) refused for its block count, since splitting
 * further would let a node that refuses everything drive the read to a request or two per block. Query with a
 * narrower filter (fewer addresses or events), or use a node without that cap.
 */
export class LogRangeTooLargeError extends BaseError {
  override name = 'LogRangeTooLargeError' as const
  readonly fromBlock: bigint
  readonly toBlock: bigint

  constructor(fromBlock: bigint | number, parameters?: { cause?: unknown })
  constructor(fromBlock: bigint | number, toBlock?: bigint | number, parameters?: { cause?: unknown })
  constructor(
    fromBlockIn: bigint | number,
    toBlockOrParameters?: bigint | number | { cause?: unknown },
    parametersIfRange: { cause?: unknown } = {},
  ) {
    // `(blockNumber, { cause })`, the single-block form, is accepted as well as `(fromBlock, toBlock, { cause })`.
    const single = typeof toBlockOrParameters === 'object' && toBlockOrParameters !== null
    // A JavaScript caller may pass block numbers as numbers: mixed with bigints, the block count below would
    // throw a TypeError instead of this error.
    const fromBlock = BigInt(fromBlockIn)
    const toBlock = single || toBlockOrParameters === undefined ? fromBlock : BigInt(toBlockOrParameters)
    const parameters = single ? toBlockOrParameters : parametersIfRange
    super(
      toBlock === fromBlock
        ? `The node refused the logs of block ${fromBlock}, a single block: no smaller range can be asked.`
        : `The node refused the logs of blocks ${fromBlock} to ${toBlock} (${toBlock - fromBlock + 1n} blocks), the smallest range read: no smaller range is asked.`,
      {
        ...parameters,
        metaMessages: [
          'Narrow the filter (address, event, topics), or use a node that returns larger answers.',
        ],
      },
    )
    this.fromBlock = fromBlock
    this.toBlock = toBlock
  }

  /** The first block of the refused range. */
  get blockNumber(): bigint {
    return this.fromBlock
  }
}

export type LogQueryTimeoutErrorType = LogQueryTimeoutError & { name: 'LogQueryTimeoutError' }

/**
 * The node answered no log query in time several times in a row (`maxTimeouts`, by default 3), each over half the
 * blocks of the one before: a node that hangs is not helped by smaller ranges, and each try costs a client
 * time-out. Also thrown at once when a range of at most `minBlockRange` blocks (by default 2) gets no answer in
 * time: no smaller range is asked.
 */
export class LogQueryTimeoutError extends BaseError {
  override name = 'LogQueryTimeoutError' as const
  readonly fromBlock: bigint
  readonly toBlock: bigint

  constructor(
    fromBlockIn: bigint | number,
    toBlockIn: bigint | number,
    timeoutsIn: number | bigint,
    parameters: { cause?: unknown } = {},
  ) {
    // As LogRangeTooLargeError: a JavaScript caller may pass numbers for the blocks (or a bigint count).
    const fromBlock = BigInt(fromBlockIn)
    const toBlock = BigInt(toBlockIn)
    const timeouts = Number(timeoutsIn)
    super(
      timeouts === 1
        ? `The node answered no log query in time once, for blocks ${fromBlock} to ${toBlock}.`
        : `The node answered no log query in time ${timeouts} times in a row, the last for blocks ${fromBlock} to ${toBlock}.`,
      {
        ...parameters,
        metaMessages: [
          'Check that the node is up and synced, raise the transport `timeout`, or use another node.',
        ],
      },
    )
    this.fromBlock = fromBlock
    this.toBlock = toBlock
  }
}

export type LogQueryRefusedErrorType = LogQueryRefusedError & { name: 'LogQueryRefusedError' }

/**
 * The node's refusals of log queries for too many results are not what they claim, so smaller ranges would not
 * help: a broken or hostile node driving the read to ever smaller ranges. Either it answered every block of a
 * range it had refused with no log at all (`answeredEmpty`; a range refused for holding too many logs holds
 * logs), or it refused many queries (`maxRefusals`, by default 64) while none of its answers since held a log.
 * `fromBlock` and `toBlock` are the range answered empty, or the last range refused.
 */
export class LogQueryRefusedError extends BaseError {
  override name = 'LogQueryRefusedError' as const
  readonly fromBlock: bigint
  readonly toBlock: bigint
  /** Whether the node answered every block of the refused range with no log. */
  readonly answeredEmpty: boolean

  constructor(
    fromBlockIn: bigint | number,
    toBlockIn: bigint | number,
    refusalsIn: number | bigint,
    parameters: { cause?: unknown; answeredEmpty?: boolean | undefined } = {},
  ) {
    // As LogRangeTooLargeError: a JavaScript caller may pass numbers for the blocks (or a bigint count).
    const fromBlock = BigInt(fromBlockIn)
    const toBlock = BigInt(toBlockIn)
    const refusals = Number(refusalsIn)
    const { answeredEmpty = false, ...rest } = parameters
    super(
      answeredEmpty
        ? `The node refused the logs of blocks ${fromBlock} to ${toBlock} for too many results, then answered each of those blocks with none (${refusals === 1 ? '1 refusal' : `${refusals} refusals`} since the last log found).`
        : `The node refused ${refusals} log queries for too many results, the last for blocks ${fromBlock} to ${toBlock}, yet answered every range since the last log found with none.`,
      {
        ...rest,
        metaMessages: ['The node is broken or lying about its result cap: use another node.'],
      },
    )
    this.fromBlock = fromBlock
    this.toBlock = toBlock
    this.answeredEmpty = answeredEmpty
  }
}

export type MalformedLogErrorType = MalformedLogError & { name: 'MalformedLogError' }

/**
 * The node answered a log query over mined blocks with a log that has no readable place in the chain: no block
 * number (a pending log, which a query over numbered blocks never holds) or no log index. Such a log can be
 * placed neither in the range asked for nor in chain order, so the whole answer is refused instead of handed on
 * out of order or missing a field every caller reads. The log's content is not repeated here.
 */
export class MalformedLogError extends BaseError {
  override name = 'MalformedLogError' as const
  readonly fromBlock: bigint
  readonly toBlock: bigint
  /** The field the log lacked, or held in no readable form. */
  readonly field: 'blockNumber' | 'logIndex'

  constructor(
    fromBlockIn: bigint | number,
    toBlockIn: bigint | number,
    field: 'blockNumber' | 'logIndex',
    parameters: { cause?: unknown } = {},
  ) {
    const fromBlock = BigInt(fromBlockIn)
    const toBlock = BigInt(toBlockIn)
    super(
      `The node answered the logs of blocks ${fromBlock} to ${toBlock} with a log without ${field === 'blockNumber' ? 'a block number (a pending log)' : 'a log index'}: the logs of mined blocks have both.`,
      {
        ...parameters,
        metaMessages: ['The node is broken or not answering what was asked: use another node.'],
      },
    )
    this.fromBlock = fromBlock
    this.toBlock = toBlock
    this.field = field
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

/** The custom errors of every medvault contract, as the contracts' ABIs declare them. */
type MedvaultAbiError = Extract<
  | (typeof consentRegistryAbi)[number]
  | (typeof keyRegistryAbi)[number]
  | (typeof proxyRegistryAbi)[number]
  | (typeof auditAnchorsAbi)[number]
  | (typeof datasetRegistryAbi)[number],
  { type: 'error' }
>

/** The name of a medvault contract custom error, e.g. `'GrantRevoked'`. */
export type ContractErrorName = MedvaultAbiError['name']

/**
 * The arguments of the custom error `errorName` by their Solidity names, typed as viem decodes them (`uint32`
 * → `number`, `uint64` → `bigint`, `address` → `Address`). Read from the ABI, so they cannot drift from it.
 */
export type ContractErrorArgs<errorName extends ContractErrorName> = {
  [input in Extract<
    MedvaultAbiError,
    { name: errorName }
  >['inputs'][number] as input['name']]: AbiParameterToPrimitiveType<input>
}

/** The class of the error for the custom error `errorName`, as `contractErrors` maps it. */
export type ContractErrorClass<errorName extends ContractErrorName> = new (
  parameters: ContractErrorParameters<ContractErrorArgs<errorName>>,
) => ContractError<errorName, ContractErrorArgs<errorName>> & { name: `${errorName}Error` }

/**
 * The base class of the error for the custom error `errorName`. Each medvault error below is a named class
 * extending it (`class GrantRevokedError extends contractError('GrantRevoked', …) {}`), so it is a value and a
 * type, `instanceof` works, and its `name` is the literal `` `${errorName}Error` `` that narrows in a `switch`.
 *
 * @param message - the short message, or a function of the decoded arguments that returns it.
 * @param hint - what to do about it (or a function of the arguments returning that), shown first among the
 *   meta lines.
 */
function contractError<const errorName extends ContractErrorName>(
  errorName: errorName,
  message: string | ((args: ContractErrorArgs<errorName>) => string),
  hint?: string | ((args: ContractErrorArgs<errorName>) => string),
): ContractErrorClass<errorName> {
  return class extends ContractError<errorName, ContractErrorArgs<errorName>> {
    override name = `${errorName}Error` as const

    constructor(parameters: ContractErrorParameters<ContractErrorArgs<errorName>>) {
      const a = parameters.args
      super(typeof message === 'string' ? message : message(a), {
        ...parameters,
        errorName,
        ...(hint === undefined ? {} : { hint: typeof hint === 'string' ? hint : hint(a) }),
      })
    }
  }
}

/** The contract reverted with `InvalidPublicKey(length, prefix)`. */
export class InvalidPublicKeyError extends contractError(
  'InvalidPublicKey',
  (a) => `The public key is not a 33-byte compressed secp256k1 point (got ${a.length} bytes).`,
) {}
export type InvalidPublicKeyErrorType = InvalidPublicKeyError & { name: 'InvalidPublicKeyError' }

/** The contract reverted with `InvalidPublishedKey(parameter, length, prefix)`. */
export class InvalidPublishedKeyError extends contractError(
  'InvalidPublishedKey',
  (a) =>
    `The ${a.parameter} is not a 33-byte compressed secp256k1 point (got ${a.length} bytes, prefix ${a.prefix}).`,
) {}
export type InvalidPublishedKeyErrorType = InvalidPublishedKeyError & { name: 'InvalidPublishedKeyError' }

/** The contract reverted with `KeyNotPublished(account)`. */
export class KeyNotPublishedError extends contractError(
  'KeyNotPublished',
  (a) => `${a.account} has not published its public keys.`,
  'Ask the account holder to publish them (publishKeys) before granting to it.',
) {}
export type KeyNotPublishedErrorType = KeyNotPublishedError & { name: 'KeyNotPublishedError' }

/** The contract reverted with `InvalidRecordId(recordId)`. */
export class InvalidRecordIdError extends contractError(
  'InvalidRecordId',
  'The record id must not be zero.',
) {}
export type InvalidRecordIdErrorType = InvalidRecordIdError & { name: 'InvalidRecordIdError' }

/** The contract reverted with `RecordAlreadyRegistered(recordId, owner)`. */
export class RecordAlreadyRegisteredError extends contractError(
  'RecordAlreadyRegistered',
  (a) => `Record ${a.recordId} is already registered (owner ${a.owner}).`,
) {}
export type RecordAlreadyRegisteredErrorType = RecordAlreadyRegisteredError & {
  name: 'RecordAlreadyRegisteredError'
}

/** The contract reverted with `RecordNotFound(recordId)`. */
export class RecordNotFoundError extends contractError(
  'RecordNotFound',
  (a) => `No record ${a.recordId} is registered.`,
) {}
export type RecordNotFoundErrorType = RecordNotFoundError & { name: 'RecordNotFoundError' }

/** The contract reverted with `InvalidCidLength(length, maxLength)`. */
export class InvalidCidLengthError extends contractError(
  'InvalidCidLength',
  (a) => `The CID must be 1 to ${a.maxLength} bytes (got ${a.length}).`,
) {}
export type InvalidCidLengthErrorType = InvalidCidLengthError & { name: 'InvalidCidLengthError' }

/** The contract reverted with `EmptyBatch()`. */
export class EmptyBatchError extends contractError('EmptyBatch', 'A batch must hold at least one item.') {}
export type EmptyBatchErrorType = EmptyBatchError & { name: 'EmptyBatchError' }

/** The contract reverted with `Unauthorized(caller, owner, permission)`. */
export class UnauthorizedError extends contractError(
  'Unauthorized',
  (a) => `${a.caller} may not act for ${a.owner}.`,
  (a) => `It is neither the owner nor a live delegate with permission ${permissionName(a.permission)}.`,
) {}
export type UnauthorizedErrorType = UnauthorizedError & { name: 'UnauthorizedError' }

/** The contract reverted with `ZeroAddress(parameter)`. */
export class ZeroAddressError extends contractError(
  'ZeroAddress',
  (a) => `The ${a.parameter} address must not be the zero address.`,
) {}
export type ZeroAddressErrorType = ZeroAddressError & { name: 'ZeroAddressError' }

/** The contract reverted with `SelfDelegation(patient)`. */
export class SelfDelegationError extends contractError(
  'SelfDelegation',
  'An account cannot appoint itself as its own delegate.',
) {}
export type SelfDelegationErrorType = SelfDelegationError & { name: 'SelfDelegationError' }

/** The contract reverted with `InvalidPermissions(permissions)`. */
export class InvalidPermissionsError extends contractError(
  'InvalidPermissions',
  (a) =>
    `Delegate permissions must be a non-zero mask of 1 (records), 2 (grant) and 4 (revoke); got ${a.permissions}.`,
) {}
export type InvalidPermissionsErrorType = InvalidPermissionsError & { name: 'InvalidPermissionsError' }

/** The contract reverted with `ExpiryNotInFuture(timestamp, currentTime)`. */
export class ExpiryNotInFutureError extends contractError(
  'ExpiryNotInFuture',
  (a) => `The time ${a.timestamp} must lie in the future (chain time ${a.currentTime}).`,
) {}
export type ExpiryNotInFutureErrorType = ExpiryNotInFutureError & { name: 'ExpiryNotInFutureError' }

/** The contract reverted with `DelegationNotFound(patient, delegate)`. */
export class DelegationNotFoundError extends contractError(
  'DelegationNotFound',
  (a) => `${a.patient} has no delegation to ${a.delegate}.`,
) {}
export type DelegationNotFoundErrorType = DelegationNotFoundError & { name: 'DelegationNotFoundError' }

/** The contract reverted with `GrantOutlivesDelegation(delegate, expiry, delegationExpiry)`. */
export class GrantOutlivesDelegationError extends contractError(
  'GrantOutlivesDelegation',
  (a) => `A delegate's grant may not expire (${a.expiry}) after its delegation does (${a.delegationExpiry}).`,
) {}
export type GrantOutlivesDelegationErrorType = GrantOutlivesDelegationError & {
  name: 'GrantOutlivesDelegationError'
}

/** The contract reverted with `GrantNotFound(grantId)`. */
export class GrantNotFoundError extends contractError(
  'GrantNotFound',
  (a) => `No grant ${a.grantId} exists.`,
) {}
export type GrantNotFoundErrorType = GrantNotFoundError & { name: 'GrantNotFoundError' }

/** The contract reverted with `GrantAlreadyExists(grantId)`. */
export class GrantAlreadyExistsError extends contractError(
  'GrantAlreadyExists',
  (a) => `Grant ${a.grantId} already exists.`,
  'Use another salt.',
) {}
export type GrantAlreadyExistsErrorType = GrantAlreadyExistsError & { name: 'GrantAlreadyExistsError' }

/** The contract reverted with `GrantIdCancelled(grantId)`: the grant id's salt was cancelled. */
export class GrantIdCancelledError extends contractError(
  'GrantIdCancelled',
  (a) => `Grant id ${a.grantId} was cancelled: no grant can have it.`,
  'Sign the grant again with another salt.',
) {}
export type GrantIdCancelledErrorType = GrantIdCancelledError & { name: 'GrantIdCancelledError' }

/** The contract reverted with `GrantRevoked(grantId)`. */
export class GrantRevokedError extends contractError(
  'GrantRevoked',
  (a) => `Grant ${a.grantId} has been revoked.`,
) {}
export type GrantRevokedErrorType = GrantRevokedError & { name: 'GrantRevokedError' }

/** The contract reverted with `GrantExpired(grantId, expiredAt)`. */
export class GrantExpiredError extends contractError(
  'GrantExpired',
  (a) => `Grant ${a.grantId} expired at ${a.expiredAt}.`,
) {}
export type GrantExpiredErrorType = GrantExpiredError & { name: 'GrantExpiredError' }

/** The contract reverted with `GrantNotYetValid(grantId, notBefore)`. */
export class GrantNotYetValidError extends contractError(
  'GrantNotYetValid',
  (a) => `Grant ${a.grantId} is not valid before ${a.notBefore}.`,
) {}
export type GrantNotYetValidErrorType = GrantNotYetValidError & { name: 'GrantNotYetValidError' }

/** The contract reverted with `GranteeMismatch(grantId, grantee)`. */
export class GranteeMismatchError extends contractError(
  'GranteeMismatch',
  (a) => `Grant ${a.grantId} names another grantee than ${a.grantee}.`,
) {}
export type GranteeMismatchErrorType = GranteeMismatchError & { name: 'GranteeMismatchError' }

/** The contract reverted with `PurposeMismatch(grantId, purpose)`. */
export class PurposeMismatchError extends contractError(
  'PurposeMismatch',
  (a) => `Grant ${a.grantId} does not allow purpose ${purposeName(a.purpose)}.`,
) {}
export type PurposeMismatchErrorType = PurposeMismatchError & { name: 'PurposeMismatchError' }

/** The contract reverted with `RecordOutOfScope(grantId, recordId)`. */
export class RecordOutOfScopeError extends contractError(
  'RecordOutOfScope',
  (a) => `Record ${a.recordId} is not covered by grant ${a.grantId}.`,
) {}
export type RecordOutOfScopeErrorType = RecordOutOfScopeError & { name: 'RecordOutOfScopeError' }

/** The contract reverted with `InvalidPurpose(purpose)`. */
export class InvalidPurposeError extends contractError(
  'InvalidPurpose',
  (a) => `${a.purpose} is not a purpose-of-use code (1..32).`,
) {}
export type InvalidPurposeErrorType = InvalidPurposeError & { name: 'InvalidPurposeError' }

/** The contract reverted with `InvalidValidity(notBefore, expiry)`. */
export class InvalidValidityError extends contractError(
  'InvalidValidity',
  (a) => `The expiry (${a.expiry}) must be after notBefore (${a.notBefore}) and in the future.`,
) {}
export type InvalidValidityErrorType = InvalidValidityError & { name: 'InvalidValidityError' }

/** The contract reverted with `InvalidThreshold(threshold, proxies)`. */
export class InvalidThresholdError extends contractError(
  'InvalidThreshold',
  (a) => `The threshold must be 1 to the proxy set size ${a.proxies} (got ${a.threshold}).`,
) {}
export type InvalidThresholdErrorType = InvalidThresholdError & { name: 'InvalidThresholdError' }

/** The contract reverted with `UnknownProxySet(proxySetId)`. */
export class UnknownProxySetError extends contractError(
  'UnknownProxySet',
  (a) => `Proxy set ${a.proxySetId} does not exist.`,
) {}
export type UnknownProxySetErrorType = UnknownProxySetError & { name: 'UnknownProxySetError' }

/** The contract reverted with `InvalidScope(scopeKind, scopeTarget)`. */
export class InvalidScopeError extends contractError(
  'InvalidScope',
  (a) => `The grant scope (kind ${a.scopeKind}) does not fit its target.`,
) {}
export type InvalidScopeErrorType = InvalidScopeError & { name: 'InvalidScopeError' }

/** The contract reverted with `InvalidRecordSetSize(size, maxSize)`. */
export class InvalidRecordSetSizeError extends contractError(
  'InvalidRecordSetSize',
  (a) => `A record-set scope must list 1 to ${a.maxSize} records (got ${a.size}).`,
) {}
export type InvalidRecordSetSizeErrorType = InvalidRecordSetSizeError & { name: 'InvalidRecordSetSizeError' }

/** The contract reverted with `NotRecordOwner(recordId, owner, grantor)`. */
export class NotRecordOwnerError extends contractError(
  'NotRecordOwner',
  (a) => `Record ${a.recordId} is owned by ${a.owner}, not by ${a.grantor}.`,
) {}
export type NotRecordOwnerErrorType = NotRecordOwnerError & { name: 'NotRecordOwnerError' }

/** The contract reverted with `SignatureExpired(deadline, currentTime)`. */
export class SignatureExpiredError extends contractError(
  'SignatureExpired',
  (a) => `The signature's deadline ${a.deadline} has passed (chain time ${a.currentTime}).`,
  'Sign again with a later deadline.',
) {}
export type SignatureExpiredErrorType = SignatureExpiredError & { name: 'SignatureExpiredError' }

/** The contract reverted with `InvalidNonce(signer, expected, provided)`. */
export class InvalidNonceError extends contractError(
  'InvalidNonce',
  (a) =>
    `Nonce ${a.provided} is not ${a.signer}'s next nonce (${a.expected}): the signature was already used or is out of order.`,
) {}
export type InvalidNonceErrorType = InvalidNonceError & { name: 'InvalidNonceError' }

/** The contract reverted with `InvalidSignature(signer)`. */
export class InvalidSignatureError extends contractError(
  'InvalidSignature',
  (a) => `The signature is not ${a.signer}'s signature of this message.`,
) {}
export type InvalidSignatureErrorType = InvalidSignatureError & { name: 'InvalidSignatureError' }

/** The contract reverted with `NotBreakGlassGrant(grantId)`. */
export class NotBreakGlassGrantError extends contractError(
  'NotBreakGlassGrant',
  (a) => `Grant ${a.grantId} is not a break-glass grant.`,
) {}
export type NotBreakGlassGrantErrorType = NotBreakGlassGrantError & { name: 'NotBreakGlassGrantError' }

/** The contract reverted with `NotGrantee(grantId, caller)`. */
export class NotGranteeError extends contractError(
  'NotGrantee',
  (a) => `${a.caller} is not the grantee of grant ${a.grantId}.`,
) {}
export type NotGranteeErrorType = NotGranteeError & { name: 'NotGranteeError' }

/** The contract reverted with `EmergencyAccessNotActive(grantId, recordId)`. */
export class EmergencyAccessNotActiveError extends contractError(
  'EmergencyAccessNotActive',
  (a) => `No emergency access to record ${a.recordId} is running under grant ${a.grantId}.`,
) {}
export type EmergencyAccessNotActiveErrorType = EmergencyAccessNotActiveError & {
  name: 'EmergencyAccessNotActiveError'
}

/** The contract reverted with `EmergencyAccessHalted(grantId, recordId)`. */
export class EmergencyAccessHaltedError extends contractError(
  'EmergencyAccessHalted',
  (a) => `The patient halted emergency access to record ${a.recordId} under grant ${a.grantId}.`,
  'Only a new authorisation by the patient or a grant delegate (reauthorizeBreakGlass) lifts the halt.',
) {}
export type EmergencyAccessHaltedErrorType = EmergencyAccessHaltedError & {
  name: 'EmergencyAccessHaltedError'
}

/** The contract reverted with `EmergencyAccessNotHalted(grantId, recordId)`. */
export class EmergencyAccessNotHaltedError extends contractError(
  'EmergencyAccessNotHalted',
  (a) => `Emergency access to record ${a.recordId} under grant ${a.grantId} is not halted.`,
) {}
export type EmergencyAccessNotHaltedErrorType = EmergencyAccessNotHaltedError & {
  name: 'EmergencyAccessNotHaltedError'
}

/** The contract reverted with `EmergencyAccessAlreadyActive(grantId, recordId, endsAt)`. */
export class EmergencyAccessAlreadyActiveError extends contractError(
  'EmergencyAccessAlreadyActive',
  (a) =>
    `An emergency access to record ${a.recordId} under grant ${a.grantId} is already running (until ${a.endsAt}).`,
  'One window runs at a time per record: end it (endEmergencyAccess) or let it lapse first.',
) {}
export type EmergencyAccessAlreadyActiveErrorType = EmergencyAccessAlreadyActiveError & {
  name: 'EmergencyAccessAlreadyActiveError'
}

/** The contract reverted with `BreakGlassWindowsExhausted(grantId, maxWindows)`. */
export class BreakGlassWindowsExhaustedError extends contractError(
  'BreakGlassWindowsExhausted',
  (a) => `Grant ${a.grantId} has opened all ${a.maxWindows} emergency-access windows it may.`,
  'The patient must authorise a new break-glass grant (authorizeBreakGlass).',
) {}
export type BreakGlassWindowsExhaustedErrorType = BreakGlassWindowsExhaustedError & {
  name: 'BreakGlassWindowsExhaustedError'
}

/** The contract reverted with `InvalidBreakGlassDuration(duration, maxDuration)`. */
export class InvalidBreakGlassDurationError extends contractError(
  'InvalidBreakGlassDuration',
  (a) => `The break-glass time box must be 1 to ${a.maxDuration} seconds (got ${a.duration}).`,
) {}
export type InvalidBreakGlassDurationErrorType = InvalidBreakGlassDurationError & {
  name: 'InvalidBreakGlassDurationError'
}

/** The contract reverted with `ProxyAlreadyRegistered(operator)`. */
export class ProxyAlreadyRegisteredError extends contractError(
  'ProxyAlreadyRegistered',
  (a) => `${a.operator} already has a proxy (active or retired).`,
) {}
export type ProxyAlreadyRegisteredErrorType = ProxyAlreadyRegisteredError & {
  name: 'ProxyAlreadyRegisteredError'
}

/** The contract reverted with `ProxyNotActive(operator)`. */
export class ProxyNotActiveError extends contractError(
  'ProxyNotActive',
  (a) => `${a.operator} has no active proxy.`,
) {}
export type ProxyNotActiveErrorType = ProxyNotActiveError & { name: 'ProxyNotActiveError' }

/** The contract reverted with `InvalidEndpointLength(length, maxLength)`. */
export class InvalidEndpointLengthError extends contractError(
  'InvalidEndpointLength',
  (a) => `The endpoint URL must be 1 to ${a.maxLength} bytes (got ${a.length}).`,
) {}
export type InvalidEndpointLengthErrorType = InvalidEndpointLengthError & {
  name: 'InvalidEndpointLengthError'
}

/** The contract reverted with `InvalidProxySetSize(size, maxSize)`. */
export class InvalidProxySetSizeError extends contractError(
  'InvalidProxySetSize',
  (a) => `A proxy set must have 1 to ${a.maxSize} members (got ${a.size}).`,
) {}
export type InvalidProxySetSizeErrorType = InvalidProxySetSizeError & { name: 'InvalidProxySetSizeError' }

/** The contract reverted with `DuplicateProxy(operator)`. */
export class DuplicateProxyError extends contractError(
  'DuplicateProxy',
  (a) => `${a.operator} appears twice in the proxy set.`,
) {}
export type DuplicateProxyErrorType = DuplicateProxyError & { name: 'DuplicateProxyError' }

/** The contract reverted with `ProxySetNotFound(setId)`. */
export class ProxySetNotFoundError extends contractError(
  'ProxySetNotFound',
  (a) => `Proxy set ${a.setId} does not exist.`,
) {}
export type ProxySetNotFoundErrorType = ProxySetNotFoundError & { name: 'ProxySetNotFoundError' }

/** The contract reverted with `NotActiveProxy(caller)`. */
export class NotActiveProxyError extends contractError(
  'NotActiveProxy',
  (a) => `${a.caller} is not an active proxy operator.`,
) {}
export type NotActiveProxyErrorType = NotActiveProxyError & { name: 'NotActiveProxyError' }

/** The contract reverted with `InvalidRoot(root)`. */
export class InvalidRootError extends contractError('InvalidRoot', 'The Merkle root must not be zero.') {}
export type InvalidRootErrorType = InvalidRootError & { name: 'InvalidRootError' }

/** The contract reverted with `RootAlreadyAnchored(root, proxy)`. */
export class RootAlreadyAnchoredError extends contractError(
  'RootAlreadyAnchored',
  (a) => `Root ${a.root} is already anchored (by ${a.proxy}).`,
) {}
export type RootAlreadyAnchoredErrorType = RootAlreadyAnchoredError & { name: 'RootAlreadyAnchoredError' }

/** The contract reverted with `InvalidReceiptCount(count)`. */
export class InvalidReceiptCountError extends contractError(
  'InvalidReceiptCount',
  'The receipt count must not be zero.',
) {}
export type InvalidReceiptCountErrorType = InvalidReceiptCountError & { name: 'InvalidReceiptCountError' }

/** The contract reverted with `InvalidTimeRange(fromTime, toTime, currentTime)`. */
export class InvalidTimeRangeError extends contractError(
  'InvalidTimeRange',
  (a) =>
    `The receipt time range ${a.fromTime}..${a.toTime} is reversed or ends in the future (chain time ${a.currentTime}).`,
) {}
export type InvalidTimeRangeErrorType = InvalidTimeRangeError & { name: 'InvalidTimeRangeError' }

/** The contract reverted with `AnchorNotFound(proxy, root)`. */
export class AnchorNotFoundError extends contractError(
  'AnchorNotFound',
  (a) => `Proxy ${a.proxy} never anchored root ${a.root}.`,
) {}
export type AnchorNotFoundErrorType = AnchorNotFoundError & { name: 'AnchorNotFoundError' }

/** The contract reverted with `NotAdmin(caller)`. */
export class NotAdminError extends contractError(
  'NotAdmin',
  (a) => `${a.caller} is not the dataset registry's admin.`,
) {}
export type NotAdminErrorType = NotAdminError & { name: 'NotAdminError' }

/** The contract reverted with `NotSteward(caller)`. */
export class NotStewardError extends contractError(
  'NotSteward',
  (a) => `${a.caller} is not an approved data steward.`,
) {}
export type NotStewardErrorType = NotStewardError & { name: 'NotStewardError' }

/** The contract reverted with `DatasetAlreadyRegistered(datasetId)`. */
export class DatasetAlreadyRegisteredError extends contractError(
  'DatasetAlreadyRegistered',
  (a) => `Dataset ${a.datasetId} is already registered.`,
) {}
export type DatasetAlreadyRegisteredErrorType = DatasetAlreadyRegisteredError & {
  name: 'DatasetAlreadyRegisteredError'
}

/** The contract reverted with `DatasetNotFound(datasetId)`. */
export class DatasetNotFoundError extends contractError(
  'DatasetNotFound',
  (a) => `No dataset ${a.datasetId} is registered.`,
) {}
export type DatasetNotFoundErrorType = DatasetNotFoundError & { name: 'DatasetNotFoundError' }

/** The contract reverted with `InvalidLicenceLength(length, maxLength)`. */
export class InvalidLicenceLengthError extends contractError(
  'InvalidLicenceLength',
  (a) => `The licence must be 1 to ${a.maxLength} bytes (got ${a.length}).`,
) {}
export type InvalidLicenceLengthErrorType = InvalidLicenceLengthError & { name: 'InvalidLicenceLengthError' }

/** The contract reverted with `ZeroHash(parameter)`. */
export class ZeroHashError extends contractError(
  'ZeroHash',
  (a) => `The ${a.parameter} hash must not be zero.`,
) {}
export type ZeroHashErrorType = ZeroHashError & { name: 'ZeroHashError' }

/** The contract reverted with `SnapshotBlockNotInPast(snapshotBlock, currentBlock)`. */
export class SnapshotBlockNotInPastError extends contractError(
  'SnapshotBlockNotInPast',
  (a) => `The consent snapshot block ${a.snapshotBlock} must be before the current block ${a.currentBlock}.`,
) {}
export type SnapshotBlockNotInPastErrorType = SnapshotBlockNotInPastError & {
  name: 'SnapshotBlockNotInPastError'
}

/**
 * Every medvault custom error name and the class a revert with it becomes (`toMedvaultError` looks the decoded
 * name up here). Checked against the ABIs when it compiles: a custom error with no entry, or an entry whose class
 * is for another error, does not build.
 */
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
} as const satisfies { readonly [errorName in ContractErrorName]: ContractErrorClass<errorName> }

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
