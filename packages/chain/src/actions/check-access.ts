import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { encodePurpose, type Purpose } from '../encoding.ts'
import type {
  GrantExpiredErrorType,
  GranteeMismatchErrorType,
  GrantNotFoundErrorType,
  GrantNotYetValidErrorType,
  GrantRevokedErrorType,
  PurposeMismatchErrorType,
  RecordOutOfScopeErrorType,
} from '../errors.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type CheckAccessParameters = MedvaultContractsParameter & {
  grantId: Hex
  recordId: Hex
  grantee: Address
  purpose: Purpose | number
  blockNumber?: bigint | undefined
}

export type CheckAccessReturnType = undefined

export type CheckAccessErrorType =
  | GrantNotFoundErrorType
  | GrantRevokedErrorType
  | GrantExpiredErrorType
  | GrantNotYetValidErrorType
  | GranteeMismatchErrorType
  | PurposeMismatchErrorType
  | RecordOutOfScopeErrorType
  | ActionErrorType

/**
 * Like {@link isAccessAllowed}, but throws the reason of a refusal (`GrantRevokedError`, `GrantExpiredError`,
 * `RecordOutOfScopeError`, …) and resolves when access is allowed.
 */
export async function checkAccess(
  client: ReadClient,
  parameters: CheckAccessParameters,
): Promise<CheckAccessReturnType> {
  await read(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'checkAccess',
    args: [parameters.grantId, parameters.recordId, parameters.grantee, encodePurpose(parameters.purpose)],
    ...(parameters.blockNumber === undefined ? {} : { blockNumber: parameters.blockNumber }),
  })
}
