import { consentRegistryAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { GrantNotFoundErrorType, GrantRevokedErrorType, UnauthorizedErrorType } from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type RevokeAccessParameters = MedvaultContractsParameter & WriteParameters & { grantId: Hex }

export type RevokeAccessReturnType = WriteReturnType

export type RevokeAccessErrorType =
  | GrantNotFoundErrorType
  | GrantRevokedErrorType
  | UnauthorizedErrorType
  | ActionErrorType

/**
 * Revokes a grant; the sender is its grantor or the grantor's revoke delegate. Honest proxies refuse from the
 * next block, but a grantee may have kept a data key it already opened: rotate the record to undo that.
 */
export async function revokeAccess(
  client: WriteClient,
  parameters: RevokeAccessParameters,
): Promise<RevokeAccessReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'revoke',
    args: [parameters.grantId],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
