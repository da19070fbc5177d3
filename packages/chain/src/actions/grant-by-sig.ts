import { consentRegistryAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type {
  GrantIdCancelledErrorType,
  InvalidSignatureErrorType,
  SignatureExpiredErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'
import type { GrantErrorType } from './grant-access.ts'
import type { SignedGrant } from './sign-grant.ts'

export type GrantBySigParameters = MedvaultContractsParameter &
  WriteParameters & {
    /** From {@link signGrant}. */
    signedGrant: SignedGrant
  }

export type GrantBySigReturnType = WriteReturnType & { grantId: Hex }

export type GrantBySigErrorType =
  | SignatureExpiredErrorType
  | GrantIdCancelledErrorType
  | InvalidSignatureErrorType
  | GrantErrorType
  | ActionErrorType

/**
 * Submits a signed grant; the sender (any relayer account) pays the gas. A signature works once: its salt is its
 * nonce, so submitting it again fails with `GrantAlreadyExistsError`, and after `cancelGrantSalt` with
 * `GrantIdCancelledError`.
 */
export async function grantBySig(
  client: WriteClient,
  parameters: GrantBySigParameters,
): Promise<GrantBySigReturnType> {
  const s = parameters.signedGrant
  const { hash, receipt, result } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'grantBySig',
    args: [s.grantor, s.params, s.signer, s.deadline, s.signature],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt, grantId: result }
}
