import { datasetRegistryAbi } from '@medvault/contracts'
import type { Address } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { NotAdminErrorType, ZeroAddressErrorType } from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type SetStewardParameters = MedvaultContractsParameter &
  WriteParameters & {
    steward: Address
    /** `true` approves, `false` removes. */
    approved: boolean
  }

export type SetStewardReturnType = WriteReturnType

export type SetStewardErrorType = NotAdminErrorType | ZeroAddressErrorType | ActionErrorType

/** The dataset registry's admin approves or removes a data steward. */
export async function setSteward(
  client: WriteClient,
  parameters: SetStewardParameters,
): Promise<SetStewardReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.datasetRegistry,
    abi: datasetRegistryAbi,
    functionName: 'setSteward',
    args: [parameters.steward, parameters.approved],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
