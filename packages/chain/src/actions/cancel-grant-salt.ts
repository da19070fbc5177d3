import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type {
  GrantAlreadyExistsErrorType,
  GrantIdCancelledErrorType,
  UnauthorizedErrorType,
  ZeroAddressErrorType,
} from '../errors.ts'
import { computeGrantId } from '../grant.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type CancelGrantSaltParameters = MedvaultContractsParameter &
  WriteParameters & {
    /** The patient whose salt it is. */
    grantor: Address
    /** The salt of the unused signed grant (`SignedGrant.params.salt`). */
    salt: Hex
  }

export type CancelGrantSaltReturnType = WriteReturnType & { grantId: Hex }

export type CancelGrantSaltErrorType =
  | GrantAlreadyExistsErrorType
  | GrantIdCancelledErrorType
  | UnauthorizedErrorType
  | ZeroAddressErrorType
  | ActionErrorType

/**
 * Voids every unused signed grant over `salt` (see `signGrant`: the salt is a signed grant's nonce) by reserving
 * its grant id without a grant; a later `grantBySig` with it fails with `GrantIdCancelledError`. The sender is
 * the grantor or its grant delegate. A grant that already exists cannot be cancelled (`GrantAlreadyExistsError`):
 * revoke it instead.
 */
export async function cancelGrantSalt(
  client: WriteClient,
  parameters: CancelGrantSaltParameters,
): Promise<CancelGrantSaltReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'cancelGrantSalt',
    args: [parameters.grantor, parameters.salt],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  // The id is a pure function of its inputs, so the simulation's result and the mined one cannot differ.
  return { hash, receipt, grantId: computeGrantId(parameters.grantor, parameters.salt) }
}
