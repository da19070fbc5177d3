import { consentRegistryAbi } from '@medvault/contracts'
import type { Address } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { DelegationNotFoundErrorType } from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type RemoveDelegateParameters = MedvaultContractsParameter & WriteParameters & { delegate: Address }

export type RemoveDelegateReturnType = WriteReturnType

export type RemoveDelegateErrorType = DelegationNotFoundErrorType | ActionErrorType

/** Removes the sender's delegation to `delegate` at once. */
export async function removeDelegate(
  client: WriteClient,
  parameters: RemoveDelegateParameters,
): Promise<RemoveDelegateReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'removeDelegate',
    args: [parameters.delegate],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
