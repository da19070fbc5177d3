import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import { parseAccount } from 'viem/utils'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { AccountRequiredError, type InvalidBreakGlassDurationErrorType } from '../errors.ts'
import { computeGrantId, encodeGrantParams, type GrantTerms } from '../grant.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'
import type { GrantErrorType } from './grant-access.ts'

export type AuthorizeBreakGlassParameters = MedvaultContractsParameter &
  WriteParameters &
  GrantTerms & {
    /** The patient; default the sender (a grant delegate may authorise for the patient). */
    grantor?: Address | undefined
    /** The time box of each emergency access in seconds (at most 7 days). */
    maxDuration: number
  }

export type AuthorizeBreakGlassReturnType = WriteReturnType & { grantId: Hex; salt: Hex }

export type AuthorizeBreakGlassErrorType =
  | InvalidBreakGlassDurationErrorType
  | GrantErrorType
  | ActionErrorType

/**
 * Pre-authorises break-glass access (usually purpose `ETREAT` or `BTG`): a grant that stays dormant until
 * the grantee calls {@link breakGlass}, which is time-boxed and always leaves an event naming who, which
 * record and why.
 */
export async function authorizeBreakGlass(
  client: WriteClient,
  parameters: AuthorizeBreakGlassParameters,
): Promise<AuthorizeBreakGlassReturnType> {
  const sender = parameters.account ?? client.account
  if (sender === undefined) throw new AccountRequiredError('authorizeBreakGlass')
  const grantor = parameters.grantor ?? parseAccount(sender).address
  const params = encodeGrantParams(parameters)
  const { hash, receipt, result } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'authorizeBreakGlass',
    args: [grantor, params, parameters.maxDuration],
    account: sender,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt, grantId: result ?? computeGrantId(grantor, params.salt), salt: params.salt }
}
