import { consentRegistryAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { EmergencyAccessNotActiveErrorType, UnauthorizedErrorType } from '../errors.ts'
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
  | EmergencyAccessNotActiveErrorType
  | UnauthorizedErrorType
  | ActionErrorType

/** Ends a running emergency access early; the patient, their revoke delegate or the grantee. */
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
