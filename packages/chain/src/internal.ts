import {
  auditAnchorsAbi,
  consentRegistryAbi,
  datasetRegistryAbi,
  keyRegistryAbi,
  proxyRegistryAbi,
} from '@medvault/contracts'
import type {
  Abi,
  Account,
  Address,
  Chain,
  Client,
  ContractFunctionArgs,
  ContractFunctionName,
  ContractFunctionReturnType,
  Hash,
  Log,
  TransactionReceipt,
  Transport,
} from 'viem'
import {
  ContractFunctionRevertedError,
  encodeFunctionData,
  keccak256,
  NonceTooLowError,
  TransactionNotFoundError,
  BaseError as ViemBaseError,
} from 'viem'
import {
  getTransaction,
  prepareTransactionRequest,
  readContract,
  sendRawTransaction,
  simulateContract,
  waitForTransactionReceipt,
  writeContract,
} from 'viem/actions'
import { parseAccount } from 'viem/utils'
import {
  AbortError,
  type AbortErrorType,
  AccountRequiredError,
  type AccountRequiredErrorType,
  TransactionOutcomeUnknownError,
  type TransactionOutcomeUnknownErrorType,
  TransactionRevertedError,
  type TransactionRevertedErrorType,
  toMedvaultError,
  type UnknownContractErrorType,
} from './errors.ts'

/** Any viem client: actions that only read need a transport and nothing else. */
export type ReadClient = Client<Transport, Chain | undefined, Account | undefined>

/** A client that sends transactions: a wallet client, with an account attached or passed per call. */
export type WriteClient = Client<Transport, Chain | undefined, Account | undefined>

/** Options every state-changing action takes. */
export interface WriteParameters {
  /** The sender; default: the client's account. */
  account?: Account | Address | undefined
  /**
   * Wait until the transaction is mined (default `true`), so that the next call sees its effect, and throw
   * `TransactionRevertedError` if it reverted in its block. `false` returns as soon as it is sent.
   */
  waitForReceipt?: boolean | undefined
  /**
   * Cancels the action with `AbortError`. Aborted before the transaction is sent, nothing is sent. A sent
   * transaction cannot be recalled: an abort then only stops the wait for its receipt, and the `AbortError`
   * carries the `hash` of a transaction that may still be mined (as `TransactionOutcomeUnknownError` does for a
   * send or a receipt wait that fails).
   */
  signal?: AbortSignal | undefined
}

/**
 * Work a write can overlap: the registering actions take it, so that storing what they register runs alongside
 * the simulation and the fill.
 */
export interface WorkAheadParameters {
  /**
   * Work the transaction depends on (storing what it registers, say), run while the call is simulated and, for
   * a local account, its gas is estimated (and, for one without a nonce manager, its nonce and fees read), so
   * that its time overlaps those round trips (fees read more than two seconds before it resolves are read again
   * at the send: they move with every block). Nothing is sent until it has resolved; if it rejects, or the
   * simulation fails, nothing is sent and the first error (the simulation's) is thrown once all have settled.
   * If another sender of the same key spent the nonce meanwhile, the node refuses the send and it is filled
   * and sent once more.
   */
  beforeSend?: (() => Promise<unknown>) | undefined
}

/** What every state-changing action returns at least. */
export interface WriteReturnType {
  /** The transaction hash. */
  hash: Hash
  /** The receipt, unless `waitForReceipt: false`. */
  receipt: TransactionReceipt | undefined
}

/** Every custom error of every medvault contract, so a revert bubbling up from any of them decodes. */
const allErrors = [consentRegistryAbi, keyRegistryAbi, proxyRegistryAbi, auditAnchorsAbi, datasetRegistryAbi]
  .flat()
  .filter((item) => item.type === 'error')

function withAllErrors(abi: Abi): Abi {
  return [...abi, ...allErrors] as Abi
}

/**
 * A prefilled nonce and fees older than this are not sent: fees move with every block (viem's estimate leaves
 * room for one block's rise), so a transaction signed ahead of long work is filled again at its send.
 */
const FILL_FRESH_MS = 2_000

/**
 * Simulates, then sends, a contract call. Simulating first turns a revert into its domain error before any
 * gas is spent, and gives the function's return value.
 */
export async function write<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(
  client: WriteClient,
  call: {
    address: Address
    abi: abi
    functionName: functionName
    args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>
  } & WriteParameters &
    WorkAheadParameters,
): Promise<
  WriteReturnType & { result: ContractFunctionReturnType<abi, 'nonpayable' | 'payable', functionName> }
