import { consentRegistryAbi } from '@medvault/contracts'
import type { Address } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'
import { type DelegatePermission, decodePermissions } from './appoint-delegate.ts'

export type GetDelegationParameters = MedvaultContractsParameter & { patient: Address; delegate: Address }

/** The stored delegation, or `undefined` when there is none. It may have expired: compare `expiry` to chain time. */
export type GetDelegationReturnType = { permissions: DelegatePermission[]; expiry: number } | undefined

export type GetDelegationErrorType = ActionErrorType

/** The terms a patient gave a delegate. */
export async function getDelegation(
  client: ReadClient,
  parameters: GetDelegationParameters,
): Promise<GetDelegationReturnType> {
  const d = await read(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'getDelegation',
    args: [parameters.patient, parameters.delegate],
  })
  return d.permissions === 0 ? undefined : { permissions: decodePermissions(d.permissions), expiry: d.expiry }
}
