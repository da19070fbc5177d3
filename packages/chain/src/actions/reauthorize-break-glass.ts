import { consentRegistryAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type {
  EmergencyAccessNotHaltedErrorType,
  GrantNotFoundErrorType,
  GrantOutlivesDelegationErrorType,
  NotBreakGlassGrantErrorType,
  UnauthorizedErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type ReauthorizeBreakGlassParameters = MedvaultContractsParameter &
  WriteParameters & { grantId: Hex; recordId: Hex }

export type ReauthorizeBreakGlassReturnType = WriteReturnType

export type ReauthorizeBreakGlassErrorType =
  | GrantNotFoundErrorType
  | NotBreakGlassGrantErrorType
  | EmergencyAccessNotHaltedErrorType
  | UnauthorizedErrorType
  | GrantOutlivesDelegationErrorType
  | ActionErrorType

/**
 * Lifts the halt that the patient's (or revoke delegate's) {@link endEmergencyAccess} put on a record of a
 * break-glass grant, so its grantee may break the glass on that record again. Sent by the patient or their grant
 * delegate (whose delegation must last as long as the grant). Windows already opened still count towards the
 * grant's cap.
 */
export async function reauthorizeBreakGlass(
  client: WriteClient,
  parameters: ReauthorizeBreakGlassParameters,
): Promise<ReauthorizeBreakGlassReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'reauthorizeBreakGlass',
    args: [parameters.grantId, parameters.recordId],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