> {
  const account = call.account ?? client.account
  if (account === undefined) throw new AccountRequiredError(call.functionName)
  const { signal } = call
  try {
    const abi = withAllErrors(call.abi)
    const { beforeSend } = call
    const work = beforeSend === undefined ? undefined : Promise.resolve().then(beforeSend)
    work?.catch(() => {})
    const simulation = abortable(signal, undefined, () =>
      simulateContract(client, {
        address: call.address,
        abi,
        functionName: call.functionName,
        args: call.args,
        account,
        chain: client.chain,
      } as unknown as Parameters<typeof simulateContract>[1]),
    )
    // While the caller's work runs on, a local account's transaction is filled (gas estimated; for an account
    // without a nonce manager, nonce and fees taken too), alongside the simulation rather than after it, so that
    // only signing and sending wait for the work. An account with a nonce manager leaves nonce and fees to the
    // send: a nonce the manager handed out now would be spent even if the work then failed, and every later
    // transaction of the account would wait behind the gap. A nonce read here can be taken meanwhile by another
    // process sending from the same key: the node then refuses the send as "nonce too low" (nothing went out)
    // and it is filled and sent once more. A fill that fails is left to the send.
    const sender = parseAccount(account)
    const prefill: ('chainId' | 'gas' | 'nonce' | 'fees')[] =
      sender.type !== 'local'
        ? []
        : sender.nonceManager === undefined
          ? ['chainId', 'gas', 'nonce', 'fees']
          : ['chainId', 'gas']
    const filled =
      work === undefined || prefill.length === 0
        ? undefined
        : Promise.resolve()
            .then(async () => {
              const fill = await prepareTransactionRequest(client, {
                account,
                chain: client.chain,
                parameters: prefill,
                to: call.address,
                data: encodeFunctionData({
                  abi,
                  functionName: call.functionName,
                  args: call.args,
                } as Parameters<typeof encodeFunctionData>[0]),
              } as unknown as Parameters<typeof prepareTransactionRequest>[1])
              return { fill, at: performance.now() }
            })
            .catch(() => undefined)
    // A transaction filled whole is signed too while the work runs (signing sends nothing): once the work is
    // done, only the raw send is left. Not for a client that appends a data suffix or a chain that wraps
    // signed transactions: the send builds those itself.
    const sign = sender.signTransaction
    const signed =
      filled === undefined ||
      sign === undefined ||
      client.dataSuffix !== undefined ||
      client.chain?.serializers?.transactionEnvelope !== undefined
        ? undefined
        : Promise.all([simulation, filled])
            .then(([, prefilled]) =>
              prefilled === undefined || filledFields(prefilled.fill).nonce === undefined
                ? undefined
                : sign(
                    prefilled.fill as Parameters<typeof sign>[0],
                    {
                      serializer: client.chain?.serializers?.transaction,
                    } as Parameters<typeof sign>[1],
                  ),
            )
            .catch(() => undefined)
    // All settle before this returns or throws: a failed simulation never leaves the caller's work running.
    const [simulated, prepared, fill, signature] = await Promise.allSettled([
      simulation,
      work,
      filled,
      signed,
    ])
    if (simulated.status === 'rejected') throw simulated.reason
    if (prepared.status === 'rejected') throw prepared.reason
    const { request, result } = simulated.value
    const prefilled = fill.status === 'fulfilled' ? fill.value : undefined
    const filledAll = prefilled === undefined ? {} : filledFields(prefilled.fill)
    // Fees move with every block (viem's estimate leaves room for one block's rise): a transaction signed ahead
    // of work that took longer than FILL_FRESH_MS is not sent, and the send fills nonce and fees afresh.
    const fresh = prefilled !== undefined && performance.now() - prefilled.at <= FILL_FRESH_MS
    const serializedTransaction = signature.status === 'fulfilled' && fresh ? signature.value : undefined
    // A nonce and fees go out only in the transaction signed with them: a send that fills and signs itself
    // takes its own (a nonce read earlier could be stale there, and its refusal would not be told apart).
    const fields = serializedTransaction === undefined ? gasOnly(filledAll) : filledAll
    // The simulated request carries only the function's ABI item; keep every error so that a revert at gas
    // estimation (state changed since the simulation) still decodes.
    // Last point at which an abort leaves nothing behind; the send itself is not raced (it may already be out).
    if (signal?.aborted === true) throw new AbortError({ cause: signal.reason })
    // From here on the transaction may be out. A failure of the send cannot be told apart from a lost answer
    // (a time-out, a dropped connection, a gateway's error after the node took it), so it is reported as of
    // unknown outcome: a caller that undid its work now (unpinned what the call registers) could leave a mined
    // transaction pointing at nothing. Only a decoded revert (at the send's own gas estimation) says nothing
    // went out: a node that takes a transaction into its pool does not answer with revert data.
    const send = (with_: Record<string, unknown>) =>
      writeContract(client, { ...request, ...with_, abi } as unknown as Parameters<typeof writeContract>[1])
    let hash: Hash
    // A transaction signed ahead has its hash before the send: a send whose answer is lost can still be followed.
    let signedHash: Hash | undefined
    // Revert data in a send's error says nothing went out only when the send estimated gas itself (the node ran
    // the call): a send with its gas given, or a raw send, is refused with revert data by no honest node.
    const estimatedInSend = serializedTransaction === undefined && fields.gas === undefined
    // Set when a transaction signed ahead was refused as already used and another was sent in its place: if the
    // first did go out after all (a node that lagged when asked), the second's failure proves nothing.
    let replaced: Hash | undefined
    try {
      try {
        if (serializedTransaction === undefined) hash = await send(fields)
        else {
          signedHash = keccak256(serializedTransaction)
          hash = await sendRawTransaction(client, { serializedTransaction })
        }
      } catch (err) {
        if (signedHash === undefined || fields.nonce === undefined || !isStaleNonce(err)) throw err
        // "Nonce too low" also answers a resend of this very transaction: a transport that retried a send whose
        // first answer was lost (viem's http transport retries a time-out). Sending anew then would register
        // twice, or revert and have the caller undo what the first one registered. Only a node that does not
        // know the signed transaction says it never went out; one that cannot be asked says nothing.
        const known = await knowsTransaction(client, signedHash)
        if (known === undefined) throw err
        if (known) hash = signedHash
        else {
          // Refused: that transaction never went out, as far as this node knows; the one sent now is signed
          // by the send.
          replaced = signedHash
          signedHash = undefined
          hash = await send(gasOnly(fields))
        }
      }
    } catch (err) {
      if (estimatedInSend && replaced === undefined && hasRevertData(err)) throw err
      throw new TransactionOutcomeUnknownError({
        functionName: call.functionName,
        hash: signedHash ?? replaced,
        stage: 'send',
        cause: err,
      })
    }
    let receipt: TransactionReceipt | undefined
    if (call.waitForReceipt !== false) {
      try {
        receipt = await abortable(signal, hash, () => waitForTransactionReceipt(client, { hash }))
      } catch (err) {
        // An abort says the same (it carries the hash) and keeps its name for callers that switch on it.
        if (err instanceof AbortError) throw err
        throw new TransactionOutcomeUnknownError({
          functionName: call.functionName,
          hash,
          stage: 'receipt',
          cause: err,
        })
      }
      if (receipt.status !== 'success') {
        // The replacement reverting (say, "already registered") may be the replaced one's doing.
        if (replaced !== undefined) {
          throw new TransactionOutcomeUnknownError({
            functionName: call.functionName,
            hash: replaced,
            stage: 'receipt',
            cause: new TransactionRevertedError(call.functionName, hash),
          })
        }
        throw new TransactionRevertedError(call.functionName, hash)
      }
    }
    return {
      hash,
      receipt,
      result: result as ContractFunctionReturnType<abi, 'nonpayable' | 'payable', functionName>,
    }
  } catch (err) {
    throw toMedvaultError(err)
  }
}

