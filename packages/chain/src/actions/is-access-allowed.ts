import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { encodePurpose, type Purpose } from '../encoding.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type IsAccessAllowedParameters = MedvaultContractsParameter & {
  grantId: Hex
  recordId: Hex
  grantee: Address
  purpose: Purpose | number
  /** Ask at this block (e.g. a proxy pinning its decision to the block it checked). Default: latest. */
  blockNumber?: bigint | undefined
}

export type IsAccessAllowedReturnType = boolean

export type IsAccessAllowedErrorType = ActionErrorType

/**
 * Whether `grantee` may read `recordId` for `purpose` under `grantId` now: the grant exists, is not revoked,
 * is within `notBefore..expiry`, names this grantee and purpose, and its scope covers the record, which is
 * still owned by the grantor. Proxies call this before every re-encryption. For the reason of a refusal use
 * {@link checkAccess}.
 */
export async function isAccessAllowed(
  client: ReadClient,
  parameters: IsAccessAllowedParameters,
): Promise<IsAccessAllowedReturnType> {
  return read(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'isAccessAllowed',
    args: [parameters.grantId, parameters.recordId, parameters.grantee, encodePurpose(parameters.purpose)],
    ...(parameters.blockNumber === undefined ? {} : { blockNumber: parameters.blockNumber }),
  })
}
