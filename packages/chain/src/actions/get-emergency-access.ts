import { consentRegistryAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetEmergencyAccessParameters = MedvaultContractsParameter & { grantId: Hex; recordId: Hex }

export type GetEmergencyAccessReturnType = {
  /**
   * When the record's last window ends or ended (Unix seconds); 0 when none ever opened. Compare it with chain
   * time to know whether one runs.
   */
  endsAt: number
  /** Whether the patient (or a revoke delegate) halted break-glass on this record of the grant. */
  halted: boolean
  /** The grant's time box per window, in seconds (0 for a grant that is not break-glass). */
  maxDuration: number
  /** Windows the grant has opened so far, over all its records (at most `limits.maxBreakGlassWindows`). */
  windowsOpened: number
}

export type GetEmergencyAccessErrorType = ActionErrorType

/**
 * The live emergency-access state of a break-glass grant on one record: when its window ends, whether the patient
 * halted it, the grant's time box and how many windows the grant has opened. For the history of every window,
 * use {@link getEmergencyAccesses}.
 */
export async function getEmergencyAccess(
  client: ReadClient,
  parameters: GetEmergencyAccessParameters,
): Promise<GetEmergencyAccessReturnType> {
  const address = parameters.addresses.consentRegistry
  const { grantId, recordId } = parameters
  const [access, maxDuration, windowsOpened] = await Promise.all([
    read(client, {
      address,
      abi: consentRegistryAbi,
      functionName: 'getEmergencyAccess',
      args: [grantId, recordId],
    }),
    read(client, { address, abi: consentRegistryAbi, functionName: 'breakGlassDuration', args: [grantId] }),
    read(client, {
      address,
      abi: consentRegistryAbi,
      functionName: 'breakGlassWindowsOpened',
      args: [grantId],
    }),
  ])
  return { endsAt: access.endsAt, halted: access.halted, maxDuration, windowsOpened }
}