/** Whether the node knows the transaction (pending or mined); `undefined` when it cannot be asked. */
async function knowsTransaction(client: WriteClient, hash: Hash): Promise<boolean | undefined> {
  try {
    await getTransaction(client, { hash })
    return true
  } catch (err) {
    return err instanceof TransactionNotFoundError ? false : undefined
  }
}

/** The chain id and gas of filled fields, without nonce or fees (none when the gas was not filled). */
function gasOnly(fields: Record<string, unknown>): Record<string, unknown> {
  const { chainId, gas } = fields
  return chainId === undefined || gas === undefined ? {} : { chainId, gas }
}

/** True when `error` holds a revert with revert data (a selector at least): the node ran the call and refused it. */
function hasRevertData(error: unknown): boolean {
  if (!(error instanceof ViemBaseError)) return false
  // viem also turns an "internal error" answer without data into ContractFunctionRevertedError: that one says
  // nothing about whether the transaction went out.
  const reverted = error.walk(
    (e) => e instanceof ContractFunctionRevertedError,
  ) as ContractFunctionRevertedError | null
  return (
    reverted !== null &&
    (reverted.data !== undefined || (reverted.raw !== undefined && reverted.raw.length >= 10))
  )
}

/** The filled fields of a prepared transaction that spare the send its own fill. */
function filledFields(prepared: {
  chainId?: number | undefined
  gas?: bigint | undefined
  nonce?: number | undefined
  type?: string | undefined
  gasPrice?: bigint | undefined
  maxFeePerGas?: bigint | undefined
  maxPriorityFeePerGas?: bigint | undefined
}): Record<string, unknown> {
  if (typeof prepared.gas !== 'bigint' || typeof prepared.chainId !== 'number') return {}
  const fields: Record<string, unknown> = { chainId: prepared.chainId, gas: prepared.gas }
  if (typeof prepared.nonce !== 'number') return fields
  // A nonce only with its fees, of one transaction type: a send given a nonce and no fees would fill them.
  if (prepared.type === 'eip1559' && typeof prepared.maxFeePerGas === 'bigint') {
    return {
      ...fields,
      nonce: prepared.nonce,
      type: prepared.type,
      maxFeePerGas: prepared.maxFeePerGas,
      maxPriorityFeePerGas: prepared.maxPriorityFeePerGas,
    }
  }
  if (prepared.type === 'legacy' && typeof prepared.gasPrice === 'bigint') {
    return { ...fields, nonce: prepared.nonce, type: prepared.type, gasPrice: prepared.gasPrice }
  }
  return fields
}

