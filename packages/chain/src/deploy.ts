import {
  auditAnchorsAbi,
  auditAnchorsBytecode,
  consentRegistryAbi,
  consentRegistryBytecode,
  datasetRegistryAbi,
  datasetRegistryBytecode,
  keyRegistryAbi,
  keyRegistryBytecode,
  proxyRegistryAbi,
  proxyRegistryBytecode,
} from '@medvault/contracts'
import { type Address, getContractAddress, type Hash } from 'viem'
import { deployContract, getTransactionCount, waitForTransactionReceipt } from 'viem/actions'
import { parseAccount } from 'viem/utils'
import type { MedvaultAddresses } from './addresses.ts'
import { AbortError, AccountRequiredError, DeploymentFailedError } from './errors.ts'
import { abortable, type WriteClient, type WriteParameters } from './internal.ts'

export type DeployMedvaultProgressEvent = {
  type: 'deploy:sent' | 'deploy:mined'
  contract: keyof MedvaultAddresses
  hash: Hash
}

export interface DeployMedvaultParameters extends WriteParameters {
  /** Admin of the DatasetRegistry (approves data stewards). Default: the deployer. */
  datasetAdmin?: Address | undefined
  /** Polling interval (ms) while waiting for receipts. Default: the client's. */
  pollingInterval?: number | undefined
  onProgress?: ((event: DeployMedvaultProgressEvent) => void) | undefined
}

export interface DeployMedvaultReturnType {
  addresses: MedvaultAddresses
  /** The block of the last deployment transaction: followers can start here. */
  blockNumber: bigint
  /** Deployment transaction hashes. */
  hashes: Record<keyof MedvaultAddresses, Hash>
}

export type DeployMedvaultErrorType = DeploymentFailedError | AccountRequiredError | AbortError

/**
 * Deploys every medvault contract from `@medvault/contracts`, in dependency order, with one account.
 *
 * The five creations are sent back to back with consecutive nonces (the dependent contracts' addresses are
 * computed from the deployer's address and nonce), then all receipts are awaited: one round of block time,
 * not five. Works on any EVM chain the wallet client can reach.
 *
 * @example
 * ```ts
 * const wallet = createWalletClient({ account, chain: sepolia, transport: http(RPC_URL) })
 * const { addresses, blockNumber } = await deployMedvault(wallet)
 * ```
 *
 * @throws {DeploymentFailedError} when a creation transaction reverts or yields no contract.
 */
export async function deployMedvault(
  client: WriteClient,
  parameters: DeployMedvaultParameters = {},
): Promise<DeployMedvaultReturnType> {
  const accountLike = parameters.account ?? client.account
  if (accountLike === undefined) throw new AccountRequiredError('deployMedvault')
  const account = parseAccount(accountLike)
  const from = account.address
  const nonce = await getTransactionCount(client, { address: from, blockTag: 'pending' })
  const at = (offset: number): Address => getContractAddress({ from, nonce: BigInt(nonce + offset) })
  const addresses: MedvaultAddresses = {
    keyRegistry: at(0),
    proxyRegistry: at(1),
    consentRegistry: at(2),
    auditAnchors: at(3),
    datasetRegistry: at(4),
  }
  const plan = [
    { contract: 'keyRegistry', abi: keyRegistryAbi, bytecode: keyRegistryBytecode, args: [] },
    { contract: 'proxyRegistry', abi: proxyRegistryAbi, bytecode: proxyRegistryBytecode, args: [] },
    {
      contract: 'consentRegistry',
      abi: consentRegistryAbi,
      bytecode: consentRegistryBytecode,
      args: [addresses.proxyRegistry],
    },
    {
      contract: 'auditAnchors',
      abi: auditAnchorsAbi,
      bytecode: auditAnchorsBytecode,
      args: [addresses.proxyRegistry],
    },
    {
      contract: 'datasetRegistry',
      abi: datasetRegistryAbi,
      bytecode: datasetRegistryBytecode,
      args: [parameters.datasetAdmin ?? from],
    },
  ] as const

  const { signal } = parameters
  const hashes = {} as Record<keyof MedvaultAddresses, Hash>
  for (const [i, step] of plan.entries()) {
    // Contracts already sent may still be mined; an abort only stops sending the rest and waiting.
    if (signal?.aborted === true) throw new AbortError({ cause: signal.reason })
    const hash = await deployContract(client, {
      abi: step.abi,
      bytecode: step.bytecode,
      args: step.args,
      account: accountLike,
      chain: client.chain,
      nonce: nonce + i,
    } as unknown as Parameters<typeof deployContract>[1])
    hashes[step.contract] = hash
    parameters.onProgress?.({ type: 'deploy:sent', contract: step.contract, hash })
  }
  let blockNumber = 0n
  for (const step of plan) {
    const receipt = await abortable(signal, hashes[step.contract], () =>
      waitForTransactionReceipt(client, {
        hash: hashes[step.contract],
        ...(parameters.pollingInterval === undefined ? {} : { pollingInterval: parameters.pollingInterval }),
      }),
    )
    if (
      receipt.status !== 'success' ||
      receipt.contractAddress?.toLowerCase() !== addresses[step.contract].toLowerCase()
    ) {
      throw new DeploymentFailedError(step.contract, receipt.transactionHash)
    }
    if (receipt.blockNumber > blockNumber) blockNumber = receipt.blockNumber
    parameters.onProgress?.({ type: 'deploy:mined', contract: step.contract, hash: receipt.transactionHash })
  }
  return { addresses, blockNumber, hashes }
}
