import { consentRegistryAbi } from '@medvault/contracts'
import type { Address } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { ProxySetNotFoundErrorType } from '../errors.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetProxySetParameters = MedvaultContractsParameter & { setId: number }

/** The members, in kfrag order. */
export type GetProxySetReturnType = readonly Address[]

export type GetProxySetErrorType = ProxySetNotFoundErrorType | ActionErrorType

/**
 * The members of a proxy set.
 *
 * @throws {ProxySetNotFoundError} when the set does not exist.
 */
export async function getProxySet(
  client: ReadClient,
  parameters: GetProxySetParameters,
): Promise<GetProxySetReturnType> {
  return read(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'proxySetMembers',
    args: [parameters.setId],
  })
}