/**
 * True when the node refused a send because its nonce was already used (by a transaction sent from the same key
 * since the nonce was read): nothing went out, and a send with a fresh nonce is safe.
 */
function isStaleNonce(error: unknown): boolean {
  if (!(error instanceof ViemBaseError)) return false
  return (
    error.walk(
      (e) =>
        e instanceof NonceTooLowError ||
        /replacement transaction underpriced|nonce too low/i.test((e as Error).message ?? ''),
    ) !== null
  )
}

/**
 * Runs `run` unless `signal` is already aborted, and rejects with `AbortError` as soon as it aborts. The
 * underlying request is left to settle on its own (viem's calls take no signal); its outcome is then ignored.
 */
export function abortable<T>(
  signal: AbortSignal | undefined,
  hash: Hash | undefined,
  run: () => Promise<T>,
): Promise<T> {
  if (signal === undefined) return run()
  if (signal.aborted) return Promise.reject(new AbortError({ cause: signal.reason, hash }))
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError({ cause: signal.reason, hash }))
    signal.addEventListener('abort', onAbort, { once: true })
    run().then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/** The logs `address` emitted in `receipt` (none without a receipt), for decoding what a write really did. */
export function logsOf(receipt: TransactionReceipt | undefined, address: Address): Log[] {
  if (receipt === undefined) return []
  const target = address.toLowerCase()
  return receipt.logs.filter((log) => log.address.toLowerCase() === target)
}

/** Reads a view function; a revert becomes its domain error. */
export async function read<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, 'view' | 'pure'>,
>(
  client: ReadClient,
  call: {
    address: Address
    abi: abi
    functionName: functionName
    args: ContractFunctionArgs<abi, 'view' | 'pure', functionName>
    blockNumber?: bigint
  },
): Promise<ContractFunctionReturnType<abi, 'view' | 'pure', functionName>> {
  try {
    return (await readContract(client, {
      address: call.address,
      abi: withAllErrors(call.abi),
      functionName: call.functionName,
      args: call.args,
      ...(call.blockNumber === undefined ? {} : { blockNumber: call.blockNumber }),
    } as unknown as Parameters<typeof readContract>[1])) as ContractFunctionReturnType<
      abi,
      'view' | 'pure',
      functionName
    >
  } catch (err) {
    throw toMedvaultError(err)
  }
}

/** Errors any action may throw besides its domain errors: no account, an unmapped revert, or a transport error. */
export type ActionErrorType =
  | AbortErrorType
  | AccountRequiredErrorType
  | TransactionOutcomeUnknownErrorType
  | TransactionRevertedErrorType
  | UnknownContractErrorType
  | (Error & { name: 'HttpRequestError' | 'TimeoutError' | 'RpcRequestError' | 'InsufficientFundsError' })
