import { consentRegistryAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type {
  EmergencyAccessHaltedErrorType,
  EmergencyAccessNotActiveErrorType,
  GrantNotFoundErrorType,
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

export type EndEmergencyAccessParameters = MedvaultContractsParameter &
  WriteParameters & { grantId: Hex; recordId: Hex }

export type EndEmergencyAccessReturnType = WriteReturnType

export type EndEmergencyAccessErrorType =
  | GrantNotFoundErrorType
  | NotBreakGlassGrantErrorType
  | EmergencyAccessNotActiveErrorType
  | EmergencyAccessHaltedErrorType
  | UnauthorizedErrorType
  | ActionErrorType

/**
 * Ends emergency access to a record of a break-glass grant.
 *
 * Sent by the patient or their revoke delegate, it ends the running window (if any) and **halts** the record
 * for this grant: the grantee cannot open another window on it until the patient (or a grant delegate) calls
 * {@link reauthorizeBreakGlass}. It also works with no window running, to halt ahead; a record already halted
 * fails with `EmergencyAccessHaltedError`. Sent by the grantee, it only closes its own running window early
 * (`EmergencyAccessNotActiveError` when none runs).
 */
export async function endEmergencyAccess(
  client: WriteClient,
  parameters: EndEmergencyAccessParameters,
): Promise<EndEmergencyAccessReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'endEmergencyAccess',
    args: [parameters.grantId, parameters.recordId],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
