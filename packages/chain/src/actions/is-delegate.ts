import { consentRegistryAbi } from '@medvault/contracts'
import type { Address } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'
import { type DelegatePermission, encodePermissions } from './appoint-delegate.ts'

export type IsDelegateParameters = MedvaultContractsParameter & {
  patient: Address
  delegate: Address
  /** Every one of these must be held. */
  permissions: readonly DelegatePermission[] | number
}

export type IsDelegateReturnType = boolean

export type IsDelegateErrorType = ActionErrorType

/** Whether `delegate` may act for `patient` with all of `permissions` right now. */
export async function isDelegate(
  client: ReadClient,
  parameters: IsDelegateParameters,
): Promise<IsDelegateReturnType> {
  return read(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'isDelegate',
    args: [parameters.patient, parameters.delegate, encodePermissions(parameters.permissions)],
  })
}
